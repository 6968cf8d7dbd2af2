/**
 * The streaming path shared by every backup: raw bytes → count → compress → encrypt → hash → store.
 * Nothing is buffered whole and nothing touches the disk unless the store is a directory.
 */
import { Readable } from 'node:stream';
import type { Store } from '../storage/types.js';
import { type Compression, compressor, decompressor } from './compression.js';
import {
  type DecryptionKeys,
  type Encryption,
  type EncryptionRecord,
  decryptStream,
  encryptStream,
} from './encryption.js';
import { CountingStream, HashingStream } from './hashing.js';

export interface WrittenArchive {
  sha256: string;
  sizeBytes: number;
  rawBytes: number;
}

export async function writeArchive(
  raw: Readable,
  target: { store: Store; key: string },
  options: { compression: Compression; encryption: Encryption; onProgress?: (rawBytes: number) => void },
): Promise<WrittenArchive> {
  const counter = new CountingStream(options.onProgress);
  const fail = (err: Error) => counter.destroy(err);
  raw.once('error', fail);
  const compressed = raw.pipe(counter).pipe(compressor(options.compression));
  counter.once('error', (err) => compressed.destroy(err));
  const encrypted = await encryptStream(compressed, options.encryption);
  const stored = new HashingStream();
  encrypted.once('error', (err) => stored.destroy(err));
  compressed.once('error', (err) => stored.destroy(err));
  const { size } = await target.store.put(target.key, encrypted.pipe(stored));
  return { sha256: stored.digest(), sizeBytes: size, rawBytes: counter.bytes };
}

export interface ReadArchive {
  /** The archive's original bytes (decrypted, decompressed). */
  stream: Readable;
  /** Resolves with the sha256 and size of the stored bytes once `stream` has been read to the end. */
  stored: Promise<{ sha256: string; sizeBytes: number }>;
}

export async function readArchive(
  source: { store: Store; key: string },
  options: { compression: Compression; encryption?: EncryptionRecord; keys: DecryptionKeys },
): Promise<ReadArchive> {
  const body = await source.store.get(source.key);
  const hasher = new HashingStream();
  body.once('error', (err) => hasher.destroy(err));
  const hashed = body.pipe(hasher);
  const stored = new Promise<{ sha256: string; sizeBytes: number }>((resolve, reject) => {
    hasher.once('end', () => resolve({ sha256: hasher.digest(), sizeBytes: hasher.bytes }));
    hasher.once('error', reject);
  });
  stored.catch(() => undefined);
  const decrypted = await decryptStream(hashed, options.keys, options.encryption);
  const out = decompressor(options.compression);
  decrypted.once('error', (err) => out.destroy(err));
  hasher.once('error', (err) => out.destroy(err));
  return { stream: decrypted.pipe(out), stored };
}
