/** The history table of the built-in sql tool and the advisory lock that serialises runs. */
import type pg from 'pg';
import { throwIfInterrupted } from '../util/signals.js';
import { sleep } from '../util/time.js';

export const HISTORY_TABLE = 'opskit_schema_migrations';
/** pg_advisory_lock key: the first 8 bytes of sha256("opskit_schema_migrations"), fixed. */
export const LOCK_KEY = '7308325101617437536';

export interface AppliedMigration {
  version: string;
  name: string;
  checksum: string;
  appliedAt: Date;
}

export async function ensureHistoryTable(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL,
    applied_by text NOT NULL
  )`);
}

export async function historyExists(client: pg.Client): Promise<boolean> {
  const r = await client.query('SELECT to_regclass($1) AS t', [HISTORY_TABLE]);
  return r.rows[0]?.t !== null;
}

export async function readHistory(client: pg.Client): Promise<AppliedMigration[]> {
  if (!(await historyExists(client))) return [];
  const r = await client.query<{ version: string; name: string; checksum: string; applied_at: Date }>(
    `SELECT version, name, checksum, applied_at FROM ${HISTORY_TABLE}`,
  );
  return r.rows.map((x) => ({ version: x.version, name: x.name, checksum: x.checksum, appliedAt: x.applied_at }));
}

export async function recordApplied(
  client: pg.Client,
  m: { version: string; name: string; checksum: string },
  durationMs: number,
  appliedBy: string,
): Promise<void> {
  await client.query(
    `INSERT INTO ${HISTORY_TABLE} (version, name, checksum, duration_ms, applied_by) VALUES ($1, $2, $3, $4, $5)`,
    [m.version, m.name, m.checksum, Math.round(durationMs), appliedBy],
  );
}

export async function forgetApplied(client: pg.Client, version: string): Promise<void> {
  await client.query(`DELETE FROM ${HISTORY_TABLE} WHERE version = $1`, [version]);
}

/**
 * Takes the migration lock, waiting up to `waitMs` while another run holds it. Returns false when
 * the wait ran out. `onWait` is told once when we start waiting.
 */
export async function acquireLock(
  client: pg.Client,
  waitMs: number,
  onWait: () => void,
  /** A cancelled run stops waiting (throws the signal's Interrupted reason). */
  signal?: AbortSignal,
): Promise<boolean> {
  const until = Date.now() + waitMs;
  let told = false;
  for (;;) {
    throwIfInterrupted(signal);
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [LOCK_KEY]);
    if (r.rows[0]?.ok) return true;
    if (!told) {
      onWait();
      told = true;
    }
    if (Date.now() >= until) return false;
    await sleep(Math.min(500, Math.max(0, until - Date.now())));
  }
}

export async function releaseLock(client: pg.Client): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY]).catch(() => undefined);
}
