/**
 * A Redis backup restored to a data directory (guide 000 "Redis Backups"): the archive is read back (decrypted,
 * decompressed, its sha256 checked against the manifest), the RDB is checked by redis-check-rdb, its keys are
 * counted by loading it into a throwaway redis-server and compared with the manifest, and only then is it put in
 * place as `<directory>/dump.rdb` (a rename, never over an existing file), for a redis-server started on that
 * directory to load. Nothing is written to the directory when any check fails.
 */
import { copyFile, constants, link, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { countRdbKeys } from '../redis/rdb-keys.js';
import { checkRdb } from '../redis/redis.js';
import type { DecryptionKeys } from './encryption.js';
import type { LocatedBackup } from './locate.js';
import { materializeArchive } from './materialize.js';

export interface RdbRestoreOptions {
  backup: LocatedBackup;
  /** The Redis data directory (`dir` in redis.conf); created when missing. */
  directory: string;
  keys: DecryptionKeys;
  tempDir: string;
  signal?: AbortSignal;
  logger: Logger;
}

export interface RdbRestoreResult {
  restoredFrom: string;
  /** The RDB file written. */
  file: string;
  /** Keys per database in the restored file, when redis-server could count them. */
  keys?: Record<string, number>;
  matchesManifest: boolean;
  differences: string[];
  durationSeconds: number;
}

export async function restoreRdb(o: RdbRestoreOptions): Promise<RdbRestoreResult> {
  const t0 = performance.now();
  const { store, archiveKey, manifest } = o.backup;
  const restoredFrom = store.uri(archiveKey);
  const file = path.join(o.directory, 'dump.rdb');
  if (await exists(file))
    throw new ConfigurationError(
      `input 'target-directory': ${file} already exists; a restore never overwrites an RDB file: stop Redis and move it away, or give an empty directory`,
    );
  const local = await materializeArchive({ store, key: archiveKey }, manifest, o.keys, o.tempDir, o.signal);
  try {
    await checkRdb(local.path);
    o.logger.info(`${restoredFrom}: redis-check-rdb passed`);
    const keys = await countRdbKeys(local.path);
    const differences = keys === undefined ? [] : compareKeys(keys, manifest.tables);
    if (keys === undefined) o.logger.warning('redis-server is not installed: the key counts were not compared');
    if (differences.length === 0) {
      await mkdir(o.directory, { recursive: true });
      // A hard link, then the temp copy goes: the file appears whole or not at all, and never replaces one.
      await link(local.path, file).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        await copyFile(local.path, file, constants.COPYFILE_EXCL);
      });
      o.logger.info(`restored ${restoredFrom} to ${file}`);
    }
    return {
      restoredFrom,
      file,
      keys,
      matchesManifest: differences.length === 0,
      differences,
      durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    await local.cleanup();
  }
}

/** `db0: 10 keys, expected 12` for each database whose count differs from the manifest's. */
export function compareKeys(actual: Record<string, number>, expected: Record<string, number>): string[] {
  const names = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  return names
    .filter((db) => (actual[db] ?? 0) !== (expected[db] ?? 0))
    .map((db) => `${db}: ${actual[db] ?? 0} keys, expected ${expected[db] ?? 0}`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
