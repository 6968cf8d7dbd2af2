/**
 * Temp databases a killed run left (`opskit_verify_*`, `opskit_drill_*`: a SIGKILL leaves them, no handler can
 * run) are dropped by the next verify: restore or db-restore on the same server, but only those it can prove
 * are abandoned (src/postgres/temp-databases.ts): an opskit name whose timestamp is over an hour old, no session
 * on it, no run holding its lock. Everything else is left alone. On a real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { restore } from '../../src/backup/restore.js';
import { memoryLogger } from '../../src/logger.js';
import { resolvePgClient } from '../../src/postgres/client.js';
import { parsePgUrl } from '../../src/postgres/connection.js';
import { tempDatabaseCreated } from '../../src/postgres/temp-databases.js';
import { createFileStore } from '../../src/storage/file.js';
import { type PgServer, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { pgBackup } from '../harness/backup.js';

let server: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
const sessions: pg.Client[] = [];

beforeAll(async () => {
  [server, dir] = await Promise.all([startPostgres(), tempDir('opskit-temp-dbs-')]);
  await seedSampleSchema(server, 'app', { scale: 1 });
}, 120_000);

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
  await Promise.all([server?.stop(), dir?.cleanup()]);
});

const stamp = (msAgo: number) =>
  new Date(Date.now() - msAgo)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
    .toLowerCase();

async function session(db: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.url(db) });
  await c.connect();
  sessions.push(c);
  return c;
}

async function tempDatabases(): Promise<string[]> {
  const out = await server.psql(
    "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'opskit%'",
  );
  return out ? out.split(',') : [];
}

/** What a killed run leaves (abandoned) and what must survive, made anew for each test. */
async function leftovers(tag: string) {
  const hours = 3 * 60 * 60 * 1000;
  const names = {
    abandonedVerify: `opskit_verify_${stamp(hours)}_${tag}a`,
    abandonedDrill: `opskit_drill_${stamp(hours + 1000 * Number.parseInt(tag, 36))}`,
    recent: `opskit_verify_${stamp(5 * 60 * 1000)}_${tag}r`,
    held: `opskit_verify_${stamp(hours)}_${tag}h`,
    connected: `opskit_verify_${stamp(hours)}_${tag}c`,
    notOurs: `opskit_verify_mine_${tag}`,
  };
  for (const n of Object.values(names)) await server.psql(`CREATE DATABASE ${n}`);
  // A live run elsewhere: it holds the lock on its temp database's name, from a session on another database.
  const holder = await session('postgres');
  await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x6f70736b, names.held]);
  // Someone working in one (a run of an older version, or a person).
  await session(names.connected);
  return { names, holder };
}

function survivors(names: Record<string, string>) {
  return [names.recent!, names.held!, names.connected!, names.notOurs!].sort();
}

describe('temp databases a killed run left', () => {
  it('reads the time from the names opskit makes, and no other name', () => {
    expect(tempDatabaseCreated('opskit_verify_20260101t010203z_ab12')?.toISOString()).toBe('2026-01-01T01:02:03.000Z');
    expect(tempDatabaseCreated('opskit_drill_20260101t010203z')?.toISOString()).toBe('2026-01-01T01:02:03.000Z');
    expect(tempDatabaseCreated('opskit_verify_mine')).toBeUndefined();
    expect(tempDatabaseCreated('opskit_drill_20260101t010203z_extra')).toBeUndefined();
    expect(tempDatabaseCreated('app_opskit_drill_20260101t010203z')).toBeUndefined();
  });

  it('are dropped by the next db-backup with verify: restore, which leaves the live and the foreign ones', async () => {
    const { names, holder } = await leftovers('k1');
    const logger = memoryLogger();
    const store = createFileStore(`${dir.path}/verify`);
    const result = await pgBackup({
      url: server.url('app'),
      store,
      nameTemplate: 'app-verified',
      jobs: 2,
      verify: 'restore',
      tempDir: dir.path,
      logger,
    });
    expect(result.verified).toBe('restore');
    // Its own scratch database is gone too; the two abandoned ones were dropped, the rest kept.
    expect(await tempDatabases()).toEqual(survivors(names));
    const log = logger.lines.join('\n');
    expect(log).toContain(`dropped ${names.abandonedVerify}, a temp database a killed run left`);
    expect(log).toContain(`dropped ${names.abandonedDrill}, a temp database a killed run left`);
    // The live run is killed: its session, and with it its lock, goes (the next test's run then drops it).
    await holder.end();
    sessions.splice(sessions.indexOf(holder), 1);
    for (const n of [names.recent, names.notOurs]) await server.psql(`DROP DATABASE ${n}`);
  }, 120_000);

  it('are dropped by the next db-restore (a drill), which leaves the live and the foreign ones', async () => {
    // What the previous test left: one now abandoned (its holder is gone) and one still connected.
    const before = await tempDatabases();
    const { names } = await leftovers('k2');
    const logger = memoryLogger();
    const store = createFileStore(`${dir.path}/drill`);
    const made = await pgBackup({
      url: server.url('app'),
      store,
      nameTemplate: 'app-drill',
      jobs: 2,
      verify: 'checksum',
      tempDir: dir.path,
      logger,
    });
    const archiveKey = made.manifest.archive;
    const result = await restore({
      backup: {
        store,
        prefix: '',
        manifestKey: archiveKey.replace(/\.dump\.zst$/, '.manifest.json'),
        archiveKey,
        manifest: made.manifest,
      },
      target: parsePgUrl('database-url', server.url('postgres')),
      mode: 'new-database',
      jobs: 2,
      keys: { identities: [] },
      drill: true,
      resolveClient: (major) => resolvePgClient({ kind: 'auto' }, major, { logger }),
      tempDir: dir.path,
      logger,
    });
    expect(result.dropped).toBe(true);
    const log = logger.lines.join('\n');
    expect(log).toContain(`dropped ${names.abandonedVerify}, a temp database a killed run left`);
    expect(log).toContain(`dropped ${names.abandonedDrill}, a temp database a killed run left`);
    // The earlier test's live run's database, its holder gone since, is dropped now; its connected one stays.
    const earlierAbandoned = before.find((n) => n.endsWith('_k1h'))!;
    expect(earlierAbandoned).toBeDefined();
    expect(log).toContain(`dropped ${earlierAbandoned}`);
    expect(await tempDatabases()).toEqual(
      [...before.filter((n) => n !== earlierAbandoned), ...survivors(names)].sort(),
    );
  }, 120_000);
});
