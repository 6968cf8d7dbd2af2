/**
 * migrate-with-backup with real knex (npm) and alembic (Debian) projects, through the bundle:
 * good migrations apply; a migration failing half-way is restored from the backup.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { runAction } from '../harness/action.js';
import { type PgServer, rowCounts, schemaDump, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let n = 0;
const FIXTURES = path.resolve('test/fixtures/migrations');
// Debian's python3 (with alembic and psycopg2) ahead of any pyenv shim.
const PATH = `/usr/bin:${process.env.PATH}`;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-migrate-tools-')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

async function database(): Promise<string> {
  const db = `t${++n}`;
  await pg.psql(`CREATE DATABASE ${db}`);
  await pg.psql('CREATE TABLE existing (id int); INSERT INTO existing SELECT generate_series(1, 1000);', db);
  return db;
}

const state = async (db: string) => ({ schema: await schemaDump(pg, db), rows: await rowCounts(pg, db) });

describe.each([
  ['knex', 'migrations', 'migrations-failing', 'knex_migrations'],
  ['alembic', 'migrations', 'failing', 'alembic_version'],
])('%s', (tool, goodDir, failingDir, historyTable) => {
  const cwd = path.join(FIXTURES, tool);
  const run = (db: string, migrationsDir: string) =>
    runAction(
      'migrate-with-backup',
      {
        'database-url': pg.url(db),
        tool,
        'migrations-dir': migrationsDir,
        'backup-destination': path.join(dir.path, `${db}-backups`),
      },
      { env: { GITHUB_WORKSPACE: cwd, PATH } },
    );

  it('applies its migrations for real', async () => {
    const db = await database();
    const result = await run(db, goodDir);
    expect(result.stdout).not.toContain('::error::');
    expect(result.code).toBe(0);
    expect(result.outputs.outcome).toBe('applied');
    expect(await pg.psql(`SELECT to_regclass('${historyTable}') IS NOT NULL`, db)).toBe('t');
    expect(await pg.psql("SELECT to_regclass('customers') IS NOT NULL", db)).toBe('t');
    expect(result.visible).not.toContain(pg.password);
  }, 120_000);

  it('restores the database when a migration fails half-way', async () => {
    const db = await database();
    const before = await state(db);
    const result = await run(db, failingDir);
    expect(result.code).toBe(1);
    expect(result.outputs.outcome).toBe('failed-restored');
    expect(await state(db)).toEqual(before);
    expect(result.visible).not.toContain(pg.password);
  }, 120_000);
});
