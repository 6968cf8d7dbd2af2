/**
 * Whether the S3 service confirmed, on upload, that it received exactly the bytes we sent, so that a
 * caller may skip reading the object back.
 *
 * The evidence is the ETag S3 returns for every part (UploadPart) or for a single-request upload
 * (PutObject): for an object that is not encrypted with SSE-KMS or SSE-C it is the MD5 of the bytes the
 * service received, computed by the service. We compute the MD5 of every part of our own stream as it
 * passes (parts cut where s3-multipart.ts cuts them, as `@aws-sdk/lib-storage` does: every `partSize` bytes,
 * the last part possibly full) and confirm only when
 * - the service returned, for part 1…N, exactly the MD5 of our bytes of that part, and
 * - the CompleteMultipartUpload that assembled the object listed exactly parts 1…N with those ETags
 *   (or, for one part, the PutObject returned the MD5 of the whole body).
 * Anything else (a service whose ETags are not MD5s, a part we did not see, a different count) is "not
 * confirmed" and the caller reads the object back, as it always did: a wrong guess can only cost time.
 *
 * Those parts are sent with an unsigned payload (see uploadWatcher): their check is the ETag, not SigV4's hash.
 *
 * The SDK's flexible checksums (`x-amz-checksum-*`, ChecksumAlgorithm) would say the same on AWS, but
 * s3rver (tests, bench) and several S3-compatible services neither check nor return them, and computing
 * them costs one more pass over every byte; the MD5 ETag is what S3 and its look-alikes all return.
 */
import { createHash, type Hash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/** MD5s (hex) of consecutive `partSize`-byte parts of a stream, fed chunk by chunk. */
export class PartDigests {
  private readonly md5s: string[] = [];
  private current: Hash | undefined;
  private inPart = 0;
  constructor(private readonly partSize: number) {}

  update(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      if (!this.current || this.inPart === this.partSize) {
        if (this.current) this.md5s.push(this.current.digest('hex'));
        this.current = createHash('md5');
        this.inPart = 0;
      }
      const n = Math.min(buf.length - off, this.partSize - this.inPart);
      this.current.update(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
      this.inPart += n;
      off += n;
    }
  }

  /** The MD5 of every part; an empty stream is one empty part. */
  finish(): string[] {
    this.md5s.push((this.current ?? createHash('md5')).digest('hex'));
    this.current = undefined;
    return this.md5s;
  }
}

/** What the service answered for one upload (one object key). */
export interface UploadWatch {
  /** UploadPart: part number → ETag. */
  parts: Map<number, string>;
  /** PutObject's ETag (an upload of one part). */
  single?: string;
  /** The parts CompleteMultipartUpload listed. */
  completed?: { partNumber: number; etag: string }[];
}

const etagOf = (v: unknown): string | undefined =>
  typeof v === 'string' ? v.replace(/^(W\/)?"|"$/g, '').toLowerCase() : undefined;

/**
 * Adds a middleware to the client that records, for the keys being watched, the ETags the service returns.
 * `watch(key)` starts watching a key and returns what was seen and a function that stops watching it.
 */
export function uploadWatcher(client: S3Client): (key: string) => { seen: UploadWatch; stop(): void } {
  const watches = new Map<string, UploadWatch>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as {
        Key?: string;
        PartNumber?: number;
        MultipartUpload?: { Parts?: { PartNumber?: number; ETag?: string }[] };
      };
      const w = input.Key === undefined ? undefined : watches.get(input.Key);
      if (w) {
        const output = result.output as { ETag?: string };
        const etag = etagOf(output?.ETag);
        if (context.commandName === 'UploadPartCommand' && input.PartNumber !== undefined && etag)
          w.parts.set(input.PartNumber, etag);
        else if (context.commandName === 'PutObjectCommand' && etag) w.single = etag;
        else if (context.commandName === 'CompleteMultipartUploadCommand')
          w.completed = (input.MultipartUpload?.Parts ?? []).map((p) => ({
            partNumber: p.PartNumber ?? 0,
            etag: etagOf(p.ETag) ?? '',
          }));
      }
      return result;
    },
    { step: 'initialize', name: 'opskitUploadEtags' },
  );
  // The bytes of a watched upload are checked by their ETags (else read back), so SigV4 need not hash every
  // part once more for its payload hash: UNSIGNED-PAYLOAD (what the SDK itself sends for unknown-length
  // streams; S3 and its look-alikes accept it) saves a sha256 pass over the whole backup in this process.
  // Over HTTPS, TLS protects the bytes on the way as well.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (
        request?.headers &&
        input.Key !== undefined &&
        watches.has(input.Key) &&
        (context.commandName === 'UploadPartCommand' || context.commandName === 'PutObjectCommand')
      )
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'opskitUnsignedPayload' },
  );
  return (key) => {
    const seen: UploadWatch = { parts: new Map() };
    watches.set(key, seen);
    return { seen, stop: () => watches.delete(key) };
  };
}

/**
 * Whether the service confirmed our parts (`md5s`, in order): a sentence saying how when it did, else
 * undefined (with `why` set to the reason, for the log).
 */
export function confirmation(md5s: readonly string[], seen: UploadWatch): { confirmed?: string; why?: string } {
  if (md5s.length === 1 && seen.single !== undefined) {
    return seen.single === md5s[0]
      ? { confirmed: 'the service returned the MD5 of the bytes it received (ETag), equal to ours' }
      : { why: 'the ETag the service returned is not the MD5 of the bytes sent' };
  }
  const listed = seen.completed;
  if (!listed) return { why: 'the service did not report the parts it assembled' };
  if (listed.length !== md5s.length) return { why: `${listed.length} parts were assembled, ${md5s.length} were sent` };
  for (let i = 0; i < md5s.length; i++) {
    const part = listed[i]!;
    if (part.partNumber !== i + 1) return { why: `part ${i + 1} is not where it belongs in the assembled object` };
    if (seen.parts.get(i + 1) !== md5s[i] || part.etag !== md5s[i])
      return {
        why: `the ETag of part ${i + 1} is not the MD5 of the bytes sent (a service whose ETags are not MD5s, e.g. SSE-KMS, or damage on the way)`,
      };
  }
  return {
    confirmed: `the service returned, for each of the ${md5s.length} parts, the MD5 of the bytes it received (ETag), equal to ours`,
  };
}
