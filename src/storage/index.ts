/**
 * The `destination` input → a Store and the key prefix under which objects go.
 *
 * Accepted: `s3://bucket[/prefix]`, `file:///absolute/dir`, a local path (absolute, relative to the
 * working directory, or `~/…`), and `artifact` (or `artifact://<name>[/prefix]`, the form artifact URIs take).
 *
 * The S3 store's module, and with it the AWS SDK (megabytes of code that take about 100 ms to load),
 * is only imported when an s3:// destination's store is first used: nothing here imports ./s3.js
 * but as a type or with `import()`, so the bundles of actions that write to a path or an artifact
 * never load the SDK (ncc puts it in a chunk of its own).
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createArtifactStore } from './artifact.js';
import { createFileStore } from './file.js';
import type { S3Credentials, S3StoreOptions } from './s3.js';
import { normalizePrefix, type Store } from './types.js';

export type { IncompleteWrite, PutOptions, Store, StoredObject } from './types.js';
export { abortReason, normalizePrefix } from './types.js';
export { createArtifactStore, artifactName, sanitizeArtifactName, ARTIFACT_UNAVAILABLE } from './artifact.js';
export { createFileStore, notFound } from './file.js';
// Not `export { createS3Store } from './s3.js'`: that would load the AWS SDK with this module.
// Import createS3Store from './s3.js' itself.
export type { S3Credentials, S3Store, S3StoreOptions } from './s3.js';

export interface S3ConnectionOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
  /** Receives the warning when a failed upload's parts could not be cleaned up. */
  logger?: Logger;
}

export interface DestinationContext {
  /** Staging space for artifact uploads and downloads (the runner's temp directory). */
  tempDir: string;
  /** The artifact store's name for a bare `artifact` (default `backup`). */
  artifactName?: string;
}

export interface Destination {
  store: Store;
  /** Prepend to object names (with joinKey): '' or ending in `/`. */
  prefix: string;
  /** For people: `s3://bucket/prefix/`, `/abs/dir`, `artifact`. Never a credential. */
  display: string;
}

const EXPECTED = 'a local directory, file:///absolute/dir, s3://bucket/prefix or artifact';

export function parseDestination(
  input: string,
  raw: string,
  s3opts: S3ConnectionOptions,
  ctx: DestinationContext,
): Destination {
  const text = raw.trim();
  const reject = (why?: string): ConfigurationError =>
    new ConfigurationError(
      `input '${input}': ${why ? `${why}; ` : ''}expected ${EXPECTED}, got '${truncate(redactUserinfo(text), 80)}'`,
    );
  if (!text) throw reject();

  if (/^artifact$/i.test(text)) {
    const store = createArtifactStore({ name: ctx.artifactName ?? 'backup', tempDir: ctx.tempDir });
    return { store, prefix: '', display: 'artifact' };
  }
  if (/^artifact:\/\//i.test(text)) {
    // The form the artifact store's URIs take: artifact://<name>[/<prefix>].
    const [name = '', ...rest] = text.slice('artifact://'.length).split('/');
    if (!name || /\s/.test(name)) throw reject('an artifact destination is artifact or artifact://<name>[/prefix]');
    if (rest.some((p) => p === '.' || p === '..')) throw reject('the prefix may not contain . or .. segments');
    const prefix = normalizePrefix(rest.join('/'));
    const store = createArtifactStore({ name, tempDir: ctx.tempDir });
    return { store, prefix, display: `artifact://${name}/${prefix}` };
  }

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  const windowsDrive = scheme?.length === 1 && process.platform === 'win32';
  if (scheme === 's3') return s3Destination(text, s3opts, reject);
  if (scheme === 'file') {
    let dir: string;
    try {
      if (!/^file:\/\//i.test(text)) throw new Error('not file://');
      dir = fileURLToPath(new URL(text));
    } catch {
      throw reject('a file URL needs three slashes and an absolute path, like file:///var/backups');
    }
    return localDestination(dir, reject);
  }
  if (scheme !== undefined && !windowsDrive) {
    const shown = text.slice(0, scheme.length + (text.slice(scheme.length).startsWith('://') ? 3 : 1));
    throw reject(`'${shown}' is not a supported destination`);
  }
  const expanded = text === '~' ? os.homedir() : text.startsWith('~/') ? path.join(os.homedir(), text.slice(2)) : text;
  return localDestination(path.resolve(expanded), reject);
}

/** `prefix` + `name` with exactly one `/` between them (none when the prefix is empty). */
export function joinKey(prefix: string, name: string): string {
  const p = prefix.replace(/\/+$/, '');
  const n = name.replace(/^\/+/, '');
  return p ? `${p}/${n}` : n;
}

function s3Destination(
  text: string,
  s3opts: S3ConnectionOptions,
  reject: (why?: string) => ConfigurationError,
): Destination {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)$/i.exec(text);
  if (!m) {
    throw reject(
      text.includes('?') || text.includes('#') ? 'an s3:// URL takes no ? or #' : 'write s3://bucket/prefix',
    );
  }
  const bucket = m[1]!;
  const rest = m[2]!;
  if (!bucket) throw reject('the s3:// URL names no bucket');
  if (bucket.includes('@')) {
    throw reject('credentials do not belong in the destination; pass them as AWS credentials (inputs or environment)');
  }
  if (!/^[a-z0-9][a-z0-9._-]{1,253}[a-z0-9]$/i.test(bucket)) throw reject(`'${bucket}' is not a valid bucket name`);
  if (rest.split('/').some((p) => p === '.' || p === '..')) throw reject('the prefix may not contain . or .. segments');
  const prefix = normalizePrefix(rest);
  const store = lazyS3Store({
    bucket,
    endpoint: s3opts.endpoint || undefined,
    region: s3opts.region || undefined,
    forcePathStyle: s3opts.forcePathStyle,
    credentials: s3opts.credentials,
    logger: s3opts.logger,
  });
  return { store, prefix, display: `s3://${bucket}/${prefix}` };
}

/**
 * An S3 store that imports ./s3.js (and so the AWS SDK) on its first operation, and creates the
 * store, client included, then. Until then it knows only what it needs to name objects.
 */
function lazyS3Store(options: S3StoreOptions): Store {
  let loading: Promise<Store> | undefined;
  const store = (): Promise<Store> => (loading ??= import('./s3.js').then((s3) => s3.createS3Store(options)));
  const root = normalizePrefix(options.prefix ?? '');
  return {
    kind: 's3',
    // As the S3 store's uri().
    uri: (key) => `s3://${options.bucket}/${root}${key}`,
    async put(key, body, opts) {
      let loaded: Store;
      try {
        loaded = await store();
      } catch (err) {
        // As a failed upload does: the source is not left waiting for a reader.
        if (!body.destroyed) body.destroy();
        throw err;
      }
      return loaded.put(key, body, opts);
    },
    get: async (key) => (await store()).get(key),
    list: async (prefix) => (await store()).list(prefix),
    listIncomplete: async (prefix) => (await store()).listIncomplete?.(prefix) ?? [],
    removeIncomplete: async (write) => (await store()).removeIncomplete?.(write),
    delete: async (key) => (await store()).delete(key),
    exists: async (key) => (await store()).exists(key),
  };
}

function localDestination(dir: string, reject: (why?: string) => ConfigurationError): Destination {
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch {
    // does not exist yet: the first put creates it
  }
  if (isFile) throw reject(`${dir} exists and is not a directory`);
  return { store: createFileStore(dir), prefix: '', display: dir };
}

/** `s3://AKIA…:secret@bucket` → `s3://***@bucket`: the whole userinfo goes. */
function redactUserinfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
