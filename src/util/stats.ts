/** Nearest-rank percentile (p in 0..100) of a sample; undefined when the sample is empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export interface LatencySummary {
  count: number;
  min?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 10) / 10);
  return {
    count: values.length,
    min: round(values.length ? Math.min(...values) : undefined),
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : undefined),
  };
}
