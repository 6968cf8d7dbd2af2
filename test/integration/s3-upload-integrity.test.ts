/**
 * The S3 store says when the service confirmed, on upload, the bytes it received (every part's ETag is the MD5
 * of our bytes of that part), and db-backup then skips reading the archive back. Against s3rver, which returns
 * MD5 ETags and no flexible checksums: damage on the way is still caught (the ETag differs, the object is read
 * back, its sha256 differs), and a service whose ETags are not MD5s (SSE-KMS) gets the read-back as before.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { memoryLogger } from '../../src/logger.js';
import { PART_SIZE, type S3Store, createS3Store } from '../../src/storage/s3.js';
import { PartDigests, confirmation } from '../../src/storage/s3-integrity.js';
import type { Store } from '../../src/storage/types.js';
import { type PgServer, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';
import { pgBackup } from '../harness/backup.js';

let pg: PgServer;
let plain: S3Server;
let flipping: S3Server;
let opaque: S3Server;
let dir: Awaited<ReturnType<typeof tempDir>>;
const stores: S3Store[] = [];

beforeAll(async () => {
  [pg, plain, flipping, opaque, dir] = await Promise.all([
    startPostgres(),
    startS3(),
    startS3({ tamper: 'flip-upload' }),
    startS3({ tamper: 'opaque-etag' }),
    tempDir('opskit-s3-integrity-'),
  ]);
  await seedSampleSchema(pg, 'app', { scale: 1 });
}, 120_000);

afterAll(async () => {
  for (const s of stores) s.close();
  await Promise.all([pg?.stop(), plain?.stop(), flipping?.stop(), opaque?.stop(), dir?.cleanup()]);
});

function storeOn(s3: S3Server): S3Store {
  const store = createS3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  stores.push(store);
  return store;
}

/** The store, counting the reads of its objects (the read-back is one). */
function counted(store: S3Store): { store: Store; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    store: {
      ...store,
      get: (key: string) => {
        reads.push(key);
        return store.get(key);
      },
    },
  };
}

const body = (bytes: Buffer) => Readable.from([bytes.subarray(0, 5_000_000), bytes.subarray(5_000_000)]);

describe('S3 put: what the service confirms', () => {
  it('is confirmed for a multipart upload (3 parts) and a single-request one against s3rver', async () => {
    const store = storeOn(plain);
    const big = randomBytes(2 * PART_SIZE + 12345);
    const multi = await store.put('integrity/multi.bin', body(big));
    expect(multi.size).toBe(big.length);
    expect(multi.confirmed).toMatch(/for each of the 3 parts, the MD5 of the bytes it received/);
    const small = await store.put('integrity/small.bin', Readable.from([Buffer.from('hello')]));
    expect(small.confirmed).toMatch(/MD5 of the bytes it received \(ETag\), equal to ours/);
  }, 60_000);

  it('sends the parts with an unsigned payload (their check is the ETag), and other requests signed', async () => {
    const store = storeOn(plain);
    const hashes: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        hashes.push(`${context.commandName} ${headers['x-amz-content-sha256']}`);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'testPayloadHashes' },
    );
    await store.put('integrity/unsigned.bin', body(randomBytes(PART_SIZE + 1)));
    expect(await store.exists('integrity/unsigned.bin')).toBe(true);
    expect(hashes.filter((h) => h.startsWith('UploadPartCommand'))).toEqual([
      'UploadPartCommand UNSIGNED-PAYLOAD',
      'UploadPartCommand UNSIGNED-PAYLOAD',
    ]);
    expect(hashes.find((h) => h.startsWith('HeadObjectCommand'))).toMatch(/^HeadObjectCommand [0-9a-f]{64}$/);
  }, 60_000);

  it('is not confirmed when a part arrives damaged, nor when the ETags are not MD5s', async () => {
    const big = randomBytes(PART_SIZE + 999);
    expect((await storeOn(flipping).put('integrity/flipped.bin', body(big))).confirmed).toBeUndefined();
    expect((await storeOn(opaque).put('integrity/opaque.bin', body(big))).confirmed).toBeUndefined();
  }, 60_000);

  it('cuts parts where lib-storage does, and wants parts 1…N in order with the same ETags', () => {
    const d = new PartDigests(4);
    d.update(Buffer.from('abc'));
    d.update(Buffer.from('defghij'));
    d.update(Buffer.from('k'));
    const md5s = d.finish();
    expect(md5s).toHaveLength(3); // abcd efgh ijk
    const parts = new Map(md5s.map((m, i) => [i + 1, m]));
    const completed = md5s.map((etag, i) => ({ partNumber: i + 1, etag }));
    expect(confirmation(md5s, { parts, completed }).confirmed).toBeDefined();
    expect(confirmation(md5s, { parts, completed: [completed[1]!, completed[0]!, completed[2]!] }).why).toMatch(
      /part 1 is not where it belongs/,
    );
    expect(confirmation(md5s, { parts, completed: completed.slice(0, 2) }).why).toMatch(/2 parts were assembled, 3/);
    // An exact multiple of the part size ends with a full part, as lib-storage's does (no empty part).
    const even = new PartDigests(4);
    even.update(Buffer.from('abcdefgh'));
    expect(even.finish()).toHaveLength(2);
  });
});

describe('db-backup to S3: the read-back', () => {
  const run = (store: Store, name: string, logger = memoryLogger()) =>
    pgBackup({
      url: pg.url('app'),
      store,
      prefix: 'db/',
      nameTemplate: name,
      verify: 'full',
      tempDir: dir.path,
      logger,
    });

  it('is skipped when s3rver confirmed every byte on upload', async () => {
    const { store, reads } = counted(storeOn(plain));
    const logger = memoryLogger();
    const result = await run(store, 'confirmed', logger);
    expect(reads).toEqual([]);
    expect(logger.lines.join('\n')).toMatch(/not read back: the service returned/);
    expect(logger.lines.join('\n')).toMatch(/verified \(full; stored bytes confirmed by the store\)/);
    expect(result.manifest.sizeBytes).toBeGreaterThan(0);
  }, 60_000);

  it('still catches an archive damaged on the way: read back, refused, removed, no manifest', async () => {
    const raw = storeOn(flipping);
    const { store, reads } = counted(raw);
    const logger = memoryLogger();
    await expect(run(store, 'damaged', logger)).rejects.toThrow(
      /verification failed: .*damaged\.dump\.zst reads back with sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/,
    );
    expect(reads).toEqual(['db/damaged.dump.zst']);
    expect((await raw.list('db/')).map((o) => o.key)).toEqual([]);
    expect(logger.lines.join('\n')).toContain('failed verification and was removed');
  }, 60_000);

  it('falls back to reading the archive back when the ETags are not MD5s', async () => {
    const { store, reads } = counted(storeOn(opaque));
    const logger = memoryLogger();
    await run(store, 'opaque', logger);
    expect(reads).toEqual(['db/opaque.dump.zst']);
    expect(logger.lines.join('\n')).toMatch(/verified \(full; stored bytes read back\)/);
  }, 60_000);
});
