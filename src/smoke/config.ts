/** Turns the smoke-test inputs into typed checks, rejecting anything we could not honour. */
import { jsonpath, JSONPathError } from 'json-p3';
import { ConfigurationError, inputError } from '../errors.js';
import {
  type Inputs,
  parseDuration,
  parseEnum,
  parseStatusPattern,
  parseTextMatcher,
  REGEX_LITERAL,
  parseUrl,
  toStringMap,
} from '../inputs.js';
import { isSecretHeader, redactUrl, secretPartsOfUrl } from '../redact.js';
import type { JsonExpectation, SmokeCheck, SmokeOptions, ValueMatcher } from './types.js';

const CHECK_KEYS = [
  'name',
  'url',
  'method',
  'headers',
  'body',
  'expect-status',
  'expect-json',
  'expect-body',
  'max-latency',
] as const;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function parseSmokeOptions(inputs: Inputs): SmokeOptions {
  const baseUrl = inputs.url('base-url');
  const commonHeaders = inputs.stringMap('headers');
  const urls = inputs.list('url', { commas: false });
  const rawChecks = inputs.yaml('checks');
  if (urls.length === 0 && rawChecks === undefined) {
    throw new ConfigurationError(
      `input '${inputs.name('url')}' or '${inputs.name('checks')}' is required: give one or more URLs (one per line) or a YAML list of checks`,
    );
  }

  const checks: SmokeCheck[] = urls.map((u) => {
    const url = parseUrl(inputs.name('url'), u);
    return {
      name: redactUrl(url.toString()),
      url,
      method: 'GET',
      headers: { ...commonHeaders },
      expectStatus: parseStatusPattern(inputs.name('url'), '2xx'),
      expectJson: [],
    };
  });
  if (rawChecks !== undefined) checks.push(...parseCheckList(inputs.name('checks'), rawChecks, baseUrl, commonHeaders));
  uniqueNames(inputs.name('checks'), checks);

  return {
    checks,
    timeoutMs: inputs.duration('timeout', '5m'),
    requestTimeoutMs: inputs.duration('request-timeout', '10s'),
    retryIntervalMs: inputs.duration('retry-interval', '2s'),
    maxRetryIntervalMs: 30_000,
    consecutiveSuccesses: inputs.integer('consecutive-successes', 1, 1, 100),
    samples: inputs.integer('samples', 0, 0, 10_000),
    latencyP95Ms: inputs.has('latency-p95') ? inputs.duration('latency-p95', '') : undefined,
    concurrency: inputs.integer('concurrency', 10, 1, 256),
    tlsMinDays:
      inputs.has('tls-min-days') && !/^(off|0)$/i.test(inputs.raw('tls-min-days'))
        ? inputs.integer('tls-min-days', 0, 1, 3650)
        : undefined,
    secrets: checkSecrets(checks, commonHeaders),
  };
}

/**
 * A YAML list of checks as the `checks` input takes it, under another input's name (blue-green-switch's
 * smoke-checks): each item parsed, URLs resolved against `baseUrl`, names unique.
 */
export function parseCheckList(
  input: string,
  data: unknown,
  baseUrl: URL | undefined,
  commonHeaders: Record<string, string>,
): SmokeCheck[] {
  if (!Array.isArray(data)) throw inputError(input, 'a YAML list of checks (each item starting with "- name:")');
  const checks = data.map((item, i) => parseCheck(input, item, i + 1, baseUrl, commonHeaders));
  uniqueNames(input, checks);
  return checks;
}

function uniqueNames(input: string, checks: readonly SmokeCheck[]): void {
  const seen = new Set<string>();
  for (const c of checks) {
    if (seen.has(c.name))
      throw new ConfigurationError(`input '${input}': two checks are named '${c.name}'; names must be unique`);
    seen.add(c.name);
  }
}

/** Values never to show: the common headers, each check's secret headers, and secrets inside URLs. */
export function checkSecrets(checks: readonly SmokeCheck[], commonHeaders: Record<string, string>): string[] {
  const secrets = [
    ...Object.values(commonHeaders),
    ...checks.flatMap((c) =>
      Object.entries(c.headers)
        .filter(([k]) => isSecretHeader(k))
        .map(([, v]) => v),
    ),
    ...checks.flatMap((c) => secretPartsOfUrl(c.url.toString())),
  ].filter((v) => v.length > 0);
  return [...new Set(secrets)];
}

