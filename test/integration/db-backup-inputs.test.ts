/**
 * db-backup and db-restore refuse bad inputs before touching anything: each case runs the bundle as the
 * runner does and checks exit code 1, one `::error::` line that names the input and says what is accepted,
 * no stack trace, no secret in anything a person could see, and no side effect (the destination stays as it
 * was, no database appears on the server, nothing lands in the S3 bucket).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runAction, emptyOutputs } from '../harness/action.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let s3: S3Server;
let dir: Awaited<ReturnType<typeof tempDir>>;
let recipient: string;

beforeAll(async () => {
  const { generateIdentity, identityToRecipient } = await import('age-encryption');
  [pg, s3, dir, recipient] = await Promise.all([
    startPostgres(),
    startS3(),
    tempDir('opskit-backup-inputs-'),
    generateIdentity().then(identityToRecipient),
  ]);
  await pg.psql('CREATE DATABASE app');
  await pg.psql('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) AS g', 'app');
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop(), dir?.cleanup()]);
});

interface Ctx {
  /** postgres://opskit:<password>@127.0.0.1:<port>/app */
  url: string;
  /** postgres://…/postgres, the server db-restore connects to. */
  server: string;
  /** A directory of this case's own, that does not exist (or exists empty with `mkdir`). */
  dest: string;
  bucket: string;
  /** s3-endpoint, s3-region, s3-force-path-style and both keys, for s3rver. */
  s3: Record<string, string>;
  recipient: string;
  password: string;
}

interface Case {
  title: string;
  action: 'db-backup' | 'db-restore';
  inputs(c: Ctx): Record<string, string>;
  /** The input(s) the message must start with: `input 'x'` or `inputs 'x' and 'y'`. */
  names: string[];
  /** What the message must say (what is accepted, or why). */
  says: string[];
  /** Create `dest` (empty) before the run. */
  mkdir?: boolean;
  /** Further values that must not be visible. */
  secrets?: string[];
}

const REDIS_PASSWORD = 'redis-pw-9f8e7d6c5b4a';
const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET_IN_URL = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
const PASSPHRASE = 'correct horse battery staple 7';
const DESTINATIONS = 'expected a local directory, file:///absolute/dir, s3://bucket/prefix or artifact';
const PG_CLIENT = 'expected auto, a PostgreSQL major version from 10 to 30, or an absolute path to a directory';

