/** The smoke-test job summary: headline, one row per check, the reason for every failure. */
import { fitSummary, headline, table } from '../markdown/blocks.js';
import { formatDuration } from '../util/time.js';
import type { SmokeReport } from './types.js';

export function formatSmokeSummary(report: SmokeReport, reportPath?: string): string {
  const n = report.checks.length;
  const sentence = report.passed
    ? `Smoke test passed: ${n} check${n === 1 ? '' : 's'} healthy in ${formatDuration(report.durationMs)}`
    : `Smoke test failed: ${report.failed.length} of ${n} checks failed (${report.failed.join(', ')})`;
  const ms = (v: number | undefined) => (v === undefined ? '' : `${Math.round(v)} ms`);
  const rows = report.checks.map((c) => [
    c.name,
    c.passed ? '✅ passed' : '❌ failed',
    c.attempts,
    ms(c.latencyMs.p50),
    ms(c.latencyMs.p95),
    ms(c.latencyMs.p99),
    c.tls ? `${c.tls.daysLeft} days` : '',
    c.reason ?? '',
  ]);
  const parts = [
    headline(report.passed, sentence),
    table(['Check', 'Result', 'Attempts', 'p50', 'p95', 'p99', 'Certificate', 'Reason'], rows),
  ];
  if (reportPath) parts.push(`JSON report: \`${reportPath}\``);
  return fitSummary(parts.join('\n\n') + '\n');
}
