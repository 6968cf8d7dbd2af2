/**
 * JSON reports written by the other opskit actions, summarised as tables in the incident. Any JSON
 * object with a `tool` field is accepted: smoke-test gets its own table, other tools a generic
 * key/value table. A report that is missing or unreadable is noted, not fatal: the incident record
 * matters more than the artefacts of the failure it records.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { escapeCell, table } from '../markdown/blocks.js';
import { capLine, neutraliseLine } from './text.js';

export interface LoadedReport {
  /** As given in the input. */
  path: string;
  tool?: string;
  data?: Record<string, unknown>;
  /** Why it could not be used. */
  problem?: string;
}

const MAX_REPORT_BYTES = 10 * 1024 * 1024;

export async function loadReports(paths: readonly string[], baseDir: string): Promise<LoadedReport[]> {
  return Promise.all(paths.map((p) => loadReport(p, baseDir)));
}

async function loadReport(given: string, baseDir: string): Promise<LoadedReport> {
  const file = path.resolve(baseDir, given);
  try {
    const info = await stat(file);
    if (!info.isFile()) return { path: given, problem: 'not a file' };
    if (info.size > MAX_REPORT_BYTES) return { path: given, problem: `too large (${info.size} bytes)` };
    const data: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return { path: given, problem: 'not a JSON object' };
    }
    const tool = (data as Record<string, unknown>).tool;
    if (typeof tool !== 'string' || !tool) return { path: given, problem: "not an opskit report (no 'tool' field)" };
    return { path: given, tool, data: data as Record<string, unknown> };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: given, problem: 'not found' };
    if (err instanceof SyntaxError) return { path: given, problem: `not valid JSON (${err.message.slice(0, 100)})` };
    return { path: given, problem: code ?? String(err) };
  }
}

const MAX_ROWS = 50;
const cell = (v: unknown, max = 300) => capLine(neutraliseLine(v === undefined || v === null ? '' : String(v)), max);

/** Markdown for every report: a heading and a table each, or a line saying why one is missing. */
export function formatReports(reports: readonly LoadedReport[]): string {
  return reports.map(formatReport).join('\n\n');
}

export function formatReport(r: LoadedReport): string {
  if (!r.data || !r.tool) return `- ⚠️ Report \`${cell(r.path, 200).replace(/`/g, "'")}\`: ${cell(r.problem)}`;
  if (r.tool === 'smoke-test') return formatSmoke(r.data, r.path);
  return formatGeneric(r.tool, r.data, r.path);
}

interface SmokeCheckLike {
  name?: unknown;
  passed?: unknown;
  attempts?: unknown;
  reason?: unknown;
  latencyMs?: { p50?: unknown; p95?: unknown; p99?: unknown };
}

function formatSmoke(data: Record<string, unknown>, file: string): string {
  const checks = (Array.isArray(data.checks) ? data.checks : []) as SmokeCheckLike[];
  const failed = checks.filter((c) => c.passed !== true).length;
  const verdict =
    data.passed === true
      ? `✅ ${checks.length} check${checks.length === 1 ? '' : 's'} passed`
      : `❌ ${failed} of ${checks.length} checks failed`;
  const ms = (v: unknown) => (typeof v === 'number' ? `${Math.round(v)} ms` : '');
  const rows = checks
    .slice(0, MAX_ROWS)
    .map((c) => [
      cell(c.name, 120),
      c.passed === true ? '✅' : '❌',
      cell(c.attempts),
      ms(c.latencyMs?.p50),
      ms(c.latencyMs?.p95),
      ms(c.latencyMs?.p99),
      cell(c.reason),
    ]);
  const more =
    checks.length > MAX_ROWS ? `\n\n_…and ${checks.length - MAX_ROWS} more checks in \`${cell(file)}\`._` : '';
  return `#### smoke-test: ${verdict}\n\n${table(['Check', 'Result', 'Attempts', 'p50', 'p95', 'p99', 'Reason'], rows)}${more}`;
}

function formatGeneric(tool: string, data: Record<string, unknown>, file: string): string {
  const entries = Object.entries(data).filter(([k]) => k !== 'tool');
  const rows = entries.slice(0, MAX_ROWS).map(([k, v]) => [`\`${cell(k, 80).replace(/`/g, "'")}\``, describe(v)]);
  const more =
    entries.length > MAX_ROWS ? `\n\n_…and ${entries.length - MAX_ROWS} more fields in \`${cell(file)}\`._` : '';
  const body = rows.length ? table(['Field', 'Value'], rows) : '_No fields._';
  return `#### ${escapeCell(cell(tool, 80))}\n\n${body}${more}`;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return cell(v);
  const json = JSON.stringify(v);
  const prefix = Array.isArray(v) ? `${v.length} item${v.length === 1 ? '' : 's'}: ` : '';
  return `${prefix}\`${capLine(neutraliseLine(json), 200).replace(/`/g, "'")}\``;
}
