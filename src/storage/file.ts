/**
 * A directory as a Store. Objects are files under the root; a key's `/` separators are
 * directories. Writes are atomic: the bytes go to `<key>.partial-<random>`, are fsynced, and only
 * then renamed onto the key, so a reader never sees half a backup and a failed write leaves
 * nothing but what was there before.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ConfigurationError, ExternalError } from '../errors.js';
import { abortReason, type IncompleteWrite, type PutOptions, type Store, type StoredObject } from './types.js';

/** Files mid-write: `<name>.partial-<12 hex>`. Never listed, never returned. */
const PARTIAL = /\.partial-[0-9a-f]{12}$/;

export interface FileStore extends Store {
  readonly kind: 'file';
  /** The absolute root directory. */
  readonly root: string;
}

export function createFileStore(rootDir: string): FileStore {
  const root = path.resolve(rootDir);

  /** The absolute path of a key, refusing keys that would leave the root. */
  function pathOf(key: string, { allowEmpty = false } = {}): string {
    if (!allowEmpty && (key === '' || key.endsWith('/'))) {
      throw new ConfigurationError(`invalid backup key '${key}': it must name a file`);
    }
    const parts = key.split('/').filter((p) => p !== '');
    if (key.startsWith('/') || key.includes('\\') || key.includes('\0') || parts.some((p) => p === '.' || p === '..')) {
      throw new ConfigurationError(`invalid backup key '${key}': it must be a relative path without . or .. segments`);
    }
    return path.join(root, ...parts);
  }

  function uri(key: string): string {
    return pathToFileURL(path.join(root, ...key.split('/').filter((p) => p !== ''))).href;
  }

  async function put(key: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
    const target = pathOf(key);
    const { signal } = options;
    if (signal?.aborted) {
      if (!body.destroyed) body.destroy();
      throw abortReason(signal);
    }
    const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
    let handle: FileHandle | undefined;
    let size = 0;
    // An abort ends the source, which ends the loop below: the partial file is then removed like after any failure.
    const stop = () => body.destroy(abortReason(signal!));
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await mkdir(path.dirname(target), { recursive: true });
      // 0600: a database dump is as secret as the database.
      handle = await open(partial, 'wx', 0o600);
    } catch (err) {
      throw fsError(err, `could not write ${uri(key)}`);
    }
    try {
      // Iterating the source ourselves keeps its errors apart from the disk's: a source error is
      // rethrown as it came, a disk error becomes a message naming the file.
      const iterator = body[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const chunk: Buffer = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        try {
          await writeAll(handle, chunk);
        } catch (err) {
          await iterator.return?.();
          throw new WriteFailure(err);
        }
        size += chunk.length;
      }
      if (signal?.aborted) throw abortReason(signal);
      try {
        await handle.sync();
        await handle.close();
        handle = undefined;
        if (signal?.aborted) throw abortReason(signal);
        await rename(partial, target);
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        throw new WriteFailure(err);
      }
    } catch (err) {
      await handle?.close().catch(() => {});
      await rm(partial, { force: true }).catch(() => {});
      if (!body.destroyed) body.destroy();
      if (signal?.aborted) throw abortReason(signal);
      if (err instanceof WriteFailure) throw fsError(err.cause, `could not write ${uri(key)}`);
      throw err;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    await syncDirectory(path.dirname(target));
    return { size };
  }

  async function get(key: string): Promise<Readable> {
    const file = pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw notFound(uri(key));
      throw fsError(err, `could not read ${uri(key)}`);
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw notFound(uri(key));
    }
    // 1 MiB reads: the read-back hashes every byte, and 64 KiB chunks cost it twice the time.
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async function list(prefix: string): Promise<StoredObject[]> {
    return walkFiles(prefix, false);
  }

  async function listIncomplete(prefix: string): Promise<IncompleteWrite[]> {
    return (await walkFiles(prefix, true)).map((o) => ({
      key: o.key.replace(PARTIAL, ''),
      id: o.key,
      since: o.lastModified,
    }));
  }

  async function removeIncomplete(write: IncompleteWrite): Promise<void> {
    if (!PARTIAL.test(write.id)) throw new Error(`${write.id} is not a partial file`);
    try {
      await rm(pathOf(write.id), { force: true });
    } catch (err) {
      throw fsError(err, `could not delete ${uri(write.id)}`);
    }
  }

  /** The files under `prefix`: the complete ones, or (`partials`) only those mid-write. */
  async function walkFiles(prefix: string, partials: boolean): Promise<StoredObject[]> {
    // Walk only the deepest directory the prefix names, then filter by the whole prefix.
    const dirKey = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const start = pathOf(dirKey, { allowEmpty: true });
    const out: StoredObject[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw fsError(err, `could not list ${pathToFileURL(dir).href}`);
      }
      for (const entry of entries) {
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, entry.name), `${key}/`);
        } else if (entry.isFile() && PARTIAL.test(entry.name) === partials && key.startsWith(prefix)) {
          try {
            const info = await stat(path.join(dir, entry.name));
            out.push({ key, size: info.size, lastModified: info.mtime });
          } catch (err) {
            if (!isMissing(err)) throw err; // deleted while we listed
          }
        }
      }
    };
    await walk(start, dirKey);
    return out;
  }

  async function remove(key: string): Promise<void> {
    try {
      await rm(pathOf(key), { force: true });
    } catch (err) {
      throw fsError(err, `could not delete ${uri(key)}`);
    }
  }

  async function exists(key: string): Promise<boolean> {
    try {
      return (await stat(pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw fsError(err, `could not check ${uri(key)}`);
    }
  }

  return {
    kind: 'file',
    root,
    uri,
    put,
    get,
    localPath: (key) => pathOf(key),
    list,
    listIncomplete,
    removeIncomplete,
    delete: remove,
    exists,
  };
}

/** The error every store gives for a missing object: names the URI, status 404. */
export function notFound(uri: string): ExternalError {
  return new ExternalError(`backup not found: ${uri}`, 404);
}

class WriteFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('write failed');
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Makes the rename durable. Best effort: some platforms (Windows) cannot open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // not supported here; the data itself is already synced
  } finally {
    await handle?.close().catch(() => {});
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** A filesystem error as a user-facing one: what we tried, and what the system said. */
function fsError(err: unknown, what: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return err instanceof Error ? err : new Error(String(err));
  const message = `${what}: ${e.message || e.code}`;
  // Permission problems and a file where a directory should be are the user's to fix.
  if (['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'EISDIR'].includes(e.code)) {
    return new ConfigurationError(message);
  }
  return new ExternalError(message);
}
