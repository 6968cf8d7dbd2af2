import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { memoryLogger } from '../../src/logger.js';
import {
  ARTIFACT_UNAVAILABLE,
  artifactName,
  createArtifactStore,
  type ArtifactApi,
} from '../../src/storage/artifact.js';
import { createFileStore } from '../../src/storage/file.js';
import { joinKey, openStore, parseDestinationSpec, type S3Settings } from '../../src/storage/index.js';
import { createS3Store, PART_SIZE, QUEUE_SIZE, type S3Store, type S3StoreOptions } from '../../src/storage/s3.js';
import type { Store } from '../../src/storage/types.js';
import { freePort } from '../harness/ports.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';

const MiB = 1024 * 1024;

/** `size` pseudo-random bytes made 64 KiB at a time as they are read (never one big buffer), hashed on the way out. */
function randomStream(size: number, { failAt }: { failAt?: number } = {}): { stream: Readable; sha256(): string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (failAt !== undefined && sent >= failAt) return this.destroy(new Error('pg_dump died half-way'));
      if (sent >= size) return void this.push(null);
      const chunk = randomBytes(Math.min(64 * 1024, size - sent, failAt === undefined ? Infinity : failAt - sent));
      hash.update(chunk);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  let digest: string | undefined;
  return { stream, sha256: () => (digest ??= hash.digest('hex')) };
}

