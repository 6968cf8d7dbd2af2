/** How traffic shares read: `blue=90,green=10` in an output, `blue 90%, green 10%` in a sentence. */
import { COLOURS, type Shares } from './types.js';

/** `blue=90,green=10` */
export function formatShares(shares: Shares): string {
  return COLOURS.map((c) => `${c}=${shares[c]}`).join(',');
}

/** `green 100%`, `blue 90%, green 10%` */
export function describeShares(shares: Shares): string {
  const on = COLOURS.filter((c) => shares[c] > 0);
  return on.length ? on.map((c) => `${c} ${shares[c]}%`).join(', ') : 'no colour';
}
