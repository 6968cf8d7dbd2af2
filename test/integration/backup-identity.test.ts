/**
 * A backup's identity (issue #16, findings 1, 2, 7 and 9), on a real PostgreSQL and a real S3-protocol
 * server: `latest` resolves within one series of one database and never in a subfolder; db-restore mode
 * clean refuses a backup of another database unless allow-other-database; retention stays within its
 * series, deletes a manifest before its archive, and removes archives an interrupted run left without one.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, utimesSync, writeFileSync, copyFileSync } from 'node:fs';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { BackupOptions, BackupResult } from '../../src/backup/backup.js';
import { locateBackup, parseBackupRef } from '../../src/backup/locate.js';
import { MANIFEST_SUFFIX } from '../../src/backup/manifest.js';
import { compactTimestamp } from '../../src/backup/names.js';
import { parseRetention } from '../../src/backup/retention.js';
import { ConfigurationError } from '../../src/errors.js';
import { memoryLogger } from '../../src/logger.js';
import { type ArtifactApi, createArtifactStore } from '../../src/storage/artifact.js';
import { createFileStore } from '../../src/storage/file.js';
import { createS3Store, type S3Store } from '../../src/storage/s3.js';
import type { Store } from '../../src/storage/types.js';
import { runAction } from '../harness/action.js';
import { type PgServer, rowCounts, schemaDump, startPostgres } from '../harness/postgres.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';
import { pgBackup } from '../harness/backup.js';

let pg: PgServer;
let s3: S3Server;
let s3store: S3Store;
let dir: Awaited<ReturnType<typeof tempDir>>;
const logger = memoryLogger();

beforeAll(async () => {
  [pg, s3, dir] = await Promise.all([startPostgres(), startS3(), tempDir('opskit-identity-')]);
  s3store = createS3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  await pg.psql('CREATE DATABASE billing');
  await pg.psql('CREATE DATABASE analytics');
  await pg.psql(
    'CREATE TABLE invoices (id int PRIMARY KEY); INSERT INTO invoices SELECT generate_series(1, 3)',
    'billing',
  );
  await pg.psql('CREATE TABLE events (id int); INSERT INTO events SELECT generate_series(1, 5)', 'analytics');
}, 120_000);

afterAll(async () => {
  s3store?.close();
  await Promise.all([pg?.stop(), s3?.stop(), dir?.cleanup()]);
});

const s3Inputs = () => ({
  's3-endpoint': s3.endpoint,
  's3-region': s3.region,
  's3-force-path-style': 'true',
  'aws-access-key-id': s3.accessKeyId,
  'aws-secret-access-key': s3.secretAccessKey,
});

/** A backup of `db` made as db-backup makes it, at the instant `now` (names and createdAt follow it). */
function backupOf(
  db: string,
  store: Store,
  prefix: string,
  nameTemplate: string,
  now: Date,
  extra: Partial<BackupOptions> = {},
): Promise<BackupResult> {
  return pgBackup({ url: pg.url(db), store, prefix, nameTemplate, tempDir: dir.path, logger, now, ...extra });
}

const at = (minutes: number) => new Date(Date.UTC(2026, 10, 21, 2, minutes, 0));
const locate = (source: string, expected = {}) =>
  locateBackup(
    parseBackupRef('source', source, { endpoint: s3.endpoint, forcePathStyle: true, credentials: s3Credentials() }),
    { tempDir: dir.path },
    expected,
  );