/** `bytes` random bytes, then nothing more, ever (a pg_dump that hangs): `sent()` says how much was read. */
function stallingStream(bytes: number): { stream: Readable; sent(): number } {
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= bytes) return; // no push: the reader waits for good
      const chunk = randomBytes(Math.min(64 * 1024, bytes - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, sent: () => sent };
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `promise`'s settlement, or a rejection saying it did not settle within `ms` (an abort that was not heard). */
function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the abort`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function textOf(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += (chunk as Buffer).toString();
  return out;
}

/** Every file under `dir`, as paths relative to it with `/` separators. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/** Records the SDK commands a client sends (and UploadPart body sizes) through its middleware stack. */
function recordCommands(client: S3Client): { names: string[]; partSizes: number[]; inputs: Record<string, unknown>[] } {
  const seen = { names: [] as string[], partSizes: [] as number[], inputs: [] as Record<string, unknown>[] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      seen.names.push(String(context.commandName));
      seen.inputs.push(args.input as Record<string, unknown>);
      if (context.commandName === 'UploadPartCommand') {
        seen.partSizes.push((args.input as { Body: Uint8Array }).Body.byteLength);
      }
      return next(args);
    },
    { step: 'initialize', name: 'opskitTestRecorder' },
  );
  return seen;
}

let s3: S3Server;
const s3Stores: S3Store[] = [];

/** The bucket's multipart uploads that were neither completed nor aborted, by key, asked through the SDK. */
async function multipartUploads(store: S3Store): Promise<string[]> {
  const out = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
  return (out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}
function s3Store(extra: Partial<S3StoreOptions> = {}): S3Store {
  const store = createS3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...extra,
  });
  s3Stores.push(store);
  return store;
}

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  for (const store of s3Stores) store.close();
  await s3?.stop();
});

interface Fixture {
  store: Store;
  /** Anything the backend still holds for `key` (files, partials, s3rver object files), by path. */
  leftovers(key: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

const fixtures: [string, () => Promise<Fixture>][] = [
  [
    'file',
    async () => {
      const tmp = await tempDir('opskit-store-');
      const root = path.join(tmp.path, 'backups');
      return {
        store: createFileStore(root),
        leftovers: async (key) => (await filesUnder(root)).filter((f) => f.startsWith(key)),
        cleanup: tmp.cleanup,
      };
    },
  ],
  [
    's3',
    async () => ({
      store: s3Store(),
      // s3rver keeps <key>._S3rver_object (+ .md5, metadata) under <dir>/<bucket>/.
      leftovers: async (key) => (await filesUnder(path.join(s3.dir, s3.bucket))).filter((f) => f.startsWith(key)),
      cleanup: async () => {},
    }),
  ],
];

describe.each(fixtures)('%s store contract', (kind, setup) => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await setup();
  });
  afterAll(() => fx?.cleanup());

  it('streams 20 MiB in and out unchanged', async () => {
    const source = randomStream(20 * MiB);
    const key = `contract-${kind}/big/db.dump`;
    const put = await fx.store.put(key, source.stream, { contentType: 'application/octet-stream' });
    expect(put.size).toBe(20 * MiB);
    const back = await sha256Of(await fx.store.get(key));
    expect(back.size).toBe(20 * MiB);
    expect(back.sha256).toBe(source.sha256());
  });

  it('lists recursively by prefix with sizes and dates', async () => {
    const base = `contract-${kind}/list/`;
    const before = Date.now();
    await fx.store.put(`${base}a.dump`, Readable.from([Buffer.from('abc')]));
    await fx.store.put(`${base}deeper/b.dump`, Readable.from([Buffer.from('hello')]));
    await fx.store.put(`contract-${kind}/listless/c.dump`, Readable.from([Buffer.from('x')]));
    const listed = await fx.store.list(base);
    expect(listed.map((o) => [o.key, o.size]).sort()).toEqual([
      [`${base}a.dump`, 3],
      [`${base}deeper/b.dump`, 5],
    ]);
    for (const o of listed) {
      // A Date, but maybe from Node's realm rather than jest's: no toBeInstanceOf.
      expect(Object.prototype.toString.call(o.lastModified)).toBe('[object Date]');
      expect(o.lastModified.getTime()).toBeGreaterThan(before - 5 * 60_000);
    }
    // A prefix that is not a whole directory name filters too.
    expect((await fx.store.list(`contract-${kind}/list`)).map((o) => o.key).sort()).toEqual([
      `${base}a.dump`,
      `${base}deeper/b.dump`,
      `contract-${kind}/listless/c.dump`,
    ]);
    expect(await fx.store.list(`contract-${kind}/nothing-here/`)).toEqual([]);
  });

  it('overwrites, checks existence and deletes', async () => {
    const key = `contract-${kind}/cycle.dump`;
    expect(await fx.store.exists(key)).toBe(false);
    await fx.store.put(key, Readable.from([Buffer.from('first')]));
    await fx.store.put(key, Readable.from([Buffer.from('second')]));
    expect(await fx.store.exists(key)).toBe(true);
    expect(await textOf(await fx.store.get(key))).toBe('second');
    await fx.store.delete(key);
    expect(await fx.store.exists(key)).toBe(false);
    expect(await fx.store.list(key)).toEqual([]);
    await expect(fx.store.delete(key)).resolves.toBeUndefined(); // deleting nothing is fine
  });

  it('rejects a get of a missing key with an error naming the URI', async () => {
    const key = `contract-${kind}/missing.dump`;
    const err = await fx.store.get(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as ExternalError).status).toBe(404);
    expect((err as Error).message).toBe(`backup not found: ${fx.store.uri(key)}`);
    expect((err as Error).message).toMatch(
      kind === 'file' ? /^backup not found: file:\/\/\// : /^backup not found: s3:\/\//,
    );
  });

  it('leaves no object behind when the source fails half-way', async () => {
    const key = `contract-${kind}/broken/db.dump`;
    const source = randomStream(20 * MiB, { failAt: 10 * MiB });
    await expect(fx.store.put(key, source.stream)).rejects.toThrow('pg_dump died half-way');
    expect(await fx.store.exists(key)).toBe(false);
    expect(await fx.store.list(`contract-${kind}/broken/`)).toEqual([]);
    expect(await fx.leftovers(`contract-${kind}/broken/`)).toEqual([]);
  });

  it('writes nothing when the upload is aborted before it starts, and rejects with the reason', async () => {
    const key = `contract-${kind}/aborted-early/db.dump`;
    const controller = new AbortController();
    controller.abort(new Error('interrupted by SIGTERM'));
    await expect(fx.store.put(key, randomStream(MiB).stream, { signal: controller.signal })).rejects.toThrow(
      'interrupted by SIGTERM',
    );
    expect(await fx.leftovers(`contract-${kind}/aborted-early/`)).toEqual([]);
  });

  it('leaves the previous object intact when a replacement fails', async () => {
    const key = `contract-${kind}/keep.dump`;
    await fx.store.put(key, Readable.from([Buffer.from('good backup')]));
    await expect(fx.store.put(key, randomStream(MiB, { failAt: 100_000 }).stream)).rejects.toThrow('half-way');
    expect(await textOf(await fx.store.get(key))).toBe('good backup');
  });

  it('gives URIs of its own kind', () => {
    const uri = fx.store.uri('nightly/db.dump');
    if (kind === 'file') expect(uri).toMatch(/^file:\/\/\/.*\/backups\/nightly\/db\.dump$/);
    else expect(uri).toBe(`s3://${s3.bucket}/nightly/db.dump`);
  });
});