const cases: Case[] = [
  // ---- db-backup: what to back up and where
  {
    title: 'db-backup without database-url',
    action: 'db-backup',
    inputs: (c) => ({ destination: c.dest }),
    names: ['database-url'],
    says: ['is required but was not supplied'],
  },
  {
    title: 'db-backup with a mysql:// database-url',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': `mysql://opskit:${c.password}@127.0.0.1:3306/app`, destination: c.dest }),
    names: ['database-url'],
    says: ['expected a postgres:// or postgresql:// URL', "got 'mysql://…'"],
  },
  {
    title: 'db-backup with a database-url that names no database',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url.replace(/\/app$/, '/'), destination: c.dest }),
    names: ['database-url'],
    says: ['the URL names no database (…/dbname)'],
  },
  {
    title: 'db-backup to gs://x',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: 'gs://x' }),
    names: ['destination'],
    says: ["'gs://' is not a supported destination", DESTINATIONS, "got 'gs://x'"],
  },
  {
    title: 'db-backup to s3:// with no bucket',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: 's3:///nightly', ...c.s3 }),
    names: ['destination'],
    says: ['the s3:// URL names no bucket', DESTINATIONS],
  },
  {
    title: 'db-backup to an s3:// bucket with an invalid name',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: 's3://x/nightly', ...c.s3 }),
    names: ['destination'],
    says: ["'x' is not a valid bucket name", DESTINATIONS],
  },
  {
    title: 'db-backup to an s3:// URL with credentials in it',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: `s3://${AWS_KEY_ID}:${AWS_SECRET_IN_URL}@${c.bucket}/x` }),
    names: ['destination'],
    says: ['credentials do not belong in the destination', `got 's3://***@`],
    secrets: [AWS_SECRET_IN_URL],
  },
  // ---- db-backup: how
  {
    title: 'db-backup with format tar',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, format: 'tar' }),
    names: ['format'],
    says: ["expected one of custom, directory, plain, got 'tar'"],
  },
  {
    title: 'db-backup with jobs 4 and format custom',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, format: 'custom', jobs: '4' }),
    names: ['jobs'],
    says: ['a parallel dump needs format: directory (format is custom)'],
  },
  {
    title: 'db-backup with jobs 0',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, format: 'directory', jobs: '0' }),
    names: ['jobs'],
    says: ["expected a whole number from 1 to 64, got '0'"],
  },
  {
    title: 'db-backup with compression brotli',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, compression: 'brotli' }),
    names: ['compression'],
    says: ["expected auto, zstd[:level], gzip[:level], lz4[:level] or none, got 'brotli'"],
  },
  {
    title: 'db-backup with compression zstd:99',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, compression: 'zstd:99' }),
    names: ['compression'],
    says: ["expected a zstd level from 1 to 19, got 'zstd:99'"],
  },
  {
    title: 'db-backup with retention keep=3',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, retention: 'keep=3' }),
    names: ['retention'],
    says: ['expected keep-last=N, max-age=30d or daily=7,weekly=4,monthly=12', "unknown key 'keep'"],
  },
  {
    title: 'db-backup with retention max-age=30m (minutes, not months)',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, retention: 'max-age=30m' }),
    names: ['retention'],
    says: ['expected keep-last=N', 'max-age must be at least 1h'],
  },
  {
    title: 'db-backup with verify fast',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, verify: 'fast' }),
    names: ['verify'],
    says: ["expected one of checksum, full, restore, got 'fast'"],
  },
  {
    title: 'db-backup with verify restore and encrypt-to',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, verify: 'restore', 'encrypt-to': c.recipient }),
    names: ['verify'],
    says: ['restore reads the backup back decrypted', 'use verify: full'],
  },
  {
    title: 'db-backup with encrypt-to garbage',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, 'encrypt-to': 'not-a-public-key' }),
    names: ['encrypt-to'],
    says: ['is not an age recipient; expected public keys like age1…'],
  },
  {
    title: 'db-backup with both encrypt-to and encryption-passphrase',
    action: 'db-backup',
    inputs: (c) => ({
      'database-url': c.url,
      destination: c.dest,
      'encrypt-to': c.recipient,
      'encryption-passphrase': PASSPHRASE,
    }),
    names: ['encrypt-to', 'encryption-passphrase'],
    says: ['give one of them, not both'],
    secrets: [PASSPHRASE],
  },
  {
    title: 'db-backup with extra-args --file=…',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, 'extra-args': `--file=${c.dest}/stolen.dump` }),
    names: ['extra-args'],
    says: ['expected pg_dump options other than those opskit sets', "got '--file="],
  },
  {
    title: 'db-backup with extra-args -Fp',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, 'extra-args': '--no-owner\n-Fp' }),
    names: ['extra-args'],
    says: ['expected pg_dump options other than those opskit sets', "got '-Fp'"],
  },
  {
    title: 'db-backup with name {host}',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, name: '{host}-{timestamp}' }),
    names: ['name'],
    says: ['unknown placeholder {host}; accepted: {db}, {timestamp}, {date}, {engine}'],
  },
  {
    title: 'db-backup with pg-client 99',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, 'pg-client': '99' }),
    names: ['pg-client'],
    says: [PG_CLIENT, "got '99'"],
  },
  {
    title: 'db-backup with a relative pg-client path',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: c.dest, 'pg-client': 'bin/pg_dump' }),
    names: ['pg-client'],
    says: [PG_CLIENT, "got 'bin/pg_dump'"],
  },
  {
    title: 'db-backup with aws-access-key-id but no secret',
    action: 'db-backup',
    inputs: (c) => ({
      'database-url': c.url,
      destination: `s3://${c.bucket}/nightly`,
      's3-endpoint': c.s3['s3-endpoint']!,
      's3-force-path-style': 'true',
      'aws-access-key-id': AWS_KEY_ID,
    }),
    names: ['aws-access-key-id', 'aws-secret-access-key'],
    says: ['give both or neither'],
    secrets: [AWS_KEY_ID],
  },
  {
    title: 'db-backup with an ftp:// s3-endpoint',
    action: 'db-backup',
    inputs: (c) => ({ 'database-url': c.url, destination: `s3://${c.bucket}/nightly`, 's3-endpoint': 'ftp://x' }),
    names: ['s3-endpoint'],
    says: ['expected a URL starting with http:// or https://'],
  },
  {
    title: 'db-backup of Redis with format directory',
    action: 'db-backup',
    inputs: (c) => ({
      'database-url': `redis://:${REDIS_PASSWORD}@127.0.0.1:6399/0`,
      destination: c.dest,
      format: 'directory',
    }),
    names: ['format', 'jobs', 'extra-args'],
    says: ['apply to PostgreSQL only; a Redis backup is always an RDB snapshot'],
    secrets: [REDIS_PASSWORD],
  },
  {
    title: 'db-backup of Redis with verify restore',
    action: 'db-backup',
    inputs: (c) => ({
      'database-url': `redis://:${REDIS_PASSWORD}@127.0.0.1:6399/0`,
      destination: c.dest,
      verify: 'restore',
    }),
    names: ['verify'],
    says: ['restore applies to PostgreSQL; for Redis use full (redis-check-rdb) or checksum'],
    secrets: [REDIS_PASSWORD],
  },
  // ---- db-restore
  {
    title: 'db-restore with mode clean and drill true',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.url, source: `${c.dest}/latest`, mode: 'clean', drill: 'true' }),
    names: ['drill', 'mode'],
    says: ['a drill restores into a scratch database; it cannot use mode clean'],
  },
  {
    title: 'db-restore with mode replace',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.url, source: `${c.dest}/latest`, mode: 'replace' }),
    names: ['mode'],
    says: ["expected one of new-database, clean, status, got 'replace'"],
  },
  {
    title: 'db-restore with drill maybe',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/latest`, drill: 'maybe' }),
    names: ['drill'],
    says: ["expected true or false, got 'maybe'"],
  },
  {
    title: 'db-restore with a target-database containing a space',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/latest`, 'target-database': 'my db' }),
    names: ['target-database'],
    says: ["expected a database name of letters, digits and _ (at most 63 characters), got 'my db'"],
  },
  {
    title: 'db-restore with target-database and mode clean',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.url, source: `${c.dest}/latest`, mode: 'clean', 'target-database': 'other' }),
    names: ['target-database'],
    says: ['is for mode new-database'],
  },
  {
    title: 'db-restore with jobs 100',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/latest`, jobs: '100' }),
    names: ['jobs'],
    says: ["expected a whole number from 1 to 64, got '100'"],
  },
  {
    title: 'db-restore to a redis:// database-url',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': `redis://:${REDIS_PASSWORD}@127.0.0.1:6399/0`, source: `${c.dest}/latest` }),
    names: ['database-url'],
    says: ['expected a postgres:// or postgresql:// URL', "got 'redis://…'"],
    secrets: [REDIS_PASSWORD],
  },
  {
    title: 'db-restore of a source that is neither an archive nor a manifest nor latest',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/app.txt` }),
    names: ['source'],
    says: [
      "'app.txt' is neither a backup archive (.dump, .sql, .tar, .rdb, with .zst/.gz/.lz4/.age) nor a manifest, nor ends in latest",
    ],
  },
  {
    title: 'db-restore of a source without a folder',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: 'app.dump.zst' }),
    names: ['source'],
    says: ['expected the URI of a backup (its archive or manifest), or a folder ending in /latest'],
  },
  {
    title: 'db-restore of latest in an empty folder',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/latest` }),
    names: ['source'],
    says: ['no verified backup found under file://'],
    mkdir: true,
  },
  {
    title: 'db-restore of app-latest in a folder that does not exist',
    action: 'db-restore',
    inputs: (c) => ({ 'database-url': c.server, source: `${c.dest}/app-latest` }),
    names: ['source'],
    says: ['no verified backup found under file://'],
  },
  {
    title: 'db-restore of an S3 archive that has no manifest',
    action: 'db-restore',
    inputs: (c) => ({
      'database-url': c.server,
      source: `s3://${c.bucket}/nightly/app-20250101T000000Z.dump.zst`,
      ...c.s3,
    }),
    names: ['source'],
    says: [`no manifest at s3://`, 'app-20250101T000000Z.manifest.json'],
  },
  {
    title: 'db-restore from S3 with aws-secret-access-key but no key id',
    action: 'db-restore',
    inputs: (c) => ({
      'database-url': c.server,
      source: `s3://${c.bucket}/nightly/latest`,
      'aws-secret-access-key': AWS_SECRET_IN_URL,
    }),
    names: ['aws-access-key-id', 'aws-secret-access-key'],
    says: ['give both or neither'],
    secrets: [AWS_SECRET_IN_URL],
  },
];

