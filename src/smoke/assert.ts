/** Judges one response against a check's expectations; returns what failed, in words. */
import type { HttpResponse } from '../http/request.js';
import { REGEX_LITERAL } from '../inputs.js';
import { formatDuration } from '../util/time.js';
import type { SmokeCheck } from './types.js';

export function evaluateResponse(check: SmokeCheck, res: HttpResponse): string[] {
  const failures: string[] = [];
  if (!check.expectStatus.test(res.status)) failures.push(`status ${res.status}, expected ${check.expectStatus.text}`);
  if (check.maxLatencyMs !== undefined && res.latencyMs > check.maxLatencyMs) {
    failures.push(`took ${formatDuration(res.latencyMs)}, expected at most ${formatDuration(check.maxLatencyMs)}`);
  }
  if (check.expectJson.length > 0) failures.push(...evaluateJson(check, res.body));
  if (check.expectBody && !check.expectBody.test(res.body)) {
    const how = REGEX_LITERAL.test(check.expectBody.text) ? 'does not match' : 'does not contain';
    failures.push(`body ${how} ${quote(check.expectBody.text)}`);
  }
  return failures;
}

function evaluateJson(check: SmokeCheck, body: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return [`body is not JSON (starts with ${quote(body.slice(0, 40))})`];
  }
  const failures: string[] = [];
  for (const e of check.expectJson) {
    const nodes = e.query.query(doc as never).nodes;
    if (nodes.length === 0) {
      failures.push(`${e.path} has no value, expected ${e.expected.text}`);
      continue;
    }
    for (const node of nodes) {
      if (!e.expected.test(node.value)) {
        failures.push(`${dotPath(node.path)} is ${show(node.value)}, expected ${e.expected.text}`);
      }
    }
  }
  return failures;
}

/** `$['checks']['database']` → `$.checks.database` (brackets kept where a name needs them). */
export function dotPath(normalized: string): string {
  return normalized.replace(/\['([A-Za-z_][A-Za-z0-9_]*)'\]/g, '.$1');
}

function show(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function quote(s: string): string {
  return `'${s.replace(/\s+/g, ' ')}'`;
}
