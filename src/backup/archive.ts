/**
 * The streaming path shared by every backup: raw bytes → compress → (check) → encrypt → hash → store.
 * Nothing is buffered whole and nothing touches the disk unless the store is a directory. With the
 * compression command installed, the producer (pg_dump, tar) writes straight into it (see codec.ts).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Store } from '../storage/types.js';
import type { RunningProducer } from '../util/child.js';
import type { ArchiveCheck } from './check.js';
import { codecCommand, startCodec } from './codec.js';
import type { Compression } from './compression.js';
import {
  type DecryptionKeys,
  type Encryption,
  type EncryptionRecord,
  decryptStream,
  encryptStream,
} from './encryption.js';
import { CountingStream, HashingStream, hashFile } from './hashing.js';
import { onAbort, throwIfInterrupted } from '../util/signals.js';

export interface WrittenArchive {
  sha256: string;
  sizeBytes: number;
  /** Bytes before compression, when known (counted in-process, or by the full check's decoder). */
  rawBytes?: number;
  /** How the store confirmed on upload that it received exactly these bytes (Store.put), when it did. */
  confirmed?: string;
}

/**
 * Writes the raw archive. Given `into` (the compression command's stdin), the producer either hands
 * it to a child as its stdout and closes this process's handle on it, or writes into it and ends it;
 * without `into`, it returns the raw bytes as `stream`.
 */
export type RawProducer = (into?: Writable) => Promise<RunningProducer>;

/** A producer for bytes that are already a stream (a file). */
export function streamProducer(open: () => Readable): RawProducer {
  return async (into) => {
    const stream = open();
    if (!into) return { stream, done: Promise.resolve() };
    return { done: pipeline(stream, into), kill: () => stream.destroy() };
  };
}

export async function writeArchive(
  produce: RawProducer,
  target: { store: Store; key: string },
  options: {
    compression: Compression;
    encryption: Encryption;
    /** Called with the number of bytes written to the store so far. */
    onProgress?: (storedBytes: number) => void;
    /** The full check, fed the compressed bytes as they are written (check.ts). */
    check?: ArchiveCheck;
    /** Aborting stops every stage (the producer, the codec, the check) and fails the upload, which then leaves nothing. */
    signal?: AbortSignal;
  },
): Promise<WrittenArchive> {
  const codec = startCodec(options.compression, 'compress');
  const check = options.check;
  let producer: RunningProducer;
  try {
    producer = await produce(codec.external ? codec.input : undefined);
  } catch (err) {
    codec.kill();
    check?.kill();
    throw err;
  }
  let counter: CountingStream | undefined;
  const stages: Promise<unknown>[] = [producer.done, codec.done];
  if (!codec.external) {
    counter = new CountingStream();
    stages.push(pipeline(producer.stream!, counter, codec.input));
  }

  const stored = new HashingStream(options.onProgress);
  // A stage that fails (or a cancelled run) destroys `stored` with its error, maybe before the store
  // has begun reading it; the store's put reports that error, so the event itself needs no handler.
  stored.on('error', () => undefined);
  // A pipe hands Node 64 KiB at a time; every stage after it (tee, hash, encryption, the write)
  // costs per chunk, so they get 1 MiB chunks instead.
  const output = codec.output!;
  let compressed: Readable = output.pipe(new Coalesce(1 << 20));
  output.once('error', (err) => compressed.destroy(err));
  compressed.once('error', (err) => stored.destroy(err));
  if (check) {
    const tee = new Tee(check.input);
    compressed.once('error', (err) => tee.destroy(err));
    compressed = compressed.pipe(tee);
    stages.push(check.done);
  }
  const encrypted = await encryptStream(compressed, options.encryption);
  encrypted.once('error', (err) => stored.destroy(err));
  const put = target.store.put(target.key, encrypted.pipe(stored), { signal: options.signal });

  // The first failure stops every other stage (a dead upload must not leave pg_dump blocked on a full pipe).
  let first: unknown;
  const abort = (err: unknown) => {
    if (first !== undefined) return;
    first = err;
    producer.kill?.();
    codec.kill();
    check?.kill();
    stored.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  const unlisten = onAbort(options.signal, () => abort(options.signal!.reason));
  await Promise.all([put, ...stages].map((p) => p.catch(abort))).finally(unlisten);
  if (first !== undefined) throw first;
  // Aborted after every stage had finished: the object was written whole, but the caller decides its fate.
  throwIfInterrupted(options.signal);
  const { size, confirmed } = await put;
  const checked = check ? await check.done : undefined;
  return { sha256: stored.digest(), sizeBytes: size!, rawBytes: counter?.bytes ?? checked?.rawBytes, confirmed };
}

/** Passes bytes through while also writing them to `side` (waiting for it, so the slower reader sets the pace). */
class Tee extends Transform {
  constructor(private readonly side: Writable) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    if (this.side.write(chunk)) return done(null, chunk);
    this.side.once('drain', () => done(null, chunk));
  }
  override _flush(done: (err?: Error | null) => void): void {
    this.side.end();
    done();
  }
}

