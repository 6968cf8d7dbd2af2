/**
 * migrate-with-backup end to end, through the bundle, on a real PostgreSQL server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { type PgServer, rowCounts, schemaDump, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let n = 0;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-migrate-')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

/** A fresh database with some data, and a migrations directory with the given files. */
async function fixture(files: Record<string, string>): Promise<{ db: string; migrations: string; backups: string }> {
  const db = `m${++n}`;
  await pg.psql(`CREATE DATABASE ${db}`);
  await pg.psql(
    `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
     INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 5000) g;
     CREATE VIEW customer_names AS SELECT name FROM customers;`,
    db,
  );
  const migrations = path.join(dir.path, db, 'migrations');
  mkdirSync(migrations, { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(migrations, name), sql);
  return { db, migrations, backups: path.join(dir.path, db, 'backups') };
}

function migrateRun(
  db: string,
  migrations: string,
  backups: string,
  extra: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction('migrate-with-backup', {
    'database-url': pg.url(db),
    'migrations-dir': migrations,
    'backup-destination': backups,
    ...extra,
  });
}

async function snapshot(db: string) {
  return { schema: await schemaDump(pg, db), rows: await rowCounts(pg, db) };
}

const GOOD = {
  '001_orders.sql':
    'CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric);\n',
  '002_seed_orders.sql': 'INSERT INTO orders (customer_id, total) SELECT id, id * 1.5 FROM customers;\n',
  '003_orders_index.sql':
    '-- opskit:no-transaction\nCREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);\n',
};

describe('migrate-with-backup', () => {
  it('applies three migrations, then has nothing to do, then refuses an edited applied file', async () => {
    const f = await fixture(GOOD);
    const first = await migrateRun(f.db, f.migrations, f.backups);
    expect(first.stdout).not.toContain('::error::');
    expect(first.code).toBe(0);
    expect(first.outputs.outcome).toBe('applied');
    expect(JSON.parse(first.outputs.applied!)).toEqual(['001_orders', '002_seed_orders', '003_orders_index']);
    expect(first.outputs['backup-uri']).toMatch(/pre-migration-m\d+-.*\.dump/);
    expect(await pg.psql('SELECT count(*) FROM orders', f.db)).toBe('5000');
    expect(await pg.psql('SELECT count(*) FROM opskit_schema_migrations', f.db)).toBe('3');

    const second = await migrateRun(f.db, f.migrations, f.backups);
    expect(second.code).toBe(0);
    expect(second.outputs.outcome).toBe('nothing-to-do');
    expect(second.outputs['backup-uri']).toBe('');

    writeFileSync(
      path.join(f.migrations, '002_seed_orders.sql'),
      'INSERT INTO orders (customer_id, total) VALUES (1, 1);\n',
    );
    writeFileSync(path.join(f.migrations, '004_more.sql'), 'CREATE TABLE more (id int);\n');
    const edited = await migrateRun(f.db, f.migrations, f.backups);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain('002_seed_orders.sql was changed after it was applied');
    expect(await pg.psql("SELECT to_regclass('more') IS NULL", f.db)).toBe('t');
  }, 120_000);

  it('leaves the database as it was when a transactional migration fails, keeping and naming the backup', async () => {
    const f = await fixture({
      '001_bad.sql': 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nINSERT INTO nowhere VALUES (1);\n',
    });
    const before = await snapshot(f.db);
    const run = await migrateRun(f.db, f.migrations, f.backups);
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed');
    expect(run.stdout).toMatch(/001_bad\.sql:3: relation "nowhere" does not exist/);
    expect(await snapshot(f.db)).toEqual(before);
    const uri = run.outputs['backup-uri']!;
    expect(existsSync(new URL(uri).pathname)).toBe(true);
    expect(run.summary).toContain(uri);
  }, 120_000);

  it('restores the database when a non-transactional migration fails half-way after another committed', async () => {
    const f = await fixture({
      '001_orders.sql': GOOD['001_orders.sql'],
      '001_orders.down.sql': 'DROP TABLE orders;\n',
      '002_half.sql':
        '-- opskit:no-transaction\nCREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1/0;\n',
    });
    const before = await snapshot(f.db);
    const run = await migrateRun(f.db, f.migrations, f.backups);
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed-restored');
    expect(run.stdout).toMatch(/002_half\.sql:4: division by zero/);
    expect(await snapshot(f.db)).toEqual(before);
    expect(await pg.psql("SELECT to_regclass('opskit_schema_migrations') IS NULL", f.db)).toBe('t');
  }, 120_000);

  it('runs the down file of what this run applied with on-failure: down', async () => {
    const f = await fixture({
      '001_orders.sql': GOOD['001_orders.sql'],
      '001_orders.down.sql': 'DROP TABLE orders;\n',
      '002_half.sql': '-- opskit:no-transaction\nCREATE TABLE half (id int);\nSELECT 1/0;\n',
    });
    const run = await migrateRun(f.db, f.migrations, f.backups, { 'on-failure': 'down' });
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed-rolled-back');
    expect(await pg.psql("SELECT to_regclass('orders') IS NULL", f.db)).toBe('t');
    expect(await pg.psql('SELECT count(*) FROM opskit_schema_migrations', f.db)).toBe('0');
  }, 120_000);

  it('still restores when the migration session is killed from outside', async () => {
    const f = await fixture({
      '001_orders.sql': GOOD['001_orders.sql'],
      '002_slow.sql': '-- opskit:no-transaction\nCREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n',
    });
    const before = await snapshot(f.db);
    const running = migrateRun(f.db, f.migrations, f.backups);
    let killed = '0';
    for (let i = 0; i < 200 && killed === '0'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      killed = await pg.psql(
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${f.db}' AND query LIKE 'SELECT pg_sleep%'`,
      );
    }
    expect(killed).toBe('1');
    const run = await running;
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed-restored');
    expect(await snapshot(f.db)).toEqual(before);
  }, 120_000);

  it('serialises two runs started at once: one applies, the other waits and finds nothing to do', async () => {
    const f = await fixture({
      '001_slow.sql': 'CREATE TABLE once (id int);\nINSERT INTO once VALUES (1);\nSELECT pg_sleep(2);\n',
    });
    const [a, b] = await Promise.all([
      migrateRun(f.db, f.migrations, f.backups),
      migrateRun(f.db, f.migrations, `${f.backups}-2`),
    ]);
    expect([a.outputs.outcome, b.outputs.outcome].sort()).toEqual(['applied', 'nothing-to-do']);
    expect(a.code + b.code).toBe(0);
    expect(a.stdout + b.stdout).toContain('another run holds the migration lock; waiting for it');
    expect(await pg.psql('SELECT count(*) FROM once', f.db)).toBe('1');
    expect(await pg.psql('SELECT count(*) FROM opskit_schema_migrations', f.db)).toBe('1');
  }, 120_000);

  it('lists pending files in a dry run and changes nothing; lint stops DROP COLUMN unless allowed', async () => {
    const f = await fixture({
      '001_orders.sql': GOOD['001_orders.sql'],
      '002_drop.sql': '-- remove the name\nALTER TABLE customers\n  DROP COLUMN name CASCADE;\n',
    });
    const before = await snapshot(f.db);
    const dry = await migrateRun(f.db, f.migrations, f.backups, { 'dry-run': 'true', lint: 'warn' });
    expect(dry.stdout).not.toContain('::error::');
    expect(dry.code).toBe(0);
    expect(dry.outputs.outcome).toBe('dry-run');
    expect(JSON.parse(dry.outputs.pending!)).toEqual(['001_orders', '002_drop']);
    expect(await snapshot(f.db)).toEqual(before);
    expect(existsSync(f.backups)).toBe(false);

    const linted = await migrateRun(f.db, f.migrations, f.backups);
    expect(linted.code).toBe(1);
    expect(linted.stdout).toMatch(/002_drop\.sql:3:.*DROP COLUMN/);
    expect(linted.outputs.outcome).toBe('refused');
    expect(linted.outputs['backup-uri']).toBe('');
    expect(existsSync(f.backups)).toBe(false); // no backup taken
    expect(await snapshot(f.db)).toEqual(before);

    const allowed = await migrateRun(f.db, f.migrations, f.backups, { 'allow-destructive': 'true' });
    expect(allowed.stdout).not.toContain('::error::');
    expect(allowed.code).toBe(0);
    expect(
      await pg.psql(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' AND column_name = 'name'",
        f.db,
      ),
    ).toBe('0');
  }, 120_000);

  it.each([
    ['an unknown tool', { tool: 'flyway' }, "input 'tool'"],
    ['a missing directory', { 'migrations-dir': '/nonexistent/migrations' }, "input 'migrations-dir'"],
    ['backup-destination none with on-failure restore', { 'backup-destination': 'none' }, "input 'backup-destination'"],
    ['a bad lock-timeout', { 'lock-timeout': 'soon' }, "input 'lock-timeout'"],
    ['a bad wait-for-lock', { 'wait-for-lock': '10' }, "input 'wait-for-lock'"],
    ['on-failure down with prisma', { tool: 'prisma', 'on-failure': 'down' }, "input 'on-failure'"],
    ['a bad lint mode', { lint: 'strict' }, "input 'lint'"],
    ['a shell string as command', { tool: 'command', command: 'npm run migrate && rm -rf /' }, "input 'command'"],
  ])(
    'rejects %s without touching the database',
    async (_what, extra, named) => {
      const f = await fixture(GOOD);
      const before = await snapshot(f.db);
      const run = await migrateRun(f.db, f.migrations, f.backups, extra as Record<string, string>);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`::error::migrate-with-backup failed: ${named}`);
      expect(run.outputs.outcome).toBe('refused');
      expect(run.visible).not.toContain(pg.password);
      expect(await snapshot(f.db)).toEqual(before);
      expect(existsSync(f.backups)).toBe(false);
    },
    60_000,
  );
});
