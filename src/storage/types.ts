/** Where backups live: a local directory, an S3-compatible bucket, or a workflow artifact. */
import type { Readable } from 'node:stream';

/** How to reach an S3-compatible service: parsed from the aws-* and s3-* inputs, passed as is to the S3 store. */
export interface S3Settings {
  /** For S3-compatible services: `https://minio.example.com:9000`. */
  endpoint?: string;
  /** Default: AWS_REGION / AWS_DEFAULT_REGION, else `us-east-1` with an endpoint, else the SDK's chain. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible services need. */
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StoredObject {
  /** Key relative to the store's root (for S3: the object key; for files: the path under the root dir). */
  key: string;
  size: number;
  lastModified: Date;
}

/** A write that was started and never finished or cleaned up: a killed run's partial file or multipart upload. */
export interface IncompleteWrite {
  /** The key it was writing. */
  key: string;
  /** What identifies it in the store: the partial file's key, the S3 upload id. */
  id: string;
  /** When it was last written (file) or started (S3 multipart upload). */
  since: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Stops the upload and removes what it wrote (see Store.put). */
  signal?: AbortSignal;
}

export interface PutResult {
  size: number;
  /**
   * Set when the store itself confirmed, on upload, that it received exactly the bytes of the body (a
   * digest it computed over what it received equals ours; see s3-integrity.ts), saying how. A caller may
   * then skip reading the object back. Unset: nothing was confirmed, read it back to be sure.
   */
  confirmed?: string;
}

/** What an aborted signal rejects with: its reason when that is an Error (Interrupted, AbortError). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted${reason === undefined ? '' : `: ${String(reason)}`}`);
}

/** '' stays '', anything else ends in exactly one `/` and has no leading `/`. */
export function normalizePrefix(prefix: string): string {
  const parts = prefix.split('/').filter((p) => p !== '');
  return parts.length ? `${parts.join('/')}/` : '';
}

export interface Store {
  /** `file`, `s3` or `artifact`. */
  readonly kind: 'file' | 's3' | 'artifact';
  /** The URI a person can use to find `key` again (s3://bucket/key, file:///abs/path, artifact://name/key). Never contains a credential. */
  uri(key: string): string;
  /**
   * Streams `body` to `key`. Never buffers the whole object; a failed upload leaves no object behind.
   * Aborting `signal` while the source is still being read stops the upload, removes what it wrote (a
   * file store's `.partial-*` file; an S3 multipart upload and its parts, once the parts in flight have
   * settled) and rejects with the signal's reason. Once the source has been read whole the object may
   * still be completed (S3 completes the upload; a file store gives up until its rename): the caller, which
   * knows what the object is for, decides its fate.
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /** A stream of the object's bytes; rejects with a clear error naming the URI when it is missing. */
  get(key: string): Promise<Readable>;
  /**
   * The object as a local file, when the store is a directory: readers that only hash or hand the bytes to
   * another process read it there (one reused buffer, no stream) instead of through `get`.
   */
  localPath?(key: string): string;
  /** Objects whose key starts with `prefix` (recursively), in no particular order. */
  list(prefix: string): Promise<StoredObject[]>;
  /**
   * Writes under `prefix` (recursively) that never finished and were never cleaned up, which only a
   * killed process leaves (any other failure or abort removes its own). Stores without such a thing
   * (artifacts) leave it out.
   */
  listIncomplete?(prefix: string): Promise<IncompleteWrite[]>;
  /** Removes what an incomplete write left: deletes the partial file, aborts the multipart upload. */
  removeIncomplete?(write: IncompleteWrite): Promise<void>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}