/** Passes bytes through in chunks of at least `size` bytes (the last one may be shorter). */
export class Coalesce extends Transform {
  private parts: Buffer[] = [];
  private length = 0;
  constructor(private readonly size: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.parts.push(chunk);
    this.length += chunk.length;
    if (this.length < this.size) return done();
    const out = this.parts.length === 1 ? chunk : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    done(null, out);
  }
  override _flush(done: (err?: Error | null, data?: Buffer) => void): void {
    done(null, this.length ? Buffer.concat(this.parts, this.length) : undefined);
  }
}

export interface ReadArchive {
  /** Resolves with the sha256 and size of the stored bytes once they have all been read. */
  stored: Promise<{ sha256: string; sizeBytes: number }>;
  /** Settles when the decompressed bytes have all been written to `to`. */
  done: Promise<void>;
}

/**
 * Reads an archive back: stored bytes → sha256 → decrypt → decompress into `to` (a file descriptor or a
 * child's stdin, which the decompressor takes over; see startCodec).
 */
export async function readArchive(
  source: { store: Store; key: string },
  options: { compression: Compression; encryption?: EncryptionRecord; keys: DecryptionKeys; signal?: AbortSignal },
  to: number | Writable,
): Promise<ReadArchive> {
  throwIfInterrupted(options.signal);
  const local = source.store.localPath?.(source.key);
  if (local && !options.encryption && codecCommand(options.compression, 'decompress')) {
    const fd = await open(local, 'r').catch(() => undefined);
    // A file the decompressor reads itself while Node hashes it: no copy through Node, no garbage.
    if (fd) return readLocalArchive(local, fd, options.compression, to, options.signal);
  }
  const body = await source.store.get(source.key);
  const unlisten = onAbort(options.signal, () => body.destroy(options.signal!.reason as Error));
  const hasher = new HashingStream();
  body.once('error', (err) => hasher.destroy(err));
  const hashed = body.pipe(hasher);
  let decrypted: Readable;
  try {
    decrypted = await decryptStream(hashed, options.keys, options.encryption);
  } catch (err) {
    body.destroy();
    throw err;
  }
  const codec = startCodec(options.compression, 'decompress', to);
  const fed = pipeline(decrypted, codec.input);
  const stored = fed.then(() => ({ sha256: hasher.digest(), sizeBytes: hasher.bytes }));
  stored.catch(() => codec.kill());
  const done = Promise.all([fed, codec.done]).then(() => undefined);
  done.catch(() => undefined);
  void done.finally(unlisten).catch(() => undefined);
  return { stored, done };
}

function readLocalArchive(
  file: string,
  handle: FileHandle,
  compression: Compression,
  to: number | Writable,
  signal?: AbortSignal,
): ReadArchive {
  const codec = startCodec(compression, 'decompress', to, handle.fd);
  void handle.close();
  const stored = hashFile(file);
  stored.catch(() => codec.kill());
  const unlisten = onAbort(signal, () => codec.kill());
  const done = codec.done.finally(unlisten);
  done.catch(() => undefined);
  return { stored, done };
}