describe('S3 store against s3rver', () => {
  it('uploads 20 MiB as a multipart upload of 8 MiB parts', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    const source = randomStream(20 * MiB);
    await store.put('multipart/big.dump', source.stream);
    expect(seen.names.filter((n) => n === 'CreateMultipartUploadCommand')).toHaveLength(1);
    expect(seen.partSizes).toHaveLength(3);
    expect([...seen.partSizes].sort((a, b) => b - a)).toEqual([8 * MiB, 8 * MiB, 4 * MiB]);
    expect(seen.names).toContain('CompleteMultipartUploadCommand');
    expect(seen.names).not.toContain('PutObjectCommand');
    expect((await sha256Of(await store.get('multipart/big.dump'))).sha256).toBe(source.sha256());
  });

  it('reuses its part buffers: 60 MiB arrives unchanged in 8 parts, never more than 4 in flight', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    let inFlight = 0;
    let most = 0;
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand') return next(args);
        most = Math.max(most, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'opskitTestInFlight' },
    );
    const source = randomStream(60 * MiB);
    const put = await store.put('multipart/reused.dump', source.stream);
    expect(seen.partSizes).toHaveLength(8);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(QUEUE_SIZE);
    expect(put).toMatchObject({ size: 60 * MiB, confirmed: expect.stringContaining('8 parts') });
    expect((await sha256Of(await store.get('multipart/reused.dump'))).sha256).toBe(source.sha256());
  }, 60_000);

  it('cuts as lib-storage does: one full part is one PutObject, two are two full parts, none is one empty object', async () => {
    const store = s3Store();
    const one = recordCommands(store.client);
    const single = randomStream(PART_SIZE);
    expect((await store.put('multipart/one.dump', single.stream)).confirmed).toBeDefined();
    expect(one.names).toEqual(['PutObjectCommand']);
    expect((await sha256Of(await store.get('multipart/one.dump'))).sha256).toBe(single.sha256());
    const other = s3Store();
    const two = recordCommands(other.client);
    const double = randomStream(2 * PART_SIZE);
    expect((await other.put('multipart/two.dump', double.stream)).confirmed).toBeDefined();
    expect(two.partSizes).toEqual([PART_SIZE, PART_SIZE]);
    expect((await sha256Of(await other.get('multipart/two.dump'))).sha256).toBe(double.sha256());
    // Nothing at all is one empty object, confirmed like any other.
    const third = s3Store();
    const none = recordCommands(third.client);
    expect(await third.put('multipart/empty.dump', Readable.from([]))).toMatchObject({
      size: 0,
      confirmed: expect.any(String),
    });
    expect(none.names).toEqual(['PutObjectCommand']);
    expect((await sha256Of(await third.get('multipart/empty.dump'))).size).toBe(0);
  }, 60_000);

  it('stops at a part the service refuses: no part after it is sent, those in flight settle, the upload is aborted', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && (args.input as { PartNumber?: number }).PartNumber === 3) {
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
            name: 'InternalError',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'opskitTestRefusePart' },
    );
    await expect(store.put('refused/db.dump', randomStream(100 * MiB).stream)).rejects.toThrow(
      `S3 upload to s3://${s3.bucket}/refused/db.dump failed: HTTP 500 InternalError`,
    );
    const parts = seen.inputs
      .filter((_, i) => seen.names[i] === 'UploadPartCommand')
      .map((x) => (x as { PartNumber: number }).PartNumber);
    // Parts already handed out when part 3 failed may still go (at most the queue), none far after it.
    expect(Math.max(...parts)).toBeLessThanOrEqual(3 + QUEUE_SIZE);
    expect(seen.names).toContain('AbortMultipartUploadCommand');
    expect(seen.names).not.toContain('CompleteMultipartUploadCommand');
    expect(await multipartUploads(store)).toEqual([]);
    expect(await store.exists('refused/db.dump')).toBe(false);
  }, 60_000);

  it('sends a small object as one PutObject', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    await store.put('multipart/small.dump', Readable.from([Buffer.from('tiny')]));
    expect(seen.names).toEqual(['PutObjectCommand']);
  });

  it('aborts the multipart upload when the source fails: no upload and no part is left', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    await expect(store.put('aborted/db.dump', randomStream(30 * MiB, { failAt: 17 * MiB }).stream)).rejects.toThrow(
      'pg_dump died half-way',
    );
    expect(seen.names).toContain('CreateMultipartUploadCommand');
    expect(seen.names).not.toContain('CompleteMultipartUploadCommand');
    const abort = seen.inputs[seen.names.indexOf('AbortMultipartUploadCommand')];
    expect(abort).toMatchObject({ Bucket: s3.bucket, Key: 'aborted/db.dump' });
    expect(await multipartUploads(store)).toEqual([]);
    expect(await store.list('aborted/')).toEqual([]);
  });

  it('aborts the multipart upload when the signal aborts mid-upload: the parts in flight settle first, none is left', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    const source = stallingStream(17 * MiB);
    const controller = new AbortController();
    const put = store.put('interrupted/db.dump', source.stream, { signal: controller.signal });
    put.catch(() => undefined);
    // Two 8 MiB parts are on their way and the third waits for bytes that never come.
    await until('two parts are sent', () => seen.names.filter((n) => n === 'UploadPartCommand').length >= 2);
    controller.abort(new Error('interrupted by SIGTERM'));
    await expect(settlesWithin(put, 10_000)).rejects.toThrow('interrupted by SIGTERM');
    expect(seen.names).toContain('AbortMultipartUploadCommand');
    expect(seen.names).not.toContain('CompleteMultipartUploadCommand');
    expect(await multipartUploads(store)).toEqual([]);
    expect(await store.exists('interrupted/db.dump')).toBe(false);
    expect(await filesUnder(path.join(s3.dir, s3.bucket, '._S3rver_uploads'))).toEqual([]);
  });

  it('says so when the server cannot abort a multipart upload, and the original error still wins', async () => {
    // s3rver as it is: AbortMultipartUpload is 405 MethodNotAllowed.
    const plain = await startS3({ multipartAbort: false });
    try {
      const logger = memoryLogger();
      const store = createS3Store({
        bucket: plain.bucket,
        endpoint: plain.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: plain.accessKeyId, secretAccessKey: plain.secretAccessKey },
        logger,
      });
      s3Stores.push(store);
      const seen = recordCommands(store.client);
      await expect(store.put('aborted/db.dump', randomStream(30 * MiB, { failAt: 17 * MiB }).stream)).rejects.toThrow(
        'pg_dump died half-way',
      );
      const abort = seen.inputs[seen.names.indexOf('AbortMultipartUploadCommand')];
      expect(logger.lines.join('\n')).toMatch(/abort of the multipart upload.*HTTP 405 MethodNotAllowed/);
      expect(logger.lines.join('\n')).toContain(`upload id ${String(abort!.UploadId)}`);
      expect(await store.list('aborted/')).toEqual([]);
    } finally {
      await plain.stop();
    }
  }, 30_000);

  it('sends nothing when the source fails before the first part is full', async () => {
    const store = s3Store();
    const seen = recordCommands(store.client);
    await expect(store.put('early/db.dump', randomStream(MiB, { failAt: 300_000 }).stream)).rejects.toThrow('half-way');
    expect(seen.names).toEqual([]);
  });

  it('follows ListObjectsV2 pagination', async () => {
    const store = s3Store({ listPageSize: 2 });
    for (const n of [1, 2, 3, 4, 5]) await store.put(`paged/${n}.dump`, Readable.from([Buffer.alloc(n)]));
    const seen = recordCommands(store.client);
    const listed = await store.list('paged/');
    expect(listed.map((o) => [o.key, o.size]).sort()).toEqual([1, 2, 3, 4, 5].map((n) => [`paged/${n}.dump`, n]));
    expect(seen.names.filter((n) => n === 'ListObjectsV2Command')).toHaveLength(3);
  });

  it('keeps keys relative to a root prefix', async () => {
    const store = s3Store({ prefix: '/team/db//' });
    await store.put('a.dump', Readable.from([Buffer.from('a')]));
    expect(store.uri('a.dump')).toBe(`s3://${s3.bucket}/team/db/a.dump`);
    expect(await store.list('')).toEqual([expect.objectContaining({ key: 'a.dump', size: 1 })]);
    expect(await s3Store().exists('team/db/a.dump')).toBe(true);
  });

  it('turns service errors into ExternalError with status and code, never the keys', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const store = s3Store({ credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secret } });
    const err = await store.list('').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as ExternalError).status).toBe(403);
    expect((err as Error).message).toMatch(/^S3 listing of s3:\/\/opskit-test\/ failed: HTTP 403 InvalidAccessKeyId: /);
    expect((err as Error).message).not.toContain(secret);
    expect((err as Error).message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    // HEAD answers have no body: the status still makes a message.
    const head = await store.exists('x').catch((e: unknown) => e);
    expect((head as Error).message).toBe(`S3 check of s3://${s3.bucket}/x failed: HTTP 403 Forbidden`);

    const noBucket = await s3Store({ bucket: 'no-such-bucket' })
      .list('')
      .catch((e: unknown) => e);
    expect((noBucket as Error).message).toMatch(/HTTP 404 NoSuchBucket: The specified bucket does not exist/);
  });

  it('fails clearly when nothing listens at the endpoint', async () => {
    const store = s3Store({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const err = await store.exists('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as Error).message).toMatch(/^S3 check of s3:\/\/opskit-test\/x failed: .*ECONNREFUSED/);
  });

  it('takes credentials from the standard AWS_* environment and defaults the region for an endpoint', async () => {
    const saved = Object.entries(process.env).filter(([k]) => k.startsWith('AWS_'));
    try {
      for (const [k] of saved) delete process.env[k];
      process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
      const store = s3Store({ credentials: undefined });
      expect(await store.client.config.region()).toBe('us-east-1');
      expect(await store.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      await store.put('env/creds.dump', Readable.from([Buffer.from('env')]));
      expect(await textOf(await store.get('env/creds.dump'))).toBe('env');
    } finally {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      for (const [k, v] of saved) process.env[k] = v;
    }
  });
});

describe('file store specifics', () => {
  let tmp: { path: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir('opskit-file-store-');
  });
  afterAll(() => tmp.cleanup());

  it('writes files only its owner can read, and no partial survives', async () => {
    const store = createFileStore(tmp.path);
    await store.put('perm/db.dump', Readable.from([Buffer.from('secret rows')]));
    if (process.platform !== 'win32') {
      expect((await stat(path.join(tmp.path, 'perm', 'db.dump'))).mode & 0o777).toBe(0o600);
    }
    expect(await readdir(path.join(tmp.path, 'perm'))).toEqual(['db.dump']);
  });

  it('removes its partial file when the signal aborts mid-write, and rejects with the reason', async () => {
    const store = createFileStore(path.join(tmp.path, 'abort'));
    const source = stallingStream(3 * MiB);
    const controller = new AbortController();
    const put = store.put('nightly/db.dump', source.stream, { signal: controller.signal });
    put.catch(() => undefined);
    await until('the partial file holds what was sent', async () => {
      const files = await filesUnder(path.join(tmp.path, 'abort'));
      if (files.length !== 1 || source.sent() < 3 * MiB) return false;
      return (await stat(path.join(tmp.path, 'abort', files[0]!))).size === 3 * MiB;
    });
    expect(await filesUnder(path.join(tmp.path, 'abort'))).toEqual([
      expect.stringMatching(/^nightly\/db\.dump\.partial-[0-9a-f]{12}$/),
    ]);
    controller.abort(new Error('interrupted by SIGTERM'));
    await expect(settlesWithin(put, 5_000)).rejects.toThrow('interrupted by SIGTERM');
    expect(await filesUnder(path.join(tmp.path, 'abort'))).toEqual([]);
  });

  it('does not list partial files or directories', async () => {
    const store = createFileStore(tmp.path);
    mkdirSync(path.join(tmp.path, 'partials', 'dir.dump'), { recursive: true });
    await writeFile(path.join(tmp.path, 'partials', 'x.dump.partial-0123456789ab'), 'half');
    await store.put('partials/done.dump', Readable.from([Buffer.from('whole')]));
    expect((await store.list('partials/')).map((o) => o.key)).toEqual(['partials/done.dump']);
    await expect(store.get('partials/dir.dump')).rejects.toThrow(/^backup not found: file:\/\//);
    expect(await store.exists('partials/dir.dump')).toBe(false);
  });

  it('refuses keys that would leave its root', async () => {
    const store = createFileStore(path.join(tmp.path, 'root'));
    for (const key of ['../escape.dump', 'a/../../escape.dump', '/etc/passwd', '']) {
      await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(ConfigurationError);
    }
    await expect(store.list('../')).rejects.toBeInstanceOf(ConfigurationError);
    expect(await filesUnder(tmp.path)).not.toContain('escape.dump');
  });

  it('gives a ConfigurationError when the root is a file', async () => {
    writeFileSync(path.join(tmp.path, 'plainfile'), 'x');
    const store = createFileStore(path.join(tmp.path, 'plainfile'));
    const err = await store.put('a.dump', Readable.from([Buffer.from('x')])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/^could not write file:\/\/\/.*plainfile\/a\.dump: (EEXIST|ENOTDIR)/);
  });
});

describe('parseDestinationSpec and openStore', () => {
  const ctx = { tempDir: os.tmpdir() };
  const s3opts: S3Settings = { endpoint: 'http://127.0.0.1:9', forcePathStyle: true };
  const parse = (raw: string, opts: S3Settings = s3opts) =>
    openStore(parseDestinationSpec('destination', raw, opts), ctx);

  it.each([
    ['s3://bucket/nightly', 's3', 'nightly/', 's3://bucket/nightly/'],
    ['s3://bucket/nightly/', 's3', 'nightly/', 's3://bucket/nightly/'],
    ['s3://bucket', 's3', '', 's3://bucket/'],
    ['s3://bucket/', 's3', '', 's3://bucket/'],
    ['  S3://my.bucket-1//a//b  ', 's3', 'a/b/', 's3://my.bucket-1/a/b/'],
    ['file:///var/backups/db', 'file', '', path.resolve('/var/backups/db')],
    ['/var/backups/db', 'file', '', path.resolve('/var/backups/db')],
    ['backups/db', 'file', '', path.resolve('backups/db')],
    ['./backups', 'file', '', path.resolve('backups')],
    ['~/backups', 'file', '', path.join(os.homedir(), 'backups')],
  ])('accepts %j', (raw, kind, prefix, display) => {
    const d = parse(raw);
    expect(d.store.kind).toBe(kind);
    expect(d.prefix).toBe(prefix);
    expect(d.display).toBe(display);
  });

  it('puts s3 objects under the prefix and file objects under the directory', () => {
    const s = parse('s3://bucket/nightly');
    expect(s.store.uri(joinKey(s.prefix, 'db.dump'))).toBe('s3://bucket/nightly/db.dump');
    const f = parse('/var/backups');
    expect(f.store.uri(joinKey(f.prefix, 'db.dump'))).toBe('file:///var/backups/db.dump');
    const e = parse('file:///srv/my%20backups');
    expect(e.display).toBe('/srv/my backups');
    expect(e.store.uri('a.dump')).toBe('file:///srv/my%20backups/a.dump');
  });

  it.each([
    ['', /expected a local directory, file:\/\/\/absolute\/dir, s3:\/\/bucket\/prefix or artifact, got ''$/],
    ['   ', /got ''$/],
    ['gs://bucket/x', /'gs:\/\/' is not a supported destination/],
    ['https://example.com/backups', /'https:\/\/' is not a supported destination/],
    ['ftp://host/dir', /'ftp:\/\/' is not a supported destination/],
    ['azure:container', /'azure:' is not a supported destination/],
    ['s3://', /names no bucket/],
    ['s3:///nightly', /names no bucket/],
    ['s3:/bucket/x', /write s3:\/\/bucket\/prefix/],
    ['s3://b/x', /'b' is not a valid bucket name/],
    ['s3://bucket/../x', /\. or \.\. segments/],
    ['s3://bucket/x?versionId=1', /takes no \? or #/],
    ['file://server/share', /three slashes/],
    ['file:relative', /three slashes/],
    ['artifact://', /artifact or artifact:\/\/<name>/],
    ['artifact://a/../b', /\. or \.\. segments/],
  ])('rejects %j naming the input', (raw, why) => {
    let err: unknown;
    try {
      parse(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/^input 'destination': /);
    expect((err as Error).message).toMatch(why);
  });

  it('rejects a path that is a file', async () => {
    const tmp = await tempDir();
    try {
      writeFileSync(path.join(tmp.path, 'f'), 'x');
      expect(() => parse(path.join(tmp.path, 'f'))).toThrow(/exists and is not a directory/);
    } finally {
      await tmp.cleanup();
    }
  });

  it('never shows credentials: not in URIs, not in display, not in errors', () => {
    const credentials = {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    };
    const d = parse('s3://bucket/nightly', { ...s3opts, credentials });
    for (const shown of [d.display, d.store.uri(joinKey(d.prefix, 'db.dump'))]) {
      expect(shown).not.toContain(credentials.accessKeyId);
      expect(shown).not.toContain(credentials.secretAccessKey);
    }
    const err = (() => {
      try {
        parse('s3://AKIAIOSFODNN7EXAMPLE:supersecret@bucket/x');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err?.message).toContain('credentials do not belong in the destination');
    expect(err?.message).toContain("got 's3://***@bucket/x'");
    expect(err?.message).not.toContain('supersecret');
    expect(err?.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('accepts artifact only inside GitHub Actions', () => {
    const saved = process.env.ACTIONS_RUNTIME_TOKEN;
    try {
      delete process.env.ACTIONS_RUNTIME_TOKEN;
      expect(() => parse('artifact')).toThrow(new ConfigurationError(ARTIFACT_UNAVAILABLE));
      expect(ARTIFACT_UNAVAILABLE).toBe(
        "destination 'artifact' only works inside a GitHub Actions job (ACTIONS_RUNTIME_TOKEN is not set); use a path or s3:// URL",
      );
      process.env.ACTIONS_RUNTIME_TOKEN = 'test-token';
      const d = parse('artifact');
      expect(d.store.kind).toBe('artifact');
      expect(d.prefix).toBe('');
      expect(d.display).toBe('artifact');
      expect(d.store.uri('db.dump')).toBe('artifact://backup/db.dump');
      expect(parse('artifact://db-backup').store.uri('x.dump')).toBe('artifact://db-backup/x.dump');
      // An artifact URI's folder parses back to the same store and prefix (what db-restore does).
      const folder = parse('artifact://backup/nightly/');
      expect(folder.prefix).toBe('nightly/');
      expect(folder.display).toBe('artifact://backup/nightly/');
      expect(folder.store.uri(joinKey(folder.prefix, 'db.dump'))).toBe('artifact://backup/nightly/db.dump');
    } finally {
      if (saved === undefined) delete process.env.ACTIONS_RUNTIME_TOKEN;
      else process.env.ACTIONS_RUNTIME_TOKEN = saved;
    }
  });

  it('joins keys with exactly one slash', () => {
    expect(joinKey('', 'db.dump')).toBe('db.dump');
    expect(joinKey('nightly/', 'db.dump')).toBe('nightly/db.dump');
    expect(joinKey('nightly', '/db.dump')).toBe('nightly/db.dump');
    expect(joinKey('a/b//', 'c/d.dump')).toBe('a/b/c/d.dump');
  });
});

describe('artifact store', () => {
  it('derives valid artifact names from keys', () => {
    expect(artifactName('backup', 'nightly/app-2024-05-01T02:00:00Z.dump.gz')).toBe(
      'backup-nightly-app-2024-05-01T02-00-00Z.dump.gz',
    );
    expect(artifactName('backup', 'we"ird<>|*?\\name\r\n\u0001.dump')).toBe('backup-we_ird______name___.dump');
    const once = artifactName('db', 'a/b:c?d');
    expect(artifactName('db', once.slice('db-'.length))).toBe(once); // idempotent, so listed keys round-trip
    for (const ch of ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/']) {
      expect(artifactName('x', `k${ch}k`)).not.toContain(ch);
    }
  });

  it('stages, uploads raw and reads back through the artifact API (fake client)', async () => {
    const tmp = await tempDir();
    const artifacts = new Map<string, { id: number; bytes: Buffer }>();
    let nextId = 1;
    const client: ArtifactApi = {
      async uploadArtifact(name, files, _root, options) {
        expect(options?.skipArchive).toBe(true);
        expect(path.basename(files[0]!)).toBe(name);
        const { readFile } = await import('node:fs/promises');
        artifacts.set(name, { id: nextId++, bytes: await readFile(files[0]!) });
        return { id: nextId - 1, size: artifacts.get(name)!.bytes.length };
      },
      async listArtifacts() {
        return {
          artifacts: [...artifacts].map(([name, a]) => ({
            name,
            id: a.id,
            size: a.bytes.length,
            createdAt: new Date(),
          })),
        };
      },
      async downloadArtifact(id, options) {
        const [name, a] = [...artifacts].find(([, x]) => x.id === id)!;
        writeFileSync(path.join(options!.path!, name), a.bytes);
        return { downloadPath: options!.path };
      },
      async deleteArtifact(name) {
        const a = artifacts.get(name)!;
        artifacts.delete(name);
        return { id: a.id };
      },
    };
    try {
      const store = createArtifactStore({ name: 'backup', tempDir: tmp.path, client, env: {} });
      const source = randomStream(3 * MiB);
      expect(await store.put('nightly/db.dump', source.stream)).toEqual({ size: 3 * MiB });
      expect([...artifacts.keys()]).toEqual(['backup-nightly-db.dump']);
      expect((await sha256Of(await store.get('nightly/db.dump'))).sha256).toBe(source.sha256());
      await store.put('nightly/db.dump', Readable.from([Buffer.from('again')])); // replaces
      expect(await store.list('nightly/')).toEqual([expect.objectContaining({ key: 'nightly-db.dump', size: 5 })]);
      expect(await store.exists('nightly-db.dump')).toBe(true);
      await store.delete('nightly/db.dump');
      expect(await store.exists('nightly/db.dump')).toBe(false);
      await expect(store.get('nightly/db.dump')).rejects.toThrow('backup not found: artifact://backup/nightly/db.dump');
      // Staging is cleaned up (the download's once its stream has closed).
      for (let i = 0; i < 50 && (await filesUnder(tmp.path)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await filesUnder(tmp.path)).toEqual([]);
    } finally {
      await tmp.cleanup();
    }
  });
});
