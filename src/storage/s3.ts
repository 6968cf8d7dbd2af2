/**
 * An S3 (or S3-compatible) bucket as a Store. Uploads are streamed as multipart uploads of 8 MiB
 * parts, at most 4 in flight, from reused buffers (s3-multipart.ts), so memory stays bounded whatever the
 * size of the backup; a failed upload is aborted so no object and no orphaned parts are left behind.
 *
 * Credentials come from the options or, when none are given, from the SDK's standard chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity, shared config, …).
 *
 * With a custom endpoint (MinIO, R2, Ceph, s3rver, …) the SDK's default integrity checksums
 * (`requestChecksumCalculation: WHEN_SUPPORTED`, since SDK 3.729) are turned down to
 * `WHEN_REQUIRED`: many S3-compatible services reject or mis-store the CRC32 headers and the
 * aws-chunked trailers. AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION, when
 * set, still win.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ConfigurationError, ExternalError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { scrub } from '../redact.js';
import { notFound } from './file.js';
import { confirmation, PartDigests, uploadWatcher } from './s3-integrity.js';
import { uploadStream } from './s3-multipart.js';
import {
  abortReason,
  type IncompleteWrite,
  normalizePrefix,
  type PutOptions,
  type PutResult,
  type S3Settings,
  type Store,
  type StoredObject,
} from './types.js';

export const PART_SIZE = 8 * 1024 * 1024;
export const QUEUE_SIZE = 4;

export type { S3Credentials } from './types.js';

export interface S3StoreOptions extends S3Settings {
  bucket: string;
  /** A key prefix inside the bucket that is the store's root (keys are relative to it). */
  prefix?: string;
  /** Where a failure to clean up (abort a multipart upload) is reported. */
  logger?: Logger;
  /** Keys per ListObjectsV2 page (1–1000, default 1000). */
  listPageSize?: number;
}

export interface S3Store extends Store {
  readonly kind: 's3';
  readonly bucket: string;
  /** The root prefix ('' or ending in `/`). */
  readonly prefix: string;
  /** The SDK client, for tests and for callers that need one more S3 call. */
  readonly client: S3Client;
  /** Closes the client's sockets. */
  close(): void;
}

