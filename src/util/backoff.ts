/**
 * Exponential backoff with jitter: the n-th wait (n from 1) is initial × 2^(n-1), capped at max,
 * then spread ±20% so that many checks started together do not retry in lockstep.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  jitter?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.2, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  const spread = base * jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
}