const s3Credentials = () => ({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
const fingerprint = async (db: string) => ({ rows: await rowCounts(pg, db), schema: await schemaDump(pg, db) });
const files = (d: string) => readdirSync(d).sort();
const errorOf = async (p: Promise<unknown>): Promise<Error> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
};

describe('latest stays within one series of one database', () => {
  it("restores billing's own backup in a clean restore of billing from a folder where analytics' is newer", async () => {
    const billing = await backupOf('billing', s3store, 'shared/', '{db}-{timestamp}', at(1));
    await backupOf('analytics', s3store, 'shared/', '{db}-{timestamp}', at(2));
    await pg.psql('INSERT INTO invoices VALUES (4)', 'billing');

    const run = await runAction('db-restore', {
      'database-url': pg.url('billing'),
      source: `s3://${s3.bucket}/shared/latest`,
      mode: 'clean',
      confirm: 'billing',
      ...s3Inputs(),
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs['restored-from']).toBe(billing.uri);
    expect(await rowCounts(pg, 'billing')).toEqual({ 'public.invoices': 3 });
  }, 120_000);

  it('refuses in mode clean a backup of another database, naming it, and touches nothing; allow-other-database lets it through', async () => {
    const analytics = await backupOf('analytics', s3store, 'other/', '{db}-{timestamp}', at(3));
    const before = await fingerprint('billing');
    const inputs = {
      'database-url': pg.url('billing'),
      source: analytics.uri,
      mode: 'clean',
      confirm: 'billing',
      ...s3Inputs(),
    };
    const refused = await runAction('db-restore', inputs);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      `::error::db-restore failed: input 'source': ${analytics.uri} is a backup of database 'analytics', not of 'billing', the database it would replace; set allow-other-database: true to restore it anyway`,
    );
    expect(await fingerprint('billing')).toEqual(before);
    // No side effect: no pre-restore backup was taken.
    expect((await s3store.list('other/')).map((o) => o.key).filter((k) => k.includes('pre-restore'))).toEqual([]);

    // In mode new-database the input has no meaning, and says so.
    const misplaced = await runAction('db-restore', {
      ...inputs,
      mode: 'new-database',
      confirm: '',
      'allow-other-database': 'true',
    });
    expect(misplaced.code).toBe(1);
    expect(misplaced.stdout).toContain("::error::db-restore failed: input 'allow-other-database' is for mode clean");

    const allowed = await runAction('db-restore', { ...inputs, 'allow-other-database': 'true' });
    expect(allowed.stdout).not.toContain('::error::');
    expect(allowed.code).toBe(0);
    expect(await rowCounts(pg, 'billing')).toEqual({ 'public.events': 5 });
    // Put billing back for the other tests.
    await pg.psql(
      'DROP TABLE events; CREATE TABLE invoices (id int PRIMARY KEY); INSERT INTO invoices SELECT generate_series(1, 3)',
      'billing',
    );
  }, 180_000);

  it('never picks a backup in a subfolder: a newer pre-restore/ backup is not latest', async () => {
    const root = path.join(dir.path, 'subfolder');
    const store = createFileStore(root);
    const top = await backupOf('billing', store, '', '{db}-{timestamp}', at(4));
    await backupOf('billing', store, 'pre-restore/', 'pre-restore-{db}-{timestamp}', at(5));
    await backupOf('billing', store, 'pre-restore/', '{db}-{timestamp}', at(6));
    expect((await locateBackup(parseBackupRef('source', `${root}/latest`), { tempDir: dir.path })).archiveKey).toBe(
      top.manifest.archive,
    );
    expect(
      (
        await locateBackup(
          parseBackupRef('source', `${root}/billing-latest`),
          { tempDir: dir.path },
          { database: 'billing' },
        )
      ).archiveKey,
    ).toBe(top.manifest.archive);
  }, 60_000);

  it('refuses a latest that would mix series, naming each; the series head before latest picks one', async () => {
    const nightly = await backupOf('billing', s3store, 'mixed/', '{db}-{timestamp}', at(7));
    const preDeploy = await backupOf('billing', s3store, 'mixed/', 'pre-deploy-{db}-{timestamp}', at(8));
    await backupOf('analytics', s3store, 'mixed/', '{db}-{timestamp}', at(9));

    const ambiguous = await errorOf(locate(`s3://${s3.bucket}/mixed/latest`));
    expect(ambiguous).toBeInstanceOf(ConfigurationError);
    expect(ambiguous.message).toBe(
      `input 'source': s3://${s3.bucket}/mixed/latest is ambiguous: the folder holds 3 series, ` +
        'analytics-{timestamp} (database analytics, newest 2026-11-21T02:09:00.000Z), ' +
        'billing-{timestamp} (database billing, newest 2026-11-21T02:07:00.000Z), ' +
        'pre-deploy-billing-{timestamp} (database billing, newest 2026-11-21T02:08:00.000Z); ' +
        `write the series before latest (s3://${s3.bucket}/mixed/analytics-latest, s3://${s3.bucket}/mixed/billing-latest, ` +
        `s3://${s3.bucket}/mixed/pre-deploy-billing-latest) or give a backup's URI`,
    );
    // billing-latest is billing-{timestamp} only, though the pre-deploy backup is newer.
    expect((await locate(`s3://${s3.bucket}/mixed/billing-latest`)).archiveKey).toBe(
      `mixed/${nightly.manifest.archive}`,
    );
    expect((await locate(`s3://${s3.bucket}/mixed/pre-deploy-billing-latest`)).archiveKey).toBe(
      `mixed/${preDeploy.manifest.archive}`,
    );
    // With the database expected (mode clean), its one series... still two here: billing has two.
    const stillTwo = await errorOf(locate(`s3://${s3.bucket}/mixed/latest`, { database: 'billing' }));
    expect(stillTwo.message).toMatch(/is ambiguous: the folder holds 2 series, billing-\{timestamp\}/);
    const none = await errorOf(locate(`s3://${s3.bucket}/mixed/pre-deploy-billing-latest`, { database: 'analytics' }));
    expect(none.message).toBe(
      `input 'source': no backup of database 'analytics' under s3://${s3.bucket}/mixed/pre-deploy-billing-…; it holds backups of pre-deploy-billing-{timestamp} (database billing, newest 2026-11-21T02:08:00.000Z). Restore one of them by its URI with allow-other-database: true, or point source at the folder of analytics's backups`,
    );
  }, 60_000);

  it('reads manifests written before they recorded their series: the series comes from the name', async () => {
    const root = path.join(dir.path, 'old-manifests');
    const store = createFileStore(root);
    const made: BackupResult[] = [];
    for (const [template, minute] of [
      ['{db}-{timestamp}', 10],
      ['{db}-pre-deploy-{timestamp}', 11],
      ['{db}-{timestamp}', 12],
    ] as const) {
      made.push(await backupOf('billing', store, '', template, at(minute)));
    }
    for (const f of files(root).filter((f) => f.endsWith(MANIFEST_SUFFIX))) {
      const m = JSON.parse(readFileSync(path.join(root, f), 'utf8')) as Record<string, unknown>;
      expect(m.series).toMatch(/^billing-(pre-deploy-)?\{timestamp\}$/);
      delete m.series;
      writeFileSync(path.join(root, f), JSON.stringify(m));
    }
    expect(
      (await locateBackup(parseBackupRef('source', `${root}/billing-latest`), { tempDir: dir.path })).archiveKey,
    ).toBe(made[2]!.manifest.archive);
    // Retention of billing-{timestamp} sees the old billing-{timestamp} backups, and not the pre-deploy one.
    const next = await backupOf('billing', store, '', '{db}-{timestamp}', at(13), {
      retention: parseRetention('retention', 'keep-last=1'),
    });
    expect(next.deleted.sort()).toEqual([made[0]!.uri, made[2]!.uri].sort());
    expect(files(root)).toEqual(
      [made[1]!, next].flatMap((b) => [b.manifest.archive, `${b.manifest.name}${MANIFEST_SUFFIX}`]).sort(),
    );
  }, 60_000);
});

describe('retention stays within its series', () => {
  it('keeps every {db}-pre-deploy-{timestamp} backup when keep-last=1 applies to {db}-{timestamp}', async () => {
    const root = path.join(dir.path, 'series');
    const store = createFileStore(root);
    const preDeploy = [
      await backupOf('billing', store, '', '{db}-pre-deploy-{timestamp}', at(20)),
      await backupOf('billing', store, '', '{db}-pre-deploy-{timestamp}', at(21)),
      await backupOf('billing', store, '', '{db}-pre-deploy-{timestamp}', at(22)),
    ];
    await backupOf('billing', store, '', '{db}-{timestamp}', at(23));
    const last = await backupOf('billing', store, '', '{db}-{timestamp}', at(24), {
      retention: parseRetention('retention', 'keep-last=1'),
    });
    expect(last.deleted).toHaveLength(1);
    for (const b of [...preDeploy, last]) {
      expect(files(root)).toContain(b.manifest.archive);
      expect(files(root)).toContain(`${b.manifest.name}${MANIFEST_SUFFIX}`);
    }
    expect(files(root)).toHaveLength(8);
  }, 60_000);

  it("deletes an old backup's manifest before its archive: an interruption between the two leaves no manifest pointing at nothing", async () => {
    const root = path.join(dir.path, 'order');
    const files0 = createFileStore(root);
    const deletes: string[] = [];
    let failArchiveDeletes = true;
    // A store that dies at the second delete of a pair, as a killed run would.
    const store: Store = {
      ...files0,
      async delete(key) {
        deletes.push(key);
        if (failArchiveDeletes && deletes.length % 2 === 0) throw new Error('killed between the two deletes');
        return files0.delete(key);
      },
    };
    const old = await backupOf('billing', store, '', '{db}-{timestamp}', at(30));
    await expect(
      backupOf('billing', store, '', '{db}-{timestamp}', at(31), {
        retention: parseRetention('retention', 'keep-last=1'),
      }),
    ).rejects.toThrow('killed between the two deletes');
    expect(deletes).toEqual([`${old.manifest.name}${MANIFEST_SUFFIX}`, old.manifest.archive]);
    // Every manifest left points at an archive that is there.
    for (const f of files(root).filter((f) => f.endsWith(MANIFEST_SUFFIX))) {
      const m = JSON.parse(readFileSync(path.join(root, f), 'utf8')) as { archive: string };
      expect(files(root)).toContain(m.archive);
    }
    // What is left of the old backup is an archive alone, which latest never takes.
    expect(files(root)).toContain(old.manifest.archive);
    expect((await locateBackup(parseBackupRef('source', `${root}/latest`), { tempDir: dir.path })).archiveKey).not.toBe(
      old.manifest.archive,
    );
    // The next run removes it as an orphan: the interrupted run, a complete backup, started after it was
    // written. (These backups are dated at(…), so the orphan's time is set to its backup's.)
    utimesSync(path.join(root, old.manifest.archive), at(30), at(30));
    failArchiveDeletes = false;
    const next = await backupOf('billing', store, '', '{db}-{timestamp}', at(32), {
      retention: parseRetention('retention', 'keep-last=5'),
    });
    expect(next.deleted).toEqual([files0.uri(old.manifest.archive)]);
    expect(files(root)).not.toContain(old.manifest.archive);
  }, 60_000);

  it('removes an archive an interrupted run left without a manifest, once a later backup completed, never one that may still be verifying', async () => {
    const root = path.join(dir.path, 'orphans');
    const store = createFileStore(root);
    const first = await backupOf('billing', store, '', '{db}-{timestamp}', at(40));
    // Two runs killed before their manifest was written (verify: restore takes long): one well before
    // the next complete backup started, one after it (it may still be verifying).
    const stale = 'billing-20261121T024100Z.dump.zst';
    const fresh = 'billing-20261121T024300Z.dump.zst';
    copyFileSync(path.join(root, first.manifest.archive), path.join(root, stale));
    copyFileSync(path.join(root, first.manifest.archive), path.join(root, fresh));
    utimesSync(path.join(root, stale), at(41), at(41));
    utimesSync(path.join(root, fresh), at(43), at(43));
    // Another series' orphan is not this series' business.
    const otherSeries = 'billing-pre-deploy-20261121T024100Z.dump.zst';
    copyFileSync(path.join(root, first.manifest.archive), path.join(root, otherSeries));
    utimesSync(path.join(root, otherSeries), at(41), at(41));

    const keep = parseRetention('retention', 'keep-last=10');
    const second = await backupOf('billing', store, '', '{db}-{timestamp}', at(42), { retention: keep });
    // The only complete backup before this one started before the stale archive was written: nothing yet.
    expect(second.deleted).toEqual([]);
    const third = await backupOf('billing', store, '', '{db}-{timestamp}', at(44), { retention: keep });
    expect(third.deleted).toEqual([store.uri(stale)]);
    expect(files(root)).toContain(fresh);
    expect(files(root)).toContain(otherSeries);
    expect(logger.lines.join('\n')).toContain(`retention: deleted ${store.uri(stale)}, an archive with no manifest`);
    const fourth = await backupOf('billing', store, '', '{db}-{timestamp}', at(45), { retention: keep });
    expect(fourth.deleted).toEqual([store.uri(fresh)]);
    expect(files(root)).toContain(otherSeries);
    // Retention off: nothing is deleted, orphans included.
    copyFileSync(path.join(root, first.manifest.archive), path.join(root, stale));
    utimesSync(path.join(root, stale), at(41), at(41));
    const off = await backupOf('billing', store, '', '{db}-{timestamp}', at(46));
    expect(off.deleted).toEqual([]);
    expect(files(root)).toContain(stale);
  }, 90_000);
});

describe('what a killed run left mid-write', () => {
  it('removes its .partial-* file a run later, as an orphaned archive, and only in its series', async () => {
    const root = path.join(dir.path, 'unfinished');
    const store = createFileStore(root);
    await backupOf('billing', store, '', '{db}-{timestamp}', at(60));
    const partial = 'billing-20261121T026100Z.dump.zst.partial-0123456789ab';
    const otherSeries = 'billing-pre-deploy-20261121T026100Z.dump.zst.partial-0123456789ab';
    for (const f of [partial, otherSeries]) {
      writeFileSync(path.join(root, f), 'half a dump');
      utimesSync(path.join(root, f), at(61), at(61));
    }
    const keep = parseRetention('retention', 'keep-last=10');
    await backupOf('billing', store, '', '{db}-{timestamp}', at(62), { retention: keep });
    expect(files(root)).toContain(partial);
    await backupOf('billing', store, '', '{db}-{timestamp}', at(63), { retention: keep });
    expect(files(root)).not.toContain(partial);
    expect(files(root)).toContain(otherSeries);
    expect(logger.lines.join('\n')).toContain(
      `retention: removed an unfinished write to ${store.uri('billing-20261121T026100Z.dump.zst')} (partial file since ${at(61).toISOString()})`,
    );
  }, 60_000);

  it('aborts its S3 multipart upload a run later, parts and all, and only in its series', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await backupOf('billing', s3store, 'killed/', '{db}-{timestamp}', new Date());
    await sleep(1100);
    // Uploads a killed db-backup left: one of this series with a part, one of another series.
    const started = async (Key: string) => {
      const { UploadId } = await s3store.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
      await s3store.client.send(
        new UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024) }),
      );
      return UploadId!;
    };
    const mine = await started(`killed/billing-${compactTimestamp(new Date())}.dump.zst`);
    const other = await started(`killed/analytics-${compactTimestamp(new Date())}.dump.zst`);
    const uploads = async () =>
      (
        (await s3store.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: 'killed/' })))
          .Uploads ?? []
      )
        .map((u) => u.UploadId)
        .sort();
    expect(await uploads()).toEqual([mine, other].sort());

    const keep = parseRetention('retention', 'keep-last=10');
    await sleep(1100);
    await backupOf('billing', s3store, 'killed/', '{db}-{timestamp}', new Date(), { retention: keep });
    // The only complete backup before that one started before the upload did: it may still be running.
    expect(await uploads()).toEqual([mine, other].sort());
    await sleep(1100);
    await backupOf('billing', s3store, 'killed/', '{db}-{timestamp}', new Date(), { retention: keep });
    expect(await uploads()).toEqual([other]);
    expect(logger.lines.join('\n')).toContain(`(multipart upload ${mine} since`);
  }, 60_000);
});

