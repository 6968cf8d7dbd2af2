/**
 * Where backups go, in two steps: `parseDestinationSpec` turns a destination input into a DestinationSpec (pure:
 * it checks the text and touches nothing), and `openStore` turns a spec into a Store and the key prefix under which
 * objects go, when the action is ready to use it.
 *
 * Accepted: `s3://bucket[/prefix]`, `file:///absolute/dir`, a local path (absolute, relative to the working
 * directory, or `~/…`), and `artifact` (or `artifact://<name>[/prefix]`, the form artifact URIs take). Optional
 * destinations also take `none` (or `off`, `false`): the one spelling of "no backup" every action accepts.
 *
 * The S3 store's module, and with it the AWS SDK (megabytes of code that take about 100 ms to load), is only
 * imported when an s3:// destination's store is first used: nothing here imports ./s3.js but as a type or with
 * `import()`, so the bundles of actions that write to a path or an artifact never load the SDK (ncc puts it in a
 * chunk of its own).
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../errors.js';
import type { Inputs } from '../inputs.js';
import type { Logger } from '../logger.js';
import { createArtifactStore } from './artifact.js';
import { createFileStore } from './file.js';
import type { S3StoreOptions } from './s3.js';
import { normalizePrefix, type S3Settings, type Store } from './types.js';

/** A destination as the input says it: checked, not yet opened. */
export type DestinationSpec =
  | { kind: 's3'; bucket: string; prefix: string; s3: S3Settings }
  | { kind: 'file'; dir: string }
  /** `name` undefined: a bare `artifact`, named by the action (StoreContext.artifactName). */
  | { kind: 'artifact'; name?: string; prefix: string };

/** An optional destination input: a spec, `none` (no backup), or left empty (the action's default). */
export type OptionalDestination = DestinationSpec | 'none' | 'default';

export interface StoreContext {
  /** Staging space for artifact uploads and downloads (the runner's temp directory). */
  tempDir: string;
  /** The artifact store's name for a bare `artifact` (default `backup`). */
  artifactName?: string;
  /** Receives the warning when a failed S3 upload's parts could not be cleaned up. */
  logger?: Logger;
}

export interface Destination {
  store: Store;
  /** Prepend to object names (with joinKey): '' or ending in `/`. */
  prefix: string;
  /** For people: `s3://bucket/prefix/`, `/abs/dir`, `artifact`. Never a credential. */
  display: string;
}

const EXPECTED = 'a local directory, file:///absolute/dir, s3://bucket/prefix or artifact';
/** The spellings of "no destination" (an optional destination's `none`). */
const NONE = /^(none|off|false)$/i;

/** The aws-* and s3-* inputs every action that reaches S3 takes. */
export function parseS3Settings(inputs: Inputs): S3Settings {
  const id = inputs.raw('aws-access-key-id');
  const secret = inputs.raw('aws-secret-access-key');
  if (Boolean(id) !== Boolean(secret)) {
    throw new ConfigurationError(
      "inputs 'aws-access-key-id' and 'aws-secret-access-key' go together: give both or neither",
    );
  }
  const endpoint = inputs.url('s3-endpoint');
  return {
    endpoint: endpoint?.toString().replace(/\/$/, ''),
    region: inputs.string('s3-region') || undefined,
    forcePathStyle: inputs.has('s3-force-path-style') ? inputs.boolean('s3-force-path-style', false) : undefined,
    credentials: id ? { accessKeyId: id, secretAccessKey: secret } : undefined,
  };
}

/** An optional destination input: empty is the action's default, `none`/`off`/`false` no backup. */
export function parseOptionalDestination(input: string, raw: string, s3: S3Settings): OptionalDestination {
  const text = raw.trim();
  if (!text) return 'default';
  if (NONE.test(text)) return 'none';
  return parseDestinationSpec(input, text, s3);
}

