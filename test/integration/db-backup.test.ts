/**
 * db-backup and db-restore end to end: the bundles, as the runner runs them, against a real
 * PostgreSQL 15 server (pgbench data, a view, a materialized view, a sequence, an extension,
 * indexes) and a real S3-protocol server (s3rver).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { type PgServer, rowCounts, schemaDump, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let s3: S3Server;
let dir: Awaited<ReturnType<typeof tempDir>>;
let s3Inputs: Record<string, string>;

beforeAll(async () => {
  [pg, s3, dir] = await Promise.all([startPostgres(), startS3(), tempDir('opskit-backups-')]);
  await seedSampleSchema(pg, 'app', { scale: 3 });
  s3Inputs = {
    's3-endpoint': s3.endpoint,
    's3-region': s3.region,
    's3-force-path-style': 'true',
    'aws-access-key-id': s3.accessKeyId,
    'aws-secret-access-key': s3.secretAccessKey,
  };
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop(), dir?.cleanup()]);
});

function expectNoSecrets(run: ActionRun, extra: string[] = []) {
  for (const s of [pg.password, ...extra]) expect(run.visible).not.toContain(s);
}

async function restoreAndCompare(source: string, target: string, extra: Record<string, string> = {}) {
  const run = await runAction('db-restore', {
    'database-url': pg.url('postgres'),
    source,
    'target-database': target,
    ...extra,
  });
  expect(run.stdout).not.toContain('::error::');
  expect(run.code).toBe(0);
  expect(run.outputs['matches-manifest']).toBe('true');
  expect(await rowCounts(pg, target)).toEqual(await rowCounts(pg, 'app'));
  expect(await schemaDump(pg, target)).toEqual(await schemaDump(pg, 'app'));
  return run;
}

describe('db-backup → db-restore round trips', () => {
  it('backs up to s3rver and restores into a new database with identical row counts and schema', async () => {
    const backup = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: `s3://${s3.bucket}/nightly`,
      ...s3Inputs,
    });
    expect(backup.stdout).not.toContain('::error::');
    expect(backup.code).toBe(0);
    expect(backup.outputs.uri).toMatch(new RegExp(`^s3://${s3.bucket}/nightly/app-\\d{8}T\\d{6}Z\\.dump\\.zst$`));
    expect(backup.outputs.manifest).toMatch(/\.manifest\.json$/);
    expect(Number(backup.outputs['size-bytes'])).toBeGreaterThan(1000);
    expect(backup.outputs.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.summary).toContain('verified (full)');
    expectNoSecrets(backup);

    const restore = await restoreAndCompare(`s3://${s3.bucket}/nightly/latest`, 'restored_from_s3', {
      ...s3Inputs,
      jobs: '2',
    });
    expect(Number(restore.outputs.rows)).toBeGreaterThan(300_000);
    expectNoSecrets(restore);
  }, 180_000);

  it.each([
    ['custom', 'gzip:1'],
    ['directory', 'zstd'],
    ['plain', 'none'],
  ])(
    'backs up to a file as %s with %s and restores it',
    async (format, compression) => {
      const dest = path.join(dir.path, `files-${format}`);
      const backup = await runAction('db-backup', {
        'database-url': pg.url('app'),
        destination: dest,
        format,
        compression,
        jobs: format === 'directory' ? '2' : '1',
        verify: 'restore',
      });
      expect(backup.stdout).not.toContain('::error::');
      expect(backup.code).toBe(0);
      const manifest = JSON.parse(
        readFileSync(
          path.join(
            dest,
            readdirSync(dest).find((f) => f.endsWith('.manifest.json'))!,
          ),
          'utf8',
        ),
      );
      expect(manifest.format).toBe(format);
      expect(manifest.tables['public.pgbench_accounts']).toBe(300_000);
      await restoreAndCompare(backup.outputs.uri!, `restored_${format}`);
    },
    180_000,
  );
});

describe('damaged backups are refused', () => {
  it('catches a truncated and a bit-flipped archive, and db-restore touches nothing', async () => {
    const dest = path.join(dir.path, 'damaged');
    const backup = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      compression: 'none',
    });
    expect(backup.stdout).not.toContain('::error::');
    expect(backup.code).toBe(0);
    const archive = new URL(backup.outputs.uri!).pathname;
    const original = readFileSync(archive);

    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    writeFileSync(archive, flipped);
    const flippedRun = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: backup.outputs.uri!,
      'target-database': 'never_flipped',
    });
    expect(flippedRun.code).toBe(1);
    expect(flippedRun.stdout).toMatch(/does not match its manifest.*nothing was restored/);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_flipped'")).toBe('0');

    writeFileSync(archive, original.subarray(0, Math.floor(original.length * 0.7)));
    const truncatedRun = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: backup.outputs.uri!,
      'target-database': 'never_truncated',
    });
    expect(truncatedRun.code).toBe(1);
    expect(truncatedRun.stdout).toMatch(/nothing was restored/);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_truncated'")).toBe('0');
  }, 120_000);
});

describe('encryption', () => {
  it('round-trips with an age recipient, refuses the wrong identity, and stores no readable archive', async () => {
    const { generateIdentity, identityToRecipient } = await import('age-encryption');
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    const wrong = await generateIdentity();
    const dest = path.join(dir.path, 'age');
    const backup = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      'encrypt-to': recipient,
    });
    expect(backup.code).toBe(0);
    // verify full works without the private key: the archive is read whole before it is encrypted.
    expect(backup.summary).toContain('verified (full)');
    expect(backup.outputs.uri).toMatch(/\.dump\.zst\.age$/);
    const stored = readFileSync(new URL(backup.outputs.uri!).pathname);
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
    expect(stored.includes(Buffer.from('pgbench_accounts'))).toBe(false);

    const refused = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: backup.outputs.uri!,
      'decrypt-with': wrong,
      'target-database': 'never_wrong_key',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('no identity in');
    expectNoSecrets(refused, [wrong, identity]);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_wrong_key'")).toBe('0');

    const restored = await restoreAndCompare(backup.outputs.uri!, 'restored_age', { 'decrypt-with': identity });
    expectNoSecrets(restored, [identity]);
  }, 180_000);

  it('round-trips with a passphrase and refuses a wrong one', async () => {
    const passphrase = 'correct horse battery staple 42';
    const dest = path.join(dir.path, 'pass');
    const backup = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      'encryption-passphrase': passphrase,
    });
    expect(backup.code).toBe(0);
    expectNoSecrets(backup, [passphrase]);
    const manifestText = readFileSync(new URL(backup.outputs.manifest!).pathname, 'utf8');
    expect(manifestText).not.toContain(passphrase);
    expect(manifestText).not.toContain(pg.password);

    const refused = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: backup.outputs.uri!,
      'encryption-passphrase': 'wrong passphrase',
      'target-database': 'never_wrong_pass',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('the passphrase is wrong');
    await restoreAndCompare(backup.outputs.uri!, 'restored_pass', { 'encryption-passphrase': passphrase });
  }, 180_000);
});

describe('clean mode', () => {
  it('refuses without the right confirm, and with it takes a pre-restore backup before replacing the database', async () => {
    await seedSampleSchema(pg, 'victim', { scale: 1 });
    await pg.psql("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('before restore')", 'victim');
    const dest = path.join(dir.path, 'clean');
    const backup = await runAction('db-backup', { 'database-url': pg.url('app'), destination: dest });
    expect(backup.code).toBe(0);

    const refused = await runAction('db-restore', {
      'database-url': pg.url('victim'),
      source: backup.outputs.uri!,
      mode: 'clean',
      confirm: 'wrong',
      // app's backup over victim: a backup of another database.
      'allow-other-database': 'true',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("set confirm to 'victim'");
    expect(await pg.psql('SELECT note FROM marker', 'victim')).toBe('before restore');
    expect(existsSync(path.join(dest, 'pre-restore'))).toBe(false);

    const done = await runAction('db-restore', {
      'database-url': pg.url('victim'),
      source: backup.outputs.uri!,
      mode: 'clean',
      confirm: 'victim',
      // app's backup over victim: a backup of another database.
      'allow-other-database': 'true',
    });
    expect(done.stdout).not.toContain('::error::');
    expect(done.code).toBe(0);
    expect(await rowCounts(pg, 'victim')).toEqual(await rowCounts(pg, 'app'));
    const pre = readdirSync(path.join(dest, 'pre-restore'));
    expect(pre.some((f) => /^pre-restore-victim-.*\.manifest\.json$/.test(f))).toBe(true);
    // the pre-restore backup holds the old database, marker table included
    const manifest = JSON.parse(
      readFileSync(
        path.join(
          dest,
          'pre-restore',
          pre.find((f) => f.endsWith('.manifest.json'))!,
        ),
        'utf8',
      ),
    );
    expect(manifest.tables['public.marker']).toBe(1);
  }, 180_000);
});

describe('drill', () => {
  it('restores into a scratch database, compares with the manifest, reports the time and drops it', async () => {
    const dest = path.join(dir.path, 'drill');
    const backup = await runAction('db-backup', { 'database-url': pg.url('app'), destination: dest });
    const drill = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: `${dest}/latest`,
      drill: 'true',
    });
    expect(drill.code).toBe(0);
    expect(drill.outputs['matches-manifest']).toBe('true');
    expect(drill.outputs['restored-from']).toBe(backup.outputs.uri);
    expect(drill.summary).toMatch(/Time to restore \| [\d.]+s/);
    // A drill counts the rows in the database it restored, not in the archive.
    expect(drill.summary).toMatch(/Tables \/ rows \| \d+ \/ \d+ \(counted in the database\)/);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'opskit_drill_%'")).toBe('0');
  }, 180_000);
});
