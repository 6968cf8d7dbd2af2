/**
 * Reads an archive back from its store into a local file (or directory for the directory format),
 * checking the stored bytes' sha256 and every compression checksum on the way. Nothing else runs
 * until this has succeeded, so a truncated or altered backup is refused before it can touch a database.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExternalError } from '../errors.js';
import type { Store } from '../storage/types.js';
import { spawnTool } from '../util/child.js';
import { readArchive } from './archive.js';
import type { DecryptionKeys } from './encryption.js';
import type { BackupManifest } from './manifest.js';

export interface LocalArchive {
  /** A file (custom, plain, rdb) or a directory (directory format). */
  path: string;
  cleanup(): Promise<void>;
}

export async function materializeArchive(
  source: { store: Store; key: string },
  manifest: Pick<BackupManifest, 'compression' | 'encryption' | 'format' | 'sha256'>,
  keys: DecryptionKeys,
  tempDir: string,
): Promise<LocalArchive> {
  const dir = await mkdtemp(path.join(tempDir, 'opskit-archive-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const read = await readArchive(source, {
      compression: manifest.compression,
      encryption: manifest.encryption,
      keys,
    });
    let target: string;
    if (manifest.format === 'directory') {
      target = path.join(dir, 'dump');
      await mkdir(target);
      const tar = spawnTool('tar', ['-xf', '-', '-C', target], { stdin: 'pipe', stdout: 'ignore' });
      await Promise.all([pipeline(read.stream, tar.stdin), tar.done]);
    } else {
      target = path.join(dir, `archive.${manifest.format}`);
      await pipeline(read.stream, createWriteStream(target));
    }
    const stored = await read.stored;
    if (stored.sha256 !== manifest.sha256) {
      throw new ExternalError(
        `the backup at ${source.store.uri(source.key)} does not match its manifest (sha256 ${stored.sha256.slice(0, 12)}…, manifest says ${manifest.sha256.slice(0, 12)}…): it was altered or truncated; nothing was restored`,
      );
    }
    return { path: target, cleanup };
  } catch (err) {
    await cleanup();
    if (err instanceof ExternalError || (err instanceof Error && err.name === 'ConfigurationError')) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ExternalError(
      `the backup at ${source.store.uri(source.key)} cannot be read back (${message}): it is truncated or corrupted; nothing was restored`,
    );
  }
}