describe('an artifact store, whose names have no folders', () => {
  it('keeps retention to the series in its prefix, manifest first, and leaves the pre-restore- names alone', async () => {
    // The artifact API in memory (GitHub's service is not at hand): names, ids and bytes, as the real one keeps them.
    const artifacts = new Map<string, { id: number; bytes: Buffer; createdAt: Date }>();
    const deletes: string[] = [];
    let nextId = 1;
    const client: ArtifactApi = {
      async uploadArtifact(name, paths) {
        artifacts.set(name, { id: nextId++, bytes: readFileSync(paths[0]!), createdAt: new Date() });
        return { id: nextId - 1, size: artifacts.get(name)!.bytes.length };
      },
      async listArtifacts() {
        return {
          artifacts: [...artifacts].map(([name, a]) => ({
            name,
            id: a.id,
            size: a.bytes.length,
            createdAt: a.createdAt,
          })),
        };
      },
      async downloadArtifact(id, options) {
        const [name, a] = [...artifacts].find(([, x]) => x.id === id)!;
        writeFileSync(path.join(options!.path!, name), a.bytes);
        return { downloadPath: options!.path };
      },
      async deleteArtifact(name) {
        deletes.push(name);
        const a = artifacts.get(name)!;
        artifacts.delete(name);
        return { id: a.id };
      },
    };
    const store = createArtifactStore({ name: 'backup', tempDir: dir.path, client, env: {} });
    const first = await backupOf('billing', store, 'nightly/', '{db}-{timestamp}', at(50));
    await backupOf('billing', store, 'nightly/pre-restore/', '{db}-{timestamp}', at(51));
    const second = await backupOf('billing', store, 'nightly/', '{db}-{timestamp}', at(52), {
      retention: parseRetention('retention', 'keep-last=1'),
    });
    expect(second.deleted).toEqual([first.uri]);
    expect(deletes).toEqual([
      `backup-nightly-${first.manifest.name}${MANIFEST_SUFFIX}`,
      `backup-nightly-${first.manifest.archive}`,
    ]);
    expect([...artifacts.keys()].sort()).toEqual(
      [
        `backup-nightly-${second.manifest.archive}`,
        `backup-nightly-${second.manifest.name}${MANIFEST_SUFFIX}`,
        'backup-nightly-pre-restore-billing-20261121T025100Z.dump.zst',
        'backup-nightly-pre-restore-billing-20261121T025100Z.manifest.json',
      ].sort(),
    );
  }, 60_000);
});