export function createS3Store(options: S3StoreOptions): S3Store {
  const { bucket, endpoint, credentials, forcePathStyle } = options;
  if (!bucket) throw new ConfigurationError('an S3 store needs a bucket');
  const root = normalizePrefix(options.prefix ?? '');
  const logger = options.logger ?? silentLogger;
  const pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
  const env = process.env;
  const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);

  const config: S3ClientConfig = {
    region,
    endpoint,
    forcePathStyle,
    credentials,
    // Without an endpoint and a region the bucket may live anywhere: let the SDK follow the 301.
    followRegionRedirects: !endpoint,
    // A dead endpoint fails in seconds instead of hanging the job. No socket idle timeout: a
    // download may rightly pause for minutes while a restore applies back-pressure.
    requestHandler: { connectionTimeout: 10_000 },
  };
  if (endpoint) {
    if (!env.AWS_REQUEST_CHECKSUM_CALCULATION) config.requestChecksumCalculation = 'WHEN_REQUIRED';
    if (!env.AWS_RESPONSE_CHECKSUM_VALIDATION) config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const client = new S3Client(config);
  // Records the ETags the service returns for an upload, so that put() can say whether it confirmed the bytes.
  const watchUpload = uploadWatcher(client);

  const objectKey = (key: string): string => {
    if (!key) throw new ConfigurationError('invalid backup key: it is empty');
    return root + key;
  };
  const uri = (key: string): string => `s3://${bucket}/${root}${key}`;

  /** Every credential we know of, to scrub from a service's message (it should never echo one). */
  const secrets = (): string[] =>
    [
      credentials?.accessKeyId,
      credentials?.secretAccessKey,
      credentials?.sessionToken,
      env.AWS_ACCESS_KEY_ID,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
    ].filter((s): s is string => !!s);

  const fail = (err: unknown, operation: string, target: string): Error => s3Error(err, operation, target, secrets());

  async function put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const Key = objectKey(key);
    const { signal } = opts;
    if (signal?.aborted) {
      if (!body.destroyed) body.destroy();
      throw abortReason(signal);
    }
    // Count the bytes and tell the source's errors from the service's: the source is read
    // through this generator only.
    let size = 0;
    // The MD5 of each part as uploadStream cuts them (every PART_SIZE bytes), to compare with the ETags.
    const digests = new PartDigests(PART_SIZE);
    let sourceFailed = false;
    let sourceError: unknown;
    const counted = async function* (): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of body) {
          const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          size += buf.length;
          digests.update(buf);
          yield buf;
        }
      } catch (err) {
        sourceFailed = true;
        sourceError = err;
        throw err;
      }
    };
    // An abort ends the source: the parts in flight settle, then done rejects and the multipart upload is
    // aborted below (a part that landed after AbortMultipartUpload would be orphaned).
    const stop = () => body.destroy(abortReason(signal!));
    signal?.addEventListener('abort', stop, { once: true });
    const watch = watchUpload(Key);
    const upload = uploadStream(counted(), {
      client,
      bucket,
      key: Key,
      contentType: opts.contentType,
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    });
    try {
      await upload.done;
      const { confirmed, why } = confirmation(digests.finish(), watch.seen);
      if (why) logger.debug(`${uri(key)}: the service did not confirm the bytes it received (${why})`);
      return { size, confirmed };
    } catch (err) {
      if (!body.destroyed) body.destroy();
      const uploadId = upload.uploadId();
      if (uploadId) await abortMultipart(Key, uploadId, uri(key));
      if (signal?.aborted) throw abortReason(signal);
      if (sourceFailed) throw sourceError;
      throw fail(err, 'upload to', uri(key));
    } finally {
      watch.stop();
      signal?.removeEventListener('abort', stop);
    }
  }

  async function abortMultipart(Key: string, UploadId: string, target: string): Promise<void> {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    } catch (err) {
      logger.warning(
        `${fail(err, 'abort of the multipart upload to', target).message}; its parts stay in the bucket ` +
          `(upload id ${UploadId}) until removed, e.g. by an AbortIncompleteMultipartUpload lifecycle rule`,
      );
    }
  }

  async function get(key: string): Promise<Readable> {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      if (out.Body instanceof Readable) return out.Body;
      if (out.Body && 'transformToWebStream' in out.Body) {
        return Readable.fromWeb(out.Body.transformToWebStream() as WebReadableStream);
      }
      throw new ExternalError(`S3 download of ${uri(key)} failed: the response has no body`);
    } catch (err) {
      if (isNotFound(err, 'NoSuchKey')) throw notFound(uri(key));
      throw fail(err, 'download of', uri(key));
    }
  }

  async function list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: root + prefix, ContinuationToken, MaxKeys: pageSize }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(root)) continue;
          out.push({ key: o.Key.slice(root.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (err) {
      throw fail(err, 'listing of', `s3://${bucket}/${root}${prefix}`);
    }
    return out;
  }

  async function listIncomplete(prefix: string): Promise<IncompleteWrite[]> {
    const out: IncompleteWrite[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    try {
      do {
        const page = await client.send(
          new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: root + prefix, KeyMarker, UploadIdMarker }),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(root + prefix)) continue;
          out.push({ key: u.Key.slice(root.length), id: u.UploadId, since: u.Initiated ?? new Date(0) });
        }
        const more = page.IsTruncated === true && (page.NextKeyMarker || page.NextUploadIdMarker);
        KeyMarker = more ? page.NextKeyMarker : undefined;
        UploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (KeyMarker !== undefined || UploadIdMarker !== undefined);
    } catch (err) {
      throw fail(err, 'listing of the multipart uploads under', `s3://${bucket}/${root}${prefix}`);
    }
    return out;
  }

  async function removeIncomplete(write: IncompleteWrite): Promise<void> {
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey(write.key), UploadId: write.id }),
      );
    } catch (err) {
      if (isNotFound(err, 'NoSuchUpload')) return; // aborted meanwhile
      throw fail(err, `abort of the multipart upload ${write.id} to`, uri(write.key));
    }
  }

  async function remove(key: string): Promise<void> {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    } catch (err) {
      throw fail(err, 'delete of', uri(key));
    }
  }

  async function exists(key: string): Promise<boolean> {
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      return true;
    } catch (err) {
      if (isNotFound(err, 'NotFound')) return false;
      throw fail(err, 'check of', uri(key));
    }
  }

  return {
    kind: 's3',
    bucket,
    prefix: root,
    client,
    uri,
    put,
    get,
    list,
    listIncomplete,
    removeIncomplete,
    delete: remove,
    exists,
    close: () => client.destroy(),
  };
}

export { normalizePrefix };

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function isNotFound(err: unknown, code: string): boolean {
  const e = err as SdkError | undefined;
  return e?.name === code || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
}

/**
 * An SDK error as a user-facing one: `S3 upload to s3://b/k failed: HTTP 403 AccessDenied: Access Denied`.
 * Missing credentials or region are configuration problems; nothing the service says may carry a credential.
 */
export function s3Error(err: unknown, operation: string, target: string, secrets: readonly string[]): Error {
  if (err instanceof ConfigurationError || err instanceof ExternalError) return err;
  const e = (err ?? {}) as SdkError;
  const text = (s: string) => scrub(s, secrets);
  if (e.name === 'CredentialsProviderError') {
    return new ConfigurationError(
      `S3 ${operation} ${target} failed: no AWS credentials found (${text(errorMessage(err))}); set ` +
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use aws-actions/configure-aws-credentials, or pass credentials',
    );
  }
  if (/region is missing/i.test(e.message ?? '')) {
    return new ConfigurationError(`S3 ${operation} ${target} failed: no region configured; set a region or AWS_REGION`);
  }
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) {
    // Never reached the service (refused, DNS, TLS, timeout) or failed inside the SDK.
    return new ExternalError(`S3 ${operation} ${target} failed: ${text(errorMessage(err))}`);
  }
  const code = e.Code ?? (e.name && e.name !== 'Unknown' ? e.name : STATUS_CODES[status]);
  const message = e.message && e.message !== 'UnknownError' && e.message !== code ? `: ${text(e.message)}` : '';
  return new ExternalError(`S3 ${operation} ${target} failed: HTTP ${status} ${code ?? ''}${message}`.trim(), status);
}
