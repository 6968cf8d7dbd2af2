/**
 * Applies the built-in sql tool's migrations: each file in its own transaction (history row
 * included, so a file is applied and recorded or neither), or statement by statement for a
 * `-- opskit:no-transaction` file. Errors name the file and line.
 */
import type pg from 'pg';
import type { Logger } from '../logger.js';
import { formatDuration } from '../util/time.js';
import type { MigrationFile } from './files.js';
import { ensureHistoryTable, forgetApplied, recordApplied } from './history.js';
import { splitStatements } from './sql-split.js';

export class MigrationFailure extends Error {
  constructor(
    message: string,
    readonly migration: MigrationFile,
    /** Whether this file may have left changes behind (a no-transaction file that failed half-way). */
    readonly partial: boolean,
  ) {
    super(message);
  }
}

export interface ApplyOptions {
  client: pg.Client;
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
  appliedBy: string;
  logger: Logger;
}

export async function applyMigration(m: MigrationFile, o: ApplyOptions): Promise<number> {
  const t0 = performance.now();
  const settings = [`SET LOCAL lock_timeout = ${Math.max(0, Math.round(o.lockTimeoutMs))}`];
  settings.push(`SET LOCAL statement_timeout = ${Math.round(o.statementTimeoutMs ?? 0)}`);
  if (m.transactional) {
    // Statement by statement inside the one transaction, so a failure names its exact line.
    try {
      await o.client.query('BEGIN');
      for (const s of settings) await o.client.query(s);
      for (const statement of splitStatements(m.sql, m.display)) {
        try {
          await o.client.query(statement.text);
        } catch (err) {
          throw new MigrationFailure(describe(m, statement.text, statement.line - 1, err), m, false);
        }
      }
      // Created inside the first migration's transaction: a failed first run leaves no trace.
      await ensureHistoryTable(o.client);
      await recordApplied(o.client, m, performance.now() - t0, o.appliedBy);
      await o.client.query('COMMIT');
    } catch (err) {
      await o.client.query('ROLLBACK').catch(() => undefined);
      throw err instanceof MigrationFailure ? err : new MigrationFailure(describe(m, m.sql, 0, err), m, false);
    }
  } else {
    let ran = 0;
    try {
      for (const s of settings) await o.client.query(s.replace('SET LOCAL', 'SET'));
      for (const statement of splitStatements(m.sql, m.display)) {
        try {
          await o.client.query(statement.text);
        } catch (err) {
          throw new MigrationFailure(describe(m, statement.text, statement.line - 1, err), m, ran > 0);
        }
        ran++;
      }
      await ensureHistoryTable(o.client);
      await recordApplied(o.client, m, performance.now() - t0, o.appliedBy);
    } finally {
      await o.client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
    }
  }
  const ms = performance.now() - t0;
  o.logger.info(`applied ${m.display} in ${formatDuration(ms)}`);
  return ms;
}

/** Runs a migration's down file and removes its history row, in one transaction where possible. */
export async function revertMigration(m: MigrationFile, o: ApplyOptions): Promise<void> {
  if (!m.down) throw new Error(`${m.display} has no down file (${m.version}_${m.name}.down.sql)`);
  const noTx = /^--\s*opskit:no-transaction\s*$/.test(m.down.sql.split(/\r?\n/, 1)[0] ?? '');
  if (noTx) {
    for (const s of splitStatements(m.down.sql, m.down.file)) await o.client.query(s.text);
    await forgetApplied(o.client, m.version);
  } else {
    try {
      await o.client.query('BEGIN');
      await o.client.query(m.down.sql);
      await forgetApplied(o.client, m.version);
      await o.client.query('COMMIT');
    } catch (err) {
      await o.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  o.logger.info(`reverted ${m.display} with its down file`);
}

/** `migrations/002_x.sql:14: relation "users" does not exist` from a pg error and its position. */
function describe(m: MigrationFile, text: string, lineOffset: number, err: unknown): string {
  const e = err as { message?: string; position?: string };
  let line = lineOffset + 1;
  if (e.position) {
    const at = Number(e.position) - 1;
    line = lineOffset + text.slice(0, at).split('\n').length;
  }
  return `${m.display}:${line}: ${e.message ?? String(err)}`;
}
