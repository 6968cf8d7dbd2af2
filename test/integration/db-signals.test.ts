/**
 * SIGTERM at several points of each phase of db-backup, db-restore and migrate-with-backup, sent to
 * the bundle as a cancelled job's runner would, against a real PostgreSQL server. After each: the
 * database matches its fingerprint (per-table rows, schema, database-level settings) from before the
 * run, or, once the run got past its point of no return, the one it was meant to end with; no
 * `opskit_*` or `*__opskit_*` database is left; no partial file, no archive without a manifest, no
 * temp copy; and one log line says what state things were left in.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pgLib from 'pg';
import { LOCK_KEY } from '../../src/migrate/history.js';
import { type ActionRun, runAction } from '../harness/action.js';
import { type Fingerprint, filesUnder, fingerprint, leftoversIn, opskitDatabases } from '../harness/fingerprint.js';
import { type PgServer, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let s3: S3Server;
let dir: Awaited<ReturnType<typeof tempDir>>;
let appPrint: Fingerprint;
let appBackup: string;
let n = 0;

beforeAll(async () => {
  [pg, s3, dir] = await Promise.all([startPostgres(), startS3(), tempDir('opskit-signals-')]);
  await seedSampleSchema(pg, 'app', { scale: 4 });
  appPrint = await fingerprint(pg, 'app');
  const backup = await runAction('db-backup', {
    'database-url': pg.url('app'),
    destination: path.join(dir.path, 'src'),
  });
  if (backup.code !== 0) throw new Error(`db-backup failed: ${backup.stdout}`);
  appBackup = backup.outputs.uri!;
  // The database a clean restore replaces: other data, and database-level settings it must keep.
  await pg.psql('CREATE ROLE reader LOGIN');
  await pg.psql('CREATE DATABASE victim_seed');
  await pg.psql(
    `CREATE TABLE marker (note text); INSERT INTO marker SELECT 'before ' || g FROM generate_series(1, 300000) g;
     CREATE SEQUENCE ticket_no; CREATE MATERIALIZED VIEW marker_count AS SELECT count(*) FROM marker;`,
    'victim_seed',
  );
}, 240_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop(), dir?.cleanup()]);
});

interface Point {
  /** What the run logs (on stdout) just before the phase to interrupt. */
  after: RegExp;
  /** How long after that line the SIGTERM goes. */
  delayMs: number;
  /** A second SIGTERM, this long after the first (a runner sends SIGINT, then SIGTERM). */
  againMs?: number;
}

interface Interrupted extends ActionRun {
  signalled: boolean;
  runnerTemp: string;
  stateLines: string[];
}

/** Runs an action's bundle and sends SIGTERM `delayMs` after its output first matches `after`. */
async function interrupt(name: string, inputs: Record<string, string>, point: Point): Promise<Interrupted> {
  const runnerTemp = path.join(dir.path, `temp-${++n}`);
  mkdirSync(runnerTemp);
  let child: ChildProcess | undefined;
  let seen = '';
  let signalled = false;
  const run = await runAction(name, inputs, {
    runnerTemp,
    onSpawn: (c) => (child = c),
    onStdout: (text) => {
      seen += text;
      if (signalled || !point.after.test(seen)) return;
      signalled = true;
      setTimeout(() => {
        child?.kill('SIGTERM');
        if (point.againMs !== undefined) setTimeout(() => child?.kill('SIGTERM'), point.againMs);
      }, point.delayMs);
    },
  });
  const stateLines = run.stdout
    .split('\n')
    .filter((l) => /interrupted by SIGTERM/.test(l) && l.startsWith('::error::'));
  return { ...run, signalled, runnerTemp, stateLines };
}

/** What every interrupted run must leave: no temp database, no temp copy, one line of state when it stopped early. */
async function expectCleanExit(run: Interrupted, name: string): Promise<void> {
  try {
    await cleanExit(run, name);
  } catch (err) {
    // The run's own words are what explain a failure here.
    (err as Error).message += `\n\n${name} stdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-2000)}`;
    throw err;
  }
}

async function cleanExit(run: Interrupted, name: string): Promise<void> {
  expect(run.signalled).toBe(true);
  expect(await opskitDatabases(pg)).toEqual([]);
  expect(filesUnder(run.runnerTemp)).toEqual([]);
  if (run.code === 0) {
    expect(run.stateLines).toEqual([]);
  } else {
    expect(run.stateLines).toHaveLength(1);
    expect(run.stateLines[0]).toMatch(new RegExp(`^::error::${name} failed: interrupted by SIGTERM: `));
    expect(run.stdout).not.toContain('internal error');
  }
  expect(run.visible).not.toContain(pg.password);
}

