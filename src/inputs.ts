/**
 * The one place action inputs are parsed. Each parser takes the input's name (for the message)
 * and its raw text, and returns a typed value or throws a ConfigurationError that names the input,
 * says what is accepted and shows what came.
 */
import { parse as parseYamlText } from 'yaml';
import { ConfigurationError, inputError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** `30s`, `10m`, `1h`, `1h30m`, `250ms`, `2d` → milliseconds. */
export function parseDuration(input: string, raw: string): number {
  const text = raw.trim();
  const expected = 'a duration like 30s, 10m, 1h or 1h30m (units ms, s, m, h, d)';
  if (!text) throw inputError(input, expected, raw);
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = DURATION_PART.exec(text)) !== null) {
    total += Number(match[1]) * (UNITS[match[2]!] ?? 0);
    consumed = DURATION_PART.lastIndex;
  }
  if (consumed !== text.length) throw inputError(input, expected, raw);
  return Math.round(total);
}

/** A duration or `off`/`0`/empty, meaning "no limit" (undefined). */
export function parseOptionalDuration(input: string, raw: string): number | undefined {
  const text = raw.trim().toLowerCase();
  if (text === '' || text === 'off' || text === 'none' || text === '0') return undefined;
  return parseDuration(input, raw);
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

export function parseBoolean(input: string, raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw inputError(input, 'true or false', raw);
}

export function parseInteger(input: string, raw: string, min: number, max: number): number {
  const text = raw.trim();
  if (!/^-?\d+$/.test(text)) throw inputError(input, `a whole number from ${min} to ${max}`, raw);
  const n = Number(text);
  if (n < min || n > max) throw inputError(input, `a whole number from ${min} to ${max}`, raw);
  return n;
}

export function parseEnum<T extends string>(input: string, raw: string, allowed: readonly T[]): T {
  const text = raw.trim().toLowerCase();
  const hit = allowed.find((a) => a.toLowerCase() === text);
  if (hit === undefined) throw inputError(input, `one of ${allowed.join(', ')}`, raw);
  return hit;
}

export function parseUrl(input: string, raw: string, protocols: readonly string[] = ['http:', 'https:']): URL {
  const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw inputError(input, expected, redactForMessage(raw));
  }
  if (!protocols.includes(url.protocol)) throw inputError(input, expected, redactForMessage(raw));
  return url;
}

/** One item per line or comma separated; blank items and `#` comment lines dropped. */
export function parseList(raw: string, { commas = true }: { commas?: boolean } = {}): string[] {
  return raw
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => (commas ? line.split(',') : [line]))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A YAML (or JSON, which is YAML) block → plain data. */
export function parseYamlBlock(input: string, raw: string): unknown {
  try {
    return parseYamlText(raw, { prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigurationError(`input '${input}': expected a YAML or JSON block, but it does not parse: ${why}`);
  }
}

/** `key: value` lines or a YAML/JSON map of strings. */
export function parseStringMap(input: string, raw: string): Record<string, string> {
  if (!raw.trim()) return {};
  const data = parseYamlBlock(input, raw);
  return toStringMap(input, data);
}

export function toStringMap(input: string, data: unknown): Record<string, string> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw inputError(input, 'a map of names to values (name: value, one per line)');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (v === null || typeof v === 'object') throw inputError(input, `a plain value for '${k}'`);
    out[k] = String(v);
  }
  return out;
}

/** Status patterns: `200`, `200,204`, `2xx`, `200-299`. Returns a predicate and a description. */
export interface StatusMatcher {
  text: string;
  test(status: number): boolean;
}

export function parseStatusPattern(input: string, raw: string): StatusMatcher {
  const parts = parseList(raw);
  const expected = 'HTTP status codes or classes like 200, 200,204, 2xx or 200-299';
  if (parts.length === 0) throw inputError(input, expected, raw);
  const tests = parts.map((p): ((s: number) => boolean) => {
    if (/^[1-5]\d\d$/.test(p)) return (s) => s === Number(p);
    if (/^[1-5]xx$/i.test(p)) return (s) => Math.floor(s / 100) === Number(p[0]);
    const range = /^([1-5]\d\d)-([1-5]\d\d)$/.exec(p);
    if (range && Number(range[1]) <= Number(range[2])) return (s) => s >= Number(range[1]) && s <= Number(range[2]);
    throw inputError(input, expected, raw);
  });
  return { text: parts.join(','), test: (s) => tests.some((t) => t(s)) };
}