function parseCheck(
  input: string,
  item: unknown,
  n: number,
  baseUrl: URL | undefined,
  common: Record<string, string>,
): SmokeCheck {
  const at = `${input}[${n}]`;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw inputError(at, 'a map with at least a url, like "- name: api\\n  url: /health"');
  }
  const spec = item as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!(CHECK_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(`input '${at}': unknown key '${key}'; accepted keys: ${CHECK_KEYS.join(', ')}`);
    }
  }
  const str = (key: string): string | undefined => {
    const v = spec[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'object') throw inputError(`${at}.${key}`, 'a single value, not a list or map');
    return String(v);
  };

  const rawUrl = str('url');
  if (!rawUrl) throw new ConfigurationError(`input '${at}': 'url' is required (absolute, or relative to base-url)`);
  const url = resolveUrl(`${at}.url`, rawUrl, baseUrl);
  const method = parseEnum(`${at}.method`, str('method') ?? 'GET', METHODS);
  const headers = { ...common, ...(spec.headers === undefined ? {} : toStringMap(`${at}.headers`, spec.headers)) };

  let body: string | undefined;
  if (spec.body !== undefined && spec.body !== null) {
    if (typeof spec.body === 'object') {
      body = JSON.stringify(spec.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    } else body = String(spec.body);
  }

  const expectBody = str('expect-body');
  const maxLatency = str('max-latency');
  return {
    name: str('name') ?? `${method} ${url.pathname}`,
    url,
    method,
    headers,
    body,
    expectStatus: parseStatusPattern(`${at}.expect-status`, str('expect-status') ?? '2xx'),
    expectJson: parseJsonExpectations(`${at}.expect-json`, spec['expect-json']),
    expectBody: expectBody === undefined ? undefined : parseTextMatcher(`${at}.expect-body`, expectBody),
    maxLatencyMs: maxLatency === undefined ? undefined : parseDuration(`${at}.max-latency`, maxLatency),
  };
}

function resolveUrl(at: string, raw: string, baseUrl: URL | undefined): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) return parseUrl(at, raw);
  if (!baseUrl) throw inputError(at, 'an absolute http(s) URL, or set base-url for relative ones', raw);
  const base = baseUrl.toString().endsWith('/') ? baseUrl : new URL(`${baseUrl.toString()}/`);
  return new URL(raw.replace(/^\//, ''), base);
}

function parseJsonExpectations(at: string, data: unknown): JsonExpectation[] {
  if (data === undefined || data === null) return [];
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw inputError(at, 'a map of JSONPath to expected value, like "$.status: healthy"');
  }
  return Object.entries(data as Record<string, unknown>).map(([path, expected]) => {
    let query;
    try {
      query = jsonpath.compile(path);
    } catch (err) {
      const why = err instanceof JSONPathError ? err.message : String(err);
      throw new ConfigurationError(`input '${at}': '${path}' is not a valid JSONPath (RFC 9535), ${why}`);
    }
    return { path, query, expected: valueMatcher(`${at}['${path}']`, expected) };
  });
}

function valueMatcher(at: string, expected: unknown): ValueMatcher {
  if (typeof expected === 'string' && REGEX_LITERAL.test(expected)) {
    const m = parseTextMatcher(at, expected);
    return { text: expected, test: (v) => v !== undefined && typeof v !== 'object' && m.test(String(v)) };
  }
  const text = JSON.stringify(expected);
  if (expected !== null && typeof expected === 'object') {
    const canonical = canonicalJson(expected);
    return { text, test: (v) => canonicalJson(v) === canonical };
  }
  if (expected === null) return { text, test: (v) => v === null };
  return {
    text,
    test: (v) => v === expected || (v !== null && typeof v !== 'object' && String(v) === String(expected)),
  };
}

/** JSON with object keys sorted, so `{a, b}` equals `{b, a}`. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
