/**
 * Workflow artifacts as a Store: each object is one artifact of the current workflow run, named
 * `<store name>-<key>` with the characters artifacts may not contain replaced (see artifactName).
 * The bytes are staged in a temp file (the artifact API uploads files) and uploaded unarchived
 * (`skipArchive`), so the artifact downloads as the backup file itself.
 *
 * Only works inside a GitHub Actions job (ACTIONS_RUNTIME_TOKEN / ACTIONS_RESULTS_URL), and only
 * sees the current run's artifacts. `@actions/artifact` is loaded on first use: it is large and
 * no other destination needs it.
 */
import type { Artifact, ArtifactClient } from '@actions/artifact';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ConfigurationError, ExternalError, errorMessage, isUserFacing } from '../errors.js';
import { createFileStore, notFound } from './file.js';
import { abortReason, type PutOptions, type Store, type StoredObject } from './types.js';

export const ARTIFACT_UNAVAILABLE =
  "destination 'artifact' only works inside a GitHub Actions job (ACTIONS_RUNTIME_TOKEN is not set); use a path or s3:// URL";

/** The part of the artifact client this store uses (tests pass their own). */
export type ArtifactApi = Pick<
  ArtifactClient,
  'uploadArtifact' | 'listArtifacts' | 'downloadArtifact' | 'deleteArtifact'
>;

export interface ArtifactStoreOptions {
  /** The store's name: artifact names start with it, URIs are `artifact://<name>/<key>`. */
  name: string;
  /** Where uploads and downloads are staged (the runner's temp directory). */
  tempDir: string;
  /** Days the artifacts are kept (default: the repository's setting). */
  retentionDays?: number;
  /** Default: `DefaultArtifactClient` from @actions/artifact. */
  client?: ArtifactApi;
  /** Default: process.env (only ACTIONS_RUNTIME_TOKEN is read, to fail early outside Actions). */
  env?: Record<string, string | undefined>;
}

export interface ArtifactStore extends Store {
  readonly kind: 'artifact';
  readonly name: string;
  /** The artifact name an object's key maps to. */
  artifactName(key: string): string;
}

// Artifact names may not contain " : < > | * ? \r \n \ / (NTFS), nor, sensibly, other control characters.
// eslint-disable-next-line no-control-regex
const INVALID = /["<>|*?\\\u0000-\u001f\u007f]/g;

/** An artifact name part: `/` and `:` become `-` (paths and timestamps stay readable), the rest `_`. Idempotent. */
export function sanitizeArtifactName(text: string): string {
  return text.replace(/[/:]/g, '-').replace(INVALID, '_');
}

/** `artifactName('db-backup', 'nightly/app-2024-05-01T02:00:00Z.dump')` → `db-backup-nightly-app-2024-05-01T02-00-00Z.dump`. */
export function artifactName(storeName: string, key: string): string {
  return `${sanitizeArtifactName(storeName)}-${sanitizeArtifactName(key)}`;
}

export function createArtifactStore(options: ArtifactStoreOptions): ArtifactStore {
  const env = options.env ?? process.env;
  if (!options.client && !env.ACTIONS_RUNTIME_TOKEN) throw new ConfigurationError(ARTIFACT_UNAVAILABLE);
  const storeName = options.name.trim();
  if (!storeName) throw new ConfigurationError('an artifact store needs a name');
  const namePrefix = `${sanitizeArtifactName(storeName)}-`;

  let api: Promise<ArtifactApi> | undefined;
  const client = (): Promise<ArtifactApi> =>
    (api ??= options.client
      ? Promise.resolve(options.client)
      : import('@actions/artifact').then((m) => new m.DefaultArtifactClient()));

  const nameOf = (key: string): string => {
    if (!key) throw new ConfigurationError('invalid backup key: it is empty');
    return artifactName(storeName, key);
  };
  const uri = (key: string): string => `artifact://${storeName}/${key}`;

  const fail = (err: unknown, operation: string, target: string): Error =>
    isUserFacing(err) ? err : new ExternalError(`artifact ${operation} ${target} failed: ${errorMessage(err)}`);

  async function staging(): Promise<string> {
    await mkdir(options.tempDir, { recursive: true });
    return mkdtemp(path.join(options.tempDir, 'opskit-artifact-'));
  }

  /** The current run's artifact with this name (the newest, after reruns), if any. */
  async function find(name: string): Promise<Artifact | undefined> {
    const { artifacts } = await (await client()).listArtifacts({ latest: true });
    return artifacts.find((a) => a.name === name);
  }

  async function put(key: string, body: Readable, opts: PutOptions = {}): Promise<{ size: number }> {
    const name = nameOf(key);
    const dir = await staging();
    try {
      // The file store gives the staging an atomic write and keeps source errors as they came.
      const { size } = await createFileStore(dir).put(name, body, { signal: opts.signal });
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      try {
        const api = await client();
        // Artifact names are unique within a run: replacing means deleting first.
        if (await find(name)) await api.deleteArtifact(name);
        await api.uploadArtifact(name, [path.join(dir, name)], dir, {
          skipArchive: true,
          retentionDays: options.retentionDays,
        });
      } catch (err) {
        throw fail(err, 'upload of', uri(key));
      }
      return { size };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function get(key: string): Promise<Readable> {
    const name = nameOf(key);
    let found: Artifact | undefined;
    try {
      found = await find(name);
    } catch (err) {
      throw fail(err, 'download of', uri(key));
    }
    if (!found) throw notFound(uri(key));
    const dir = await staging();
    try {
      await (await client()).downloadArtifact(found.id, { path: dir, skipDecompress: true });
      const files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile());
      if (files.length !== 1) throw new Error(`expected one file in the artifact, found ${files.length}`);
      const stream = createReadStream(path.join(dir, files[0]!.name));
      stream.once('close', () => void rm(dir, { recursive: true, force: true }).catch(() => {}));
      return stream;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw fail(err, 'download of', uri(key));
    }
  }

  async function list(prefix: string): Promise<StoredObject[]> {
    const wanted = namePrefix + sanitizeArtifactName(prefix);
    let artifacts: Artifact[];
    try {
      ({ artifacts } = await (await client()).listArtifacts({ latest: true }));
    } catch (err) {
      throw fail(err, 'listing of', uri(prefix));
    }
    return artifacts
      .filter((a) => a.name.startsWith(wanted))
      .map((a) => ({ key: a.name.slice(namePrefix.length), size: a.size, lastModified: a.createdAt ?? new Date(0) }));
  }

  async function remove(key: string): Promise<void> {
    const name = nameOf(key);
    try {
      if (await find(name)) await (await client()).deleteArtifact(name);
    } catch (err) {
      throw fail(err, 'delete of', uri(key));
    }
  }

  async function exists(key: string): Promise<boolean> {
    const name = nameOf(key);
    try {
      return (await find(name)) !== undefined;
    } catch (err) {
      throw fail(err, 'check of', uri(key));
    }
  }

  return {
    kind: 'artifact',
    name: storeName,
    artifactName: nameOf,
    uri,
    put,
    get,
    list,
    delete: remove,
    exists,
  };
}
