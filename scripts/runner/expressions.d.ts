/** Types for scripts/runner/expressions.js: GitHub Actions expressions. */
export type Context = Record<string, unknown>;
export function truthy(value: unknown): boolean;
export function toText(value: unknown): string;
export function evaluate(text: string, context: Context): unknown;
export function interpolate(value: unknown, context: Context): unknown;
export function condition(value: unknown, context: Context): boolean;
