/**
 * knex (`tool: knex`): its plan and a parser of `knex migrate:list`.
 *
 * `npx --no-install knex migrate:latest|migrate:rollback|migrate:list` run in the working directory.
 * With a knexfile there (knexfile.js/.cjs/.mjs/.ts/.cts/.mts) it is passed as `--knexfile` and must take
 * its connection from `process.env.DATABASE_URL` (or leave it to node-postgres, which reads the PG*
 * variables); `--migrations-directory` is added only when `migrations-dir` was given, so the knexfile's
 * own directory wins otherwise. Without a knexfile: `--client pg --connection <URL without password>
 * --migrations-directory <dir>`, and node-postgres takes the password from `PGPASSWORD`. (knex's CLI
 * cannot run without a connection on its command line or in a knexfile: `--client pg` alone gets no pool.)
 * Down is `migrate:rollback`, which rolls back the newest batch: only this run's when this run recorded
 * one. By default knex runs all pending migrations in one transaction, so a failed run records nothing and
 * a rollback would undo the previous run's batch: `downFor` compares `migrate:list` before and after and
 * returns the rollback only when this run completed a migration.
 */
import path from 'node:path';
import { lines, unreadable } from './output.js';
import { type ToolPlan, type ToolPlanOptions, NO_DOWN, NPX, argvUrl, isFile, pathArg } from './plan.js';

const KNEXFILES = ['knexfile.js', 'knexfile.cjs', 'knexfile.mjs', 'knexfile.ts', 'knexfile.cts', 'knexfile.mts'];

export function knexPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  const knexfile = KNEXFILES.find((f) => isFile(path.join(o.cwd, f)));
  const config = knexfile
    ? ['--knexfile', knexfile, ...(given ? ['--migrations-directory', pathArg(dir)] : [])]
    : ['--client', 'pg', '--connection', argvUrl(o.conn), '--migrations-directory', pathArg(dir)];
  const knex = (command: string) => [...NPX, 'knex', command, ...config];
  const down = knex('migrate:rollback');
  return {
    tool: 'knex',
    up: knex('migrate:latest'),
    down,
    status: knex('migrate:list'),
    snapshot: knex('migrate:list'),
    downFor(before, after) {
      const done = new Set(parseKnexList(before).completed);
      return parseKnexList(after).completed.some((m) => !done.has(m)) ? [...down] : undefined;
    },
    pending: (status) => parseKnexList(status).pending,
    env,
    describeDown:
      'knex migrate:rollback rolls back the newest batch, the one this run recorded; run only when this run ' +
      'completed a migration (knex runs a batch in one transaction unless a migration opts out, so a failed run ' +
      'usually records nothing). A migration that failed half-way outside a transaction is not undone: ' +
      NO_DOWN,
  };
}

export interface KnexList {
  completed: string[];
  pending: string[];
}

/** `knex migrate:list` → completed and pending migration files, in knex's order. */
export function parseKnexList(stdout: string): KnexList {
  const out: KnexList = { completed: [], pending: [] };
  const expected: Partial<Record<keyof KnexList, number>> = {};
  let section: keyof KnexList | undefined;
  for (const line of lines(stdout)) {
    let m: RegExpExecArray | null;
    if ((m = /^Found (\d+) (Completed|Pending) Migration file/i.exec(line))) {
      section = m[2]!.toLowerCase() as keyof KnexList;
      expected[section] = Number(m[1]);
    } else if ((m = /^No (Completed|Pending) Migration files Found/i.exec(line))) {
      section = undefined;
      expected[m[1]!.toLowerCase() as keyof KnexList] = 0;
    } else if (section && line) {
      out[section].push(line);
    }
  }
  if (expected.completed === undefined || expected.pending === undefined) throw unreadable('knex migrate:list', stdout);
  if (out.completed.length !== expected.completed || out.pending.length !== expected.pending) {
    throw unreadable('knex migrate:list (the counts do not match the files listed)', stdout);
  }
  return out;
}