/** Every file under `root`, relative, sorted ([] when it does not exist). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

const databases = () => pg.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");

/** `input 'x'`, `inputs 'x' and 'y'`, `inputs 'x', 'y' and 'z'`. */
function named(names: string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  if (quoted.length === 1) return `input ${quoted[0]}`;
  return `inputs ${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
}

let caseNumber = 0;

it.each(cases)(
  '$title',
  async ({ action, inputs, names, says, mkdir, secrets = [] }) => {
    const dest = path.join(dir.path, `case-${++caseNumber}`);
    if (mkdir) mkdirSync(dest);
    const ctx: Ctx = {
      url: pg.url('app'),
      server: pg.url('postgres'),
      dest,
      bucket: s3.bucket,
      s3: {
        's3-endpoint': s3.endpoint,
        's3-region': s3.region,
        's3-force-path-style': 'true',
        'aws-access-key-id': s3.accessKeyId,
        'aws-secret-access-key': s3.secretAccessKey,
      },
      recipient,
      password: pg.password,
    };
    const dbsBefore = await databases();
    const bucketBefore = filesUnder(s3.dir);

    const run = await runAction(action, inputs(ctx));

    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    const error = errors[0]!;
    const prefix = `::error::${action} failed: ${named(names)}`;
    expect(error.slice(0, prefix.length)).toBe(prefix);
    for (const s of says) expect(error).toContain(s);
    expect(run.visible).not.toContain('internal error');
    expect(run.visible).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(run.outputs).toEqual(emptyOutputs(action));
    for (const s of [pg.password, ...secrets]) expect(run.visible).not.toContain(s);

    // Nothing happened: the destination is as it was, no database appeared, the bucket is untouched.
    expect(existsSync(dest)).toBe(Boolean(mkdir));
    expect(filesUnder(dest)).toEqual([]);
    expect(await databases()).toBe(dbsBefore);
    expect(filesUnder(s3.dir)).toEqual(bucketBefore);
  },
  30_000,
);
