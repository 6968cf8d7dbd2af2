/**
 * migrate-with-backup's migrate-to and rollback-dir (guide 002: "Keep rollback SQL for each migration",
 * `rollback/<version>_<name>.sql`): the database goes back to a version, newest first, behind a verified backup;
 * a missing rollback refuses before anything, and a failing one restores the backup. Through the bundle, on a real
 * PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { type PgServer, rowCounts, schemaDump, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let n = 0;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-migrate-to-')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

const UP = {
  '20250101_clients.sql': 'CREATE TABLE clients (id serial PRIMARY KEY, name text);\n',
  '20250115_add_jobs_table.sql': 'CREATE TABLE jobs (id serial PRIMARY KEY, client_id int REFERENCES clients(id));\n',
  '20250120_job_status.sql': "ALTER TABLE jobs ADD COLUMN status text NOT NULL DEFAULT 'pending';\n",
};
const ROLLBACK = {
  '20250115_add_jobs_table.sql': 'DROP TABLE IF EXISTS jobs;\n',
  '20250120_job_status.sql': 'ALTER TABLE jobs DROP COLUMN status;\n',
};

/** A database with the three migrations applied and some rows, laid out as guide 002 does. */
async function applied(rollback: Record<string, string> = ROLLBACK) {
  const db = `mt${++n}`;
  await pg.psql(`CREATE DATABASE ${db}`);
  const root = path.join(dir.path, db);
  for (const [sub, files] of [
    ['migrations', UP],
    ['rollback', rollback],
  ] as const) {
    mkdirSync(path.join(root, sub), { recursive: true });
    for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(root, sub, name), sql);
  }
  const up = await run(db, root, { 'allow-destructive': 'true' });
  if (up.code !== 0) throw new Error(up.stdout);
  await pg.psql("INSERT INTO clients (name) VALUES ('a'); INSERT INTO jobs (client_id) VALUES (1), (1);", db);
  // Backup names have a one-second timestamp and are never overwritten: the next run's backup is a second later.
  await new Promise((r) => setTimeout(r, 1100));
  return { db, root };
}

function run(db: string, root: string, extra: Record<string, string>): Promise<ActionRun> {
  return runAction(
    'migrate-with-backup',
    {
      'database-url': pg.url(db),
      'backup-destination': path.join(root, 'backups'),
      'rollback-dir': 'rollback',
      ...extra,
    },
    { cwd: root },
  );
}

const snapshot = async (db: string) => ({ schema: await schemaDump(pg, db), rows: await rowCounts(pg, db) });
const versions = (db: string) =>
  pg.psql("SELECT string_agg(version, ',' ORDER BY version) FROM opskit_schema_migrations", db);

describe('migrate-with-backup migrate-to', () => {
  it('rolls back to a version with the rollback/ SQL, newest first, behind a verified backup', async () => {
    const { db, root } = await applied();
    const r = await run(db, root, { 'migrate-to': '20250101' });
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);
    expect(r.outputs.outcome).toBe('rolled-back');
    expect(JSON.parse(r.outputs['rolled-back']!)).toEqual(['20250120_job_status', '20250115_add_jobs_table']);
    expect(r.outputs['backup-uri']).toMatch(/^file:/);
    expect(readdirSync(path.join(root, 'backups')).some((f) => f.endsWith('.manifest.json'))).toBe(true);
    expect(await pg.psql("SELECT to_regclass('jobs') IS NULL", db)).toBe('t');
    expect(await pg.psql('SELECT count(*) FROM clients', db)).toBe('1');
    expect(await versions(db)).toBe('20250101');
    expect(r.summary).toMatch(/Rolled back \| 20250120_job_status, 20250115_add_jobs_table/);

    const again = await run(db, root, { 'migrate-to': '20250101' });
    expect(again.outputs.outcome).toBe('nothing-to-do');
  }, 120_000);

  it('refuses before anything when an applied migration has no rollback SQL', async () => {
    const { db, root } = await applied({ '20250120_job_status.sql': ROLLBACK['20250120_job_status.sql'] });
    const before = await snapshot(db);
    const backups = readdirSync(path.join(root, 'backups')).length;
    const r = await run(db, root, { 'migrate-to': '20250101' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "::error::migrate-with-backup failed: input 'migrate-to': migrations/20250115_add_jobs_table.sql has no rollback SQL",
    );
    expect(r.outputs.outcome).toBe('refused');
    expect(readdirSync(path.join(root, 'backups')).length).toBe(backups); // no backup taken
    expect(await snapshot(db)).toEqual(before);
  }, 120_000);

  it('restores the backup when a rollback fails half-way', async () => {
    const { db, root } = await applied({
      ...ROLLBACK,
      '20250115_add_jobs_table.sql': 'DROP TABLE jobs_that_does_not_exist;\n',
    });
    const before = await snapshot(db);
    const r = await run(db, root, { 'migrate-to': '20250101' });
    expect(r.code).toBe(1);
    expect(r.outputs.outcome).toBe('failed-restored');
    expect(JSON.parse(r.outputs['rolled-back']!)).toEqual(['20250120_job_status']);
    expect(await snapshot(db)).toEqual(before); // the status column is back, with the rows
  }, 120_000);

  it('refuses migrate-to with another tool, and a version that is not a number, naming the input', async () => {
    const { db, root } = await applied();
    for (const [extra, message] of [
      [{ 'migrate-to': 'last-week' }, "input 'migrate-to': expected the version of a migration"],
      [{ 'migrate-to': '1', tool: 'knex' }, "input 'migrate-to' works with tool: sql"],
      [{ 'rollback-dir': 'nowhere' }, "input 'rollback-dir': "],
    ] as const) {
      const r = await run(db, root, extra);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`::error::migrate-with-backup failed: ${message}`);
    }
  }, 120_000);
});