function sameData(a: Fingerprint, b: Fingerprint): boolean {
  return JSON.stringify([a.rows, a.schema]) === JSON.stringify([b.rows, b.schema]);
}

describe('db-backup stopped by SIGTERM', () => {
  const points: [string, Point, Record<string, string>][] = [
    ['as pg_dump starts', { after: /dumping .* with pg_dump/, delayMs: 0 }, {}],
    ['half-way through the dump', { after: /dumping .* with pg_dump/, delayMs: 400 }, {}],
    ['as verify: restore creates its scratch database', { after: /verifying by restoring into/, delayMs: 0 }, {}],
    ['half-way through verify: restore', { after: /verifying by restoring into/, delayMs: 700 }, {}],
    ['after the manifest is written', { after: /verified \(restore\)/, delayMs: 0 }, { retention: 'keep-last=1' }],
    ['with a second SIGTERM during the cleanup', { after: /dumping .* with pg_dump/, delayMs: 300, againMs: 20 }, {}],
  ];
  it.each(points)(
    '%s: app untouched, nothing partial left',
    async (_label, point, extra) => {
      const dest = path.join(dir.path, `backup-${++n}`);
      const run = await interrupt(
        'db-backup',
        { 'database-url': pg.url('app'), destination: dest, verify: 'restore', ...extra },
        point,
      );
      await expectCleanExit(run, 'db-backup');
      expect(leftoversIn(dest)).toEqual([]);
      expect(await fingerprint(pg, 'app')).toEqual(appPrint);
      const complete = filesUnder(dest).filter((f) => f.endsWith('.manifest.json'));
      if (/after the manifest/.test(_label)) {
        expect(complete).toHaveLength(1);
        if (run.code !== 0) expect(run.stateLines[0]).toMatch(/the backup .* is complete and verified/);
      } else {
        expect(complete).toEqual([]);
        // A second SIGTERM that lands while the process is already exiting (its cleanup done, its state line
        // printed) ends it by the signal: what matters is that line and that nothing is left.
        if (point.againMs !== undefined) expect([1, 128]).toContain(run.code);
        else expect(run.code).toBe(1);
        expect(run.stateLines[0]).toMatch(/no backup was kept; the partial archive .* was removed/);
      }
    },
    120_000,
  );

  // The S3 store's own multipart upload (s3-multipart.ts): before any part, with parts in flight, once the
  // parts are confirmed (the manifest not yet written), and with a second SIGTERM during the cleanup.
  const s3Points: [string, Point][] = [
    ['as pg_dump starts', { after: /dumping .* with pg_dump/, delayMs: 0 }],
    ['half-way through the upload', { after: /dumping .* with pg_dump/, delayMs: 500 }],
    ['late in the upload', { after: /dumping .* with pg_dump/, delayMs: 1000 }],
    ['as the service has confirmed every part', { after: /not read back: /, delayMs: 0 }],
    ['with a second SIGTERM during the cleanup', { after: /dumping .* with pg_dump/, delayMs: 300, againMs: 20 }],
  ];
  it.each(s3Points)(
    'to S3, %s: no object, no multipart upload left, or the whole backup when it had finished',
    async (_label, point) => {
      const prefix = `signals-${++n}`;
      const run = await interrupt(
        'db-backup',
        {
          'database-url': pg.url('app'),
          destination: `s3://${s3.bucket}/${prefix}`,
          compression: 'none',
          's3-endpoint': s3.endpoint,
          's3-region': s3.region,
          's3-force-path-style': 'true',
          'aws-access-key-id': s3.accessKeyId,
          'aws-secret-access-key': s3.secretAccessKey,
        },
        point,
      );
      await expectCleanExit(run, 'db-backup');
      if (point.againMs !== undefined) expect([1, 128]).toContain(run.code);
      else expect([0, 1]).toContain(run.code);
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      try {
        const objects = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
        const keys = (objects.Contents ?? []).map((o) => o.Key!);
        // Either nothing at all, or the whole backup (the archive and its manifest): when the signal came after
        // the manifest was written, the run says the backup is complete; before, that nothing was kept.
        if (keys.length) {
          expect(keys.map((k) => k.replace(/^.*\.(dump|manifest\.json)$/, '$1')).sort()).toEqual([
            'dump',
            'manifest.json',
          ]);
          if (run.code !== 0) expect(run.stateLines[0]).toMatch(/the backup .* is complete and verified/);
        } else {
          expect(run.code).not.toBe(0);
          expect(run.stateLines[0]).toMatch(/no backup was kept/);
        }
        const uploads = await client
          .send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${prefix}/` }))
          .catch(() => ({ Uploads: [] }));
        expect(uploads.Uploads ?? []).toEqual([]);
      } finally {
        client.destroy();
      }
      expect(await fingerprint(pg, 'app')).toEqual(appPrint);
    },
    120_000,
  );
});

describe('db-restore mode clean stopped by SIGTERM', () => {
  let victimPrint: Fingerprint;

  /** victim as it was: victim_seed's data, with grants, datacl and ALTER DATABASE SET settings. */
  async function resetVictim(): Promise<void> {
    await pg.psql(`DROP DATABASE IF EXISTS victim; CREATE DATABASE victim TEMPLATE victim_seed`);
    await pg.psql(
      `REVOKE CONNECT ON DATABASE victim FROM PUBLIC; GRANT CONNECT ON DATABASE victim TO reader;
       ALTER DATABASE victim SET statement_timeout = '45s'; ALTER DATABASE victim SET search_path = "$user", public;
       ALTER ROLE reader IN DATABASE victim SET work_mem = '16MB'; COMMENT ON DATABASE victim IS 'the live one'`,
    );
    victimPrint = await fingerprint(pg, 'victim');
  }

  const points: [string, Point][] = [
    ['while the archive is read back', { after: /reading back .* against its manifest/, delayMs: 0 }],
    ['as pg_restore starts beside the target', { after: /restoring into victim__opskit_restore/, delayMs: 0 }],
    ['half-way through pg_restore', { after: /restoring into victim__opskit_restore/, delayMs: 700 }],
    ['while the rows are checked', { after: /restored in [\d.]+s/, delayMs: 0 }],
    ['as the pre-restore backup starts', { after: /taking a pre-restore backup/, delayMs: 0 }],
    ['half-way through the pre-restore backup', { after: /dumping \S+\/victim .*with pg_dump/, delayMs: 120 }],
    [
      'with a second SIGTERM during the cleanup',
      { after: /restoring into victim__opskit_restore/, delayMs: 500, againMs: 20 },
    ],
  ];
  it.each(points)(
    '%s: victim untouched, nothing left beside it',
    async (_label, point) => {
      await resetVictim();
      const pre = path.join(dir.path, `pre-${++n}`);
      const run = await interrupt(
        'db-restore',
        {
          'database-url': pg.url('victim'),
          source: appBackup,
          mode: 'clean',
          'allow-other-database': 'true',
          confirm: 'victim',
          'pre-restore-backup': pre,
          jobs: '2',
        },
        point,
      );
      await expectCleanExit(run, 'db-restore');
      // (A second SIGTERM landing as the process exits, its cleanup done, ends it by the signal.)
      if (point.againMs !== undefined) expect([1, 128]).toContain(run.code);
      else expect(run.code).toBe(1);
      expect(run.stateLines[0]).toMatch(
        /before the swap: database victim is untouched; no victim__opskit_restore is left/,
      );
      expect(await fingerprint(pg, 'victim')).toEqual(victimPrint);
      expect(leftoversIn(pre)).toEqual([]);
    },
    120_000,
  );

  it('right after the swap: victim is the restore, with its own settings, and nothing is left beside it', async () => {
    await resetVictim();
    const run = await interrupt(
      'db-restore',
      {
        'database-url': pg.url('victim'),
        source: appBackup,
        mode: 'clean',
        'allow-other-database': 'true',
        confirm: 'victim',
        'pre-restore-backup': path.join(dir.path, `pre-${++n}`),
      },
      { after: /swapped: victim is the restored database/, delayMs: 0 },
    );
    await expectCleanExit(run, 'db-restore');
    const now = await fingerprint(pg, 'victim');
    expect(sameData(now, appPrint)).toBe(true);
    expect(now.settings).toEqual(victimPrint.settings);
    if (run.code !== 0) expect(run.stateLines[0]).toMatch(/after the swap: victim is the restored database/);
  }, 120_000);

  it('into a new database: the half-restored database is dropped', async () => {
    const run = await interrupt(
      'db-restore',
      { 'database-url': pg.url('postgres'), source: appBackup, 'target-database': 'half_restored' },
      { after: /restoring into half_restored/, delayMs: 500 },
    );
    await expectCleanExit(run, 'db-restore');
    expect(run.code).toBe(1);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'half_restored'")).toBe('0');
    expect(run.stateLines[0]).toMatch(/nothing was restored; no database half_restored is left/);
  }, 120_000);
});

describe('migrate-with-backup stopped by SIGTERM', () => {
  let files: string;
  let before: Fingerprint;
  let after: Fingerprint;

  beforeAll(async () => {
    files = path.join(dir.path, 'migrations');
    mkdirSync(files);
    writeFileSync(path.join(files, '001_reviews.sql'), 'CREATE TABLE reviews (id serial PRIMARY KEY, body text);\n');
    writeFileSync(
      path.join(files, '002_seed.sql'),
      "INSERT INTO reviews (body) SELECT 'r' || g FROM generate_series(1, 500) g;\nSELECT pg_sleep(2);\n",
    );
    writeFileSync(path.join(files, '003_index.sql'), 'CREATE INDEX reviews_body ON reviews (body);\n');
    await pg.psql('CREATE DATABASE shop_seed TEMPLATE app');
    await pg.psql('CREATE DATABASE shop_done TEMPLATE app');
    const done = await runAction('migrate-with-backup', {
      'database-url': pg.url('shop_done'),
      'migrations-dir': files,
      'backup-destination': 'none',
      'on-failure': 'keep',
    });
    if (done.code !== 0) throw new Error(done.stdout);
    after = await fingerprint(pg, 'shop_done');
    await pg.psql('DROP DATABASE shop_done');
  }, 120_000);

  async function resetShop(): Promise<void> {
    await pg.psql('DROP DATABASE IF EXISTS shop; CREATE DATABASE shop TEMPLATE shop_seed');
    before = await fingerprint(pg, 'shop');
  }

  const points: [string, Point][] = [
    ['as the backup starts', { after: /backing up .* before migrating/, delayMs: 0 }],
    ['half-way through the backup', { after: /dumping .* with pg_dump/, delayMs: 300 }],
    ['as the second migration starts', { after: /applied \S*001_reviews/, delayMs: 0 }],
    ['half-way through the second migration', { after: /applied \S*001_reviews/, delayMs: 1000 }],
    ['again while the database is put back', { after: /applied \S*001_reviews/, delayMs: 500, againMs: 1500 }],
  ];
  it.each(points)(
    '%s: shop is as before the run',
    async (_label, point) => {
      await resetShop();
      const backups = path.join(dir.path, `mig-${++n}`);
      const run = await interrupt(
        'migrate-with-backup',
        { 'database-url': pg.url('shop'), 'migrations-dir': files, 'backup-destination': backups },
        point,
      );
      await expectCleanExit(run, 'migrate-with-backup');
      if (point.againMs !== undefined) expect([1, 128]).toContain(run.code);
      else expect(run.code).toBe(1);
      expect(sameData(await fingerprint(pg, 'shop'), before)).toBe(true);
      expect((await fingerprint(pg, 'shop')).settings).toEqual(before.settings);
      expect(leftoversIn(backups)).toEqual([]);
      if (/backup/.test(_label)) expect(run.stateLines[0]).toMatch(/no migration was applied/);
      else expect(run.stateLines[0]).toMatch(/after applying 001_reviews; restored from /);
    },
    180_000,
  );

  it('while waiting for the migration lock: stops waiting at once, nothing applied', async () => {
    await resetShop();
    const holder = new pgLib.Client({ connectionString: pg.url('shop') });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [LOCK_KEY]);
      const t0 = performance.now();
      const run = await interrupt(
        'migrate-with-backup',
        { 'database-url': pg.url('shop'), 'migrations-dir': files, 'backup-destination': 'none', 'on-failure': 'keep' },
        { after: /another run holds the migration lock/, delayMs: 200 },
      );
      await expectCleanExit(run, 'migrate-with-backup');
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(run.stateLines[0]).toMatch(/nothing was applied \(the run was waiting for the migration lock\)/);
      expect(sameData(await fingerprint(pg, 'shop'), before)).toBe(true);
    } finally {
      await holder.end();
    }
  }, 120_000);

  it('after the last migration: shop is migrated', async () => {
    await resetShop();
    const backups = path.join(dir.path, `mig-${++n}`);
    const run = await interrupt(
      'migrate-with-backup',
      { 'database-url': pg.url('shop'), 'migrations-dir': files, 'backup-destination': backups },
      { after: /applied \S*003_index/, delayMs: 0 },
    );
    await expectCleanExit(run, 'migrate-with-backup');
    expect(sameData(await fingerprint(pg, 'shop'), after)).toBe(true);
    expect(leftoversIn(backups)).toEqual([]);
  }, 180_000);
});
