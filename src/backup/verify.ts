/**
 * Verification of a backup that was just written:
 * - checksum: read the stored object back and compare its sha256 with what was uploaded;
 * - full: also decrypt, decompress and read every block (pg_restore to /dev/null, redis-check-rdb), streamed;
 * - restore: restore into a scratch database and compare per-table row counts (see backup.ts).
 */
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExternalError } from '../errors.js';
import type { PgClient } from '../postgres/client.js';
import type { Store } from '../storage/types.js';
import { spawnTool, stdinSink } from '../util/child.js';
import { readArchive } from './archive.js';
import type { DecryptionKeys } from './encryption.js';
import { HashingStream } from './hashing.js';
import type { BackupManifest } from './manifest.js';

export type VerifyMode = 'checksum' | 'full' | 'restore';

export async function verifyChecksum(store: Store, key: string, sha256: string): Promise<void> {
  const hasher = new HashingStream();
  await pipeline(await store.get(key), hasher, devNull());
  const got = hasher.digest();
  if (got !== sha256) {
    throw new ExternalError(
      `verification failed: ${store.uri(key)} reads back with sha256 ${got.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…`,
    );
  }
}

/** Streams the archive back through decryption and decompression into a reader that checks every block. */
export async function verifyFull(
  store: Store,
  key: string,
  manifest: Pick<BackupManifest, 'compression' | 'encryption' | 'format' | 'sha256'>,
  keys: DecryptionKeys,
  pgClient?: PgClient,
): Promise<void> {
  const read = await readArchive(
    { store, key },
    { compression: manifest.compression, encryption: manifest.encryption, keys },
  );
  try {
    // pg_restore and tar may exit once they have read the last block; the rest still flows into the
    // sha256 check below (stdinSink drops what a closed stdin cannot take).
    const feed = (tool: { stdin: Writable; done: Promise<void> }) =>
      Promise.all([pipeline(read.stream, stdinSink(tool.stdin)), tool.done]);
    if (manifest.format === 'custom') {
      const tool = spawnTool(pgClient!.bin('pg_restore'), ['--file=/dev/null'], {
        env: { ...process.env, ...pgClient!.env },
        stdin: 'pipe',
        stdout: 'ignore',
      });
      await feed(tool);
    } else if (manifest.format === 'directory') {
      const tool = spawnTool('tar', ['-tf', '-'], { stdin: 'pipe', stdout: 'ignore' });
      await feed(tool);
    } else if (manifest.format === 'plain') {
      let tail = '';
      const keepTail = new Transform({
        transform(chunk: Buffer, _e, done) {
          tail = (tail + chunk.toString('latin1')).slice(-4096);
          done();
        },
      });
      await pipeline(read.stream, keepTail, devNull());
      if (!tail.includes('PostgreSQL database dump complete'))
        throw new Error('the SQL dump lacks its "dump complete" trailer');
    } else {
      await pipeline(read.stream, devNull());
    }
    const stored = await read.stored;
    if (stored.sha256 !== manifest.sha256)
      throw new Error(`sha256 ${stored.sha256.slice(0, 12)}… differs from ${manifest.sha256.slice(0, 12)}…`);
  } catch (err) {
    if (err instanceof Error && err.name === 'ConfigurationError') throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ExternalError(`verification failed: ${store.uri(key)} does not read back whole (${message})`);
  }
}

function devNull(): Writable {
  return new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
}
