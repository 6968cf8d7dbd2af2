/**
 * Reads an archive back from its store into a local file (or directory for the directory format),
 * checking the stored bytes' sha256 and every compression checksum on the way. Nothing else runs
 * until this has succeeded, so a truncated or altered backup is refused before it can touch a database.
 * A custom archive is walked while it is written (archive-index.ts: its data offsets, rows per table);
 * the offsets go into the temp copy only after the sha256 has matched.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExternalError } from '../errors.js';
import { type ArchiveIndex, type ArchiveWalker, followArchive } from '../postgres/archive-index.js';
import type { Store } from '../storage/types.js';
import { killChild, spawnTool } from '../util/child.js';
import { interruption } from '../util/signals.js';
import { type ReadArchive, readArchive } from './archive.js';
import type { DecryptionKeys } from './encryption.js';
import type { BackupManifest } from './manifest.js';

export interface LocalArchive {
  /** A file (custom, plain, rdb) or a directory (directory format). */
  path: string;
  /** Custom format: its data offsets (written into its TOC) and rows per table (archive-index.ts). */
  index?: ArchiveIndex;
  cleanup(): Promise<void>;
}

export async function materializeArchive(
  source: { store: Store; key: string },
  manifest: Pick<BackupManifest, 'compression' | 'encryption' | 'format' | 'sha256'>,
  keys: DecryptionKeys,
  tempDir: string,
  /** Aborting stops the read and removes the temp copy (the rejection is then the signal's reason). */
  signal?: AbortSignal,
): Promise<LocalArchive> {
  const dir = await mkdtemp(path.join(tempDir, 'opskit-archive-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  let walking: Promise<ArchiveWalker> | undefined;
  try {
    const options = { compression: manifest.compression, encryption: manifest.encryption, keys, signal };
    let target: string;
    let read: ReadArchive;
    if (manifest.format === 'directory') {
      target = path.join(dir, 'dump');
      await mkdir(target);
      const tar = spawnTool('tar', ['-xf', '-', '-C', target], { stdin: 'pipe', stdout: 'ignore', signal });
      read = await readArchive(source, options, tar.stdin).catch((err) => {
        killChild(tar);
        throw err;
      });
      await Promise.all([read.done, tar.done]);
    } else {
      // The decompressor writes the file itself (no copy through Node when it is a command).
      target = path.join(dir, `archive.${manifest.format}`);
      const fd = openSync(target, 'wx', 0o600);
      read = await readArchive(source, options, fd).catch((err) => {
        closeSync(fd);
        throw err;
      });
      // A custom archive is walked (offsets, rows) as it is decompressed, not read again after.
      if (manifest.format === 'custom') walking = followArchive(target, read.done);
      await read.done;
    }
    const stored = await read.stored;
    if (stored.sha256 !== manifest.sha256) {
      throw new Mismatch(
        `the backup at ${source.store.uri(source.key)} does not match its manifest (sha256 ${stored.sha256.slice(0, 12)}…, manifest says ${manifest.sha256.slice(0, 12)}…): it was altered or truncated; nothing was restored`,
      );
    }
    // Only now, with the bytes proven, is the temp copy touched: its TOC gets the data offsets.
    const index = (await walking)?.apply();
    return { path: target, index, cleanup };
  } catch (err) {
    await walking?.then((w) => w.close()).catch(() => undefined);
    await cleanup();
    const stop = interruption(signal);
    if (stop) throw stop;
    if (err instanceof Mismatch || (err instanceof Error && err.name === 'ConfigurationError')) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ExternalError(
      `the backup at ${source.store.uri(source.key)} cannot be read back (${message}): it is truncated or corrupted; nothing was restored`,
    );
  }
}

class Mismatch extends ExternalError {}
