/**
 * alembic (`tool: alembic`): its plan and parsers of `alembic current` and `alembic history`.
 *
 * `alembic upgrade head`, `alembic current` (snapshot), `alembic history` (status, read with the
 * snapshot), down `alembic downgrade <revision current before the run>` (or `base`). The program is
 * `alembic` when it is on the PATH the tool gets, else `python3 -m alembic` (Debian's python3-alembic has
 * no `alembic` program). The script directory comes from alembic.ini (its `script_location`); `-c
 * <dir>/alembic.ini` is passed when `migrations-dir` was given and holds an alembic.ini, otherwise
 * alembic's own lookup applies (`ALEMBIC_CONFIG`, then ./alembic.ini). env.py must read `DATABASE_URL`.
 */
import path from 'node:path';
import { ExternalError } from '../../errors.js';
import { findOnPath } from '../../util/path.js';
import { lines, unreadable } from './output.js';
import { type ToolPlan, type ToolPlanOptions, NO_DOWN, isFile, pathArg } from './plan.js';

export function alembicPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  const ini = path.join(dir, 'alembic.ini');
  const config = given && isFile(path.resolve(o.cwd, ini)) ? ['-c', pathArg(ini)] : [];
  const program = findOnPath('alembic', env.PATH) ? ['alembic'] : ['python3', '-m', 'alembic'];
  const alembic = (...args: string[]) => [...program, ...config, ...args];
  // Keep __pycache__ out of the user's checkout.
  if (env.PYTHONDONTWRITEBYTECODE === undefined) env.PYTHONDONTWRITEBYTECODE = '1';
  return {
    tool: 'alembic',
    up: alembic('upgrade', 'head'),
    status: alembic('history'),
    snapshot: alembic('current'),
    downFor(before, after) {
      const was = parseAlembicCurrentAll(before);
      const now = parseAlembicCurrentAll(after);
      if (was.length === now.length && was.every((r) => now.includes(r))) return undefined;
      if (was.length > 1) {
        throw new ExternalError(
          `alembic was at several revisions before the run (${was.join(', ')}): one downgrade cannot return there; ${NO_DOWN}`,
        );
      }
      return alembic('downgrade', was[0] ?? 'base');
    },
    pending: (status, snapshot) => alembicPending(parseAlembicHistory(status), parseAlembicCurrentAll(snapshot ?? '')),
    env,
    describeDown:
      'alembic downgrade to the revision the database was at before the run (base when it had none); a revision ' +
      'that failed half-way outside its transaction is not undone: ' +
      NO_DOWN,
  };
}

const LOG_LINE = /^(INFO|WARNING|WARN|DEBUG|ERROR|CRITICAL)\b/;

/** `alembic current` → every revision the database is at (none for an empty database; several with branches). */
export function parseAlembicCurrentAll(stdout: string): string[] {
  const revs: string[] = [];
  for (const line of lines(stdout)) {
    if (!line || LOG_LINE.test(line)) continue;
    const m = /^([A-Za-z0-9_][\w.-]*)((?: \([^)]*\))*)$/.exec(line);
    if (m && !revs.includes(m[1]!)) revs.push(m[1]!);
  }
  return revs;
}

/** `alembic current` → the revision the database is at, undefined when it has none. Several (branches) is an error. */
export function parseAlembicCurrent(stdout: string): string | undefined {
  const revs = parseAlembicCurrentAll(stdout);
  if (revs.length > 1) throw new ExternalError(`alembic reports several current revisions: ${revs.join(', ')}`);
  return revs[0];
}

export interface AlembicRevision {
  revision: string;
  /** Empty for a first revision; two or more for a merge. */
  downRevisions: string[];
  head: boolean;
  message: string;
}

/** `alembic history` (not verbose) → revisions, newest first as alembic prints them. */
export function parseAlembicHistory(stdout: string): AlembicRevision[] {
  const out: AlembicRevision[] = [];
  for (const line of lines(stdout)) {
    if (LOG_LINE.test(line)) continue;
    const arrow = line.indexOf(' -> ');
    if (arrow < 0) continue;
    // `<down>[ (<depends on>)] -> <rev>[ (<labels>)][ (head)][ (branchpoint)]…[, <message>]`
    const down = line.slice(0, arrow).replace(/ \([^)]*\)$/, '');
    const m = /^([^\s,]+)((?: \([^)]*\))*)(?:, (.*))?$/.exec(line.slice(arrow + 4));
    if (!m) continue;
    out.push({
      revision: m[1]!,
      downRevisions: down === '<base>' ? [] : down.split(', ').map((r) => r.trim()),
      head: /\((?:effective )?head\)/.test(m[2]!),
      message: m[3] ?? '',
    });
  }
  if (out.length === 0 && lines(stdout).some((l) => l && !LOG_LINE.test(l))) {
    throw unreadable('alembic history', stdout);
  }
  return out;
}

/** The revisions not yet applied, oldest first: every revision that is not the current one or its ancestor. */
export function alembicPending(history: readonly AlembicRevision[], current: readonly string[]): string[] {
  const byRev = new Map(history.map((r) => [r.revision, r]));
  const applied = new Set<string>();
  const stack = [...current];
  while (stack.length) {
    const rev = stack.pop()!;
    if (applied.has(rev)) continue;
    const entry = byRev.get(rev);
    if (!entry)
      throw new ExternalError(`the database is at alembic revision ${rev}, which is not in the migration scripts`);
    applied.add(rev);
    stack.push(...entry.downRevisions);
  }
  return history
    .filter((r) => !applied.has(r.revision))
    .map((r) => r.revision)
    .reverse();
}