/** `/body/flags` with JavaScript's flags: anything else is a literal, even when it starts with a slash. */
const REGEX_PARTS = /^\/(.*)\/([dgimsuy]*)$/s;
export const REGEX_LITERAL = REGEX_PARTS;

/** A substring, or `/regex/flags`. */
export interface TextMatcher {
  text: string;
  test(value: string): boolean;
}

export function parseTextMatcher(input: string, raw: string): TextMatcher {
  const re = REGEX_PARTS.exec(raw);
  if (re) {
    let regex: RegExp;
    try {
      regex = new RegExp(re[1]!, re[2]!.replace('g', ''));
    } catch (err) {
      throw inputError(input, `a valid /regular expression/ (${err instanceof Error ? err.message : err})`, raw);
    }
    return { text: raw, test: (v) => regex.test(v) };
  }
  return { text: raw, test: (v) => v.includes(raw) };
}

function redactForMessage(raw: string): string {
  return raw.replace(/\/\/([^/@\s]*):([^/@\s]*)@/, '//$1:***@');
}

/** Reads raw inputs by name (from @actions/core in an action, from an object in tests and the demo). */
export type InputReader = (name: string) => string;

/** Convenience over an InputReader: every parser with defaults, all errors naming the input. */
export class Inputs {
  /**
   * @param defaults each input's action.yml default, as the runner passes it (null: an expression): an input
   *   whose value is its default was not given, so it never counts for `has()`.
   * @param prefix what every name read through this view is prefixed with (withPrefix).
   */
  constructor(
    private readonly read: InputReader,
    private readonly defaults: Readonly<Record<string, string | null>> = {},
    private readonly prefix = '',
  ) {}

  /**
   * The inputs whose names start with `prefix`, under their names without it: `withPrefix('smoke-').raw('timeout')`
   * reads `smoke-timeout`, and every error names `smoke-timeout`. A parser written for one action's inputs reads
   * another's prefixed copies this way.
   */
  withPrefix(prefix: string): Inputs {
    return new Inputs(this.read, this.defaults, this.prefix + prefix);
  }

  /** The input's full name, as the workflow writes it (with this view's prefix): for messages. */
  name(name: string): string {
    return this.prefix + name;
  }

  raw(name: string): string {
    return this.read(this.name(name)).trim();
  }

  /** Whether the step gave this input: not empty, and not left at its default (a runner always passes those). */
  has(name: string): boolean {
    const value = this.raw(name);
    if (value === '') return false;
    const fallback = this.defaults[this.name(name)];
    return fallback === undefined || fallback === null || value !== fallback.trim();
  }

  required(name: string): string {
    const v = this.raw(name);
    if (!v) throw new ConfigurationError(`input '${this.name(name)}' is required but was not supplied`);
    return v;
  }

  string(name: string, fallback = ''): string {
    return this.raw(name) || fallback;
  }

  duration(name: string, fallback: string): number {
    return parseDuration(this.name(name), this.raw(name) || fallback);
  }

  optionalDuration(name: string): number | undefined {
    return parseOptionalDuration(this.name(name), this.raw(name));
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    return v ? parseBoolean(this.name(name), v) : fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    return v ? parseInteger(this.name(name), v, min, max) : fallback;
  }

  enum<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    return v ? parseEnum(this.name(name), v, allowed) : fallback;
  }

  list(name: string, options?: { commas?: boolean }): string[] {
    return parseList(this.read(this.name(name)), options);
  }

  url(name: string, protocols?: readonly string[]): URL | undefined {
    const v = this.raw(name);
    return v ? parseUrl(this.name(name), v, protocols) : undefined;
  }

  yaml(name: string): unknown {
    const v = this.read(this.name(name));
    return v.trim() ? parseYamlBlock(this.name(name), v) : undefined;
  }

  stringMap(name: string): Record<string, string> {
    return parseStringMap(this.name(name), this.read(this.name(name)));
  }
}