export function parseDestinationSpec(input: string, raw: string, s3: S3Settings = {}): DestinationSpec {
  const text = raw.trim();
  const reject = (why?: string): ConfigurationError =>
    new ConfigurationError(
      `input '${input}': ${why ? `${why}; ` : ''}expected ${EXPECTED}, got '${truncate(redactUserinfo(text), 80)}'`,
    );
  if (!text) throw reject();

  if (/^artifact$/i.test(text)) return { kind: 'artifact', prefix: '' };
  if (/^artifact:\/\//i.test(text)) {
    // The form the artifact store's URIs take: artifact://<name>[/<prefix>].
    const [name = '', ...rest] = text.slice('artifact://'.length).split('/');
    if (!name || /\s/.test(name)) throw reject('an artifact destination is artifact or artifact://<name>[/prefix]');
    if (rest.some((p) => p === '.' || p === '..')) throw reject('the prefix may not contain . or .. segments');
    return { kind: 'artifact', name, prefix: normalizePrefix(rest.join('/')) };
  }

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  const windowsDrive = scheme?.length === 1 && process.platform === 'win32';
  if (scheme === 's3') return s3Spec(text, s3, reject);
  if (scheme === 'file') {
    try {
      if (!/^file:\/\//i.test(text)) throw new Error('not file://');
      return { kind: 'file', dir: fileURLToPath(new URL(text)) };
    } catch {
      throw reject('a file URL needs three slashes and an absolute path, like file:///var/backups');
    }
  }
  if (scheme !== undefined && !windowsDrive) {
    const shown = text.slice(0, scheme.length + (text.slice(scheme.length).startsWith('://') ? 3 : 1));
    throw reject(`'${shown}' is not a supported destination`);
  }
  const expanded = text === '~' ? os.homedir() : text.startsWith('~/') ? path.join(os.homedir(), text.slice(2)) : text;
  return { kind: 'file', dir: path.resolve(expanded) };
}

/** For people, and the same as the opened store's `display`: never a credential. */
export function describeDestination(spec: DestinationSpec): string {
  switch (spec.kind) {
    case 's3':
      return `s3://${spec.bucket}/${spec.prefix}`;
    case 'file':
      return spec.dir;
    case 'artifact':
      return spec.name === undefined ? 'artifact' : `artifact://${spec.name}/${spec.prefix}`;
  }
}

/**
 * The spec's store. A directory that exists and is not one, or an artifact outside GitHub Actions, is a
 * ConfigurationError; nothing is created or read here (a file store makes its directory on its first put).
 */
export function openStore(spec: DestinationSpec, ctx: StoreContext, input = 'destination'): Destination {
  const display = describeDestination(spec);
  switch (spec.kind) {
    case 'artifact':
      return {
        store: createArtifactStore({ name: spec.name ?? ctx.artifactName ?? 'backup', tempDir: ctx.tempDir }),
        prefix: spec.prefix,
        display,
      };
    case 's3':
      return {
        store: lazyS3Store({ ...spec.s3, bucket: spec.bucket, logger: ctx.logger }),
        prefix: spec.prefix,
        display,
      };
    case 'file': {
      let isFile = false;
      try {
        isFile = !statSync(spec.dir).isDirectory();
      } catch {
        // does not exist yet: the first put creates it
      }
      if (isFile) throw new ConfigurationError(`input '${input}': ${spec.dir} exists and is not a directory`);
      return { store: createFileStore(spec.dir), prefix: '', display };
    }
  }
}

/**
 * An optional destination's store: none for `none`, the action's own default (`fallback`) for an empty input,
 * else the spec's store (openStore).
 */
export function openOptionalStore(
  dest: OptionalDestination,
  ctx: StoreContext,
  fallback: () => Omit<Destination, 'display'>,
  input: string,
): Omit<Destination, 'display'> | undefined {
  if (dest === 'none') return undefined;
  return dest === 'default' ? fallback() : openStore(dest, ctx, input);
}

function s3Spec(text: string, s3: S3Settings, reject: (why?: string) => ConfigurationError): DestinationSpec {
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
  return { kind: 's3', bucket, prefix: normalizePrefix(rest), s3 };
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

/** `s3://AKIA…:secret@bucket` → `s3://***@bucket`: the whole userinfo goes. */
function redactUserinfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
