/** Creating, dropping and restoring databases: pg_restore (parallel) for archives, psql for plain SQL. */
import type pg from 'pg';
import { spawnTool } from '../util/child.js';
import type { PgClient } from './client.js';
import { type PgConnection, connect, quoteIdent } from './connection.js';
import type { DumpFormat } from './dump.js';

/** A connection to a maintenance database of the same server (for CREATE/DROP DATABASE). */
export async function adminClient(conn: PgConnection, avoid: string | readonly string[] = []): Promise<pg.Client> {
  let lastError: unknown;
  const skip = typeof avoid === 'string' ? [avoid] : avoid;
  for (const db of ['postgres', 'template1', conn.database]) {
    if (skip.includes(db)) continue;
    try {
      return await connect(conn.withDatabase(db));
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

export async function createDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
}

/** Drops a database, ending its other sessions first. */
export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

export interface ArchiveRestoreOptions {
  target: PgConnection;
  client: PgClient;
  path: string;
  format: DumpFormat;
  jobs: number;
  /** Aborting stops psql or pg_restore. */
  signal?: AbortSignal;
}

export async function restoreArchive(o: ArchiveRestoreOptions): Promise<void> {
  const secrets = [o.target.password];
  if (o.format === 'plain') {
    await spawnTool(
      o.client.bin('psql'),
      [
        '--no-password',
        '--no-psqlrc',
        '--quiet',
        `--dbname=${o.target.libpqUrl}`,
        '--set=ON_ERROR_STOP=1',
        '--single-transaction',
        `--file=${o.path}`,
      ],
      { env: { ...o.target.env, ...o.client.env }, secrets, stdout: 'ignore', signal: o.signal },
    ).done;
    return;
  }
  await spawnTool(
    o.client.bin('pg_restore'),
    [
      '--no-password',
      `--dbname=${o.target.libpqUrl}`,
      `--jobs=${o.jobs}`,
      '--exit-on-error',
      '--no-owner',
      '--no-privileges',
      o.path,
    ],
    { env: { ...o.target.env, ...o.client.env }, secrets, stdout: 'ignore', signal: o.signal },
  ).done;
}
