/**
 * Verification of a backup that was just written:
 * - checksum: read the stored object back and compare its sha256 with what was written, unless the store
 *   confirmed on upload that it received exactly those bytes (S3's per-part MD5 ETags, s3-integrity.ts);
 * - full: also decode every block and read it with the format's reader (pg_restore, tar, the plain
 *   dump's trailer, redis-check-rdb); for PostgreSQL that runs while the backup is written (check.ts);
 * - restore: restore into a scratch database and compare per-table row counts (see backup.ts).
 */
import { pipeline } from 'node:stream/promises';
import { ExternalError } from '../errors.js';
import type { Store } from '../storage/types.js';
import { devNull } from './check.js';
import { HashingStream, hashFile } from './hashing.js';

export type VerifyMode = 'checksum' | 'full' | 'restore';

/**
 * Reads the stored object back and compares its sha256, unless the store confirmed on upload that it received
 * exactly the bytes that were hashed (`confirmed`, from Store.put: S3's per-part MD5 ETags; s3-integrity.ts).
 * Returns how the stored bytes were checked.
 */
export async function verifyChecksum(
  store: Store,
  key: string,
  sha256: string,
  signal?: AbortSignal,
  confirmed?: string,
): Promise<'confirmed by the store' | 'read back'> {
  if (confirmed) return 'confirmed by the store';
  const local = store.localPath?.(key);
  let got: string;
  if (local) {
    got = (await hashFile(local)).sha256;
  } else {
    const hasher = new HashingStream();
    await pipeline(await store.get(key), hasher, devNull(), signal ? { signal } : {});
    got = hasher.digest();
  }
  if (got !== sha256) {
    throw new ExternalError(
      `verification failed: ${store.uri(key)} reads back with sha256 ${got.slice(0, 12)}…, expected ${sha256.slice(0, 12)}…`,
    );
  }
  return 'read back';
}
