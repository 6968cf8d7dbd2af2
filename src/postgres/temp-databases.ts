/**
 * The scratch databases opskit makes for a moment: `opskit_verify_<timestamp>_<tag>` (db-backup's verify:
 * restore) and `opskit_drill_<timestamp>` (db-restore's drill). A run drops its own when it ends, fails or
 * is stopped by SIGINT/SIGTERM; only a run killed outright (SIGKILL, a lost runner) leaves one behind. The
 * next run that makes or restores one drops those it can prove are abandoned.
 *
 * Proof, all four needed (anything else is left alone):
 * 1. the name is exactly one opskit makes: `opskit_verify_YYYYMMDDtHHMMSSz_<tag>` or `opskit_drill_YYYYMMDDtHHMMSSz`;
 * 2. no session is connected to it;
 * 3. no session holds its lock: the run that makes one takes a session-level advisory lock on its name
 *    before CREATE DATABASE and keeps it until it has dropped it; a killed run's session ends with it, and
 *    so does its lock (pg_locks shows advisory locks of every database, whichever one the run was on);
 * 4. the timestamp in its name is at least an hour old (for runs of versions that took no lock, whose
 *    restore is connected to it anyway but not in the moment between CREATE DATABASE and pg_restore).
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { dropDatabase } from './restore.js';

/** The first key of opskit's two-key advisory locks on temp databases ('opsk'); the second is hashtext(name). */
const LOCK_SPACE = 0x6f70736b;
const TEMP_NAME = /^opskit_(?:verify_(\d{8}t\d{6}z)_[a-z0-9]{1,8}|drill_(\d{8}t\d{6}z))$/;
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/** When the temp database `name` was made, from its name; undefined when the name is not one opskit makes. */
export function tempDatabaseCreated(name: string): Date | undefined {
  const m = TEMP_NAME.exec(name);
  const ts = m?.[1] ?? m?.[2];
  if (!ts) return undefined;
  const iso = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Marks `name` as in use by this session (`admin`) until the session ends (the run's admin connection outlives its
 * temp database): take it before CREATE DATABASE, so that no other run ever sees the database without its lock.
 */
export async function holdTempDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_SPACE, name]);
}

/**
 * Drops the temp databases a killed run left (see the top of this file for the proof); returns their names.
 * A database it may not drop (not its owner) is reported as a warning and left.
 */
export async function dropAbandonedTempDatabases(
  admin: pg.Client,
  logger: Logger,
  now: Date = new Date(),
): Promise<string[]> {
  let r: pg.QueryResult<{ name: string; in_use: boolean; held: boolean }>;
  try {
    r = await admin.query<{ name: string; in_use: boolean; held: boolean }>(
      `SELECT d.datname AS name,
            EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname) AS in_use,
            EXISTS (SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.classid::bigint = $1
                       AND l.objid::bigint = (hashtext(d.datname)::bigint & 4294967295)) AS held
       FROM pg_database d
      WHERE d.datname LIKE 'opskit\\_verify\\_%' OR d.datname LIKE 'opskit\\_drill\\_%'`,
      [LOCK_SPACE],
    );
  } catch (err) {
    // Looking for leftovers is a courtesy: never a reason to fail the run.
    logger.warning(`could not look for temp databases a killed run left: ${errorMessage(err)}`);
    return [];
  }
  const dropped: string[] = [];
  for (const { name, in_use, held } of r.rows) {
    const created = tempDatabaseCreated(name);
    if (!created || in_use || held || now.getTime() - created.getTime() < ABANDONED_AFTER_MS) continue;
    try {
      await dropDatabase(admin, name);
      dropped.push(name);
      logger.warning(
        `dropped ${name}, a temp database a killed run left (made ${created.toISOString()}; no session on it, no run holds it)`,
      );
    } catch (err) {
      logger.warning(
        `could not drop ${name}, a temp database a killed run left: ${errorMessage(err)}; drop it by hand`,
      );
    }
  }
  return dropped;
}
