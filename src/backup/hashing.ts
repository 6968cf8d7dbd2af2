import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';

/** Passes bytes through, counting them (no hash: for the raw side, where only the size matters). */
export class CountingStream extends Transform {
  bytes = 0;
  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    done(null, chunk);
  }
}

/**
 * The sha256 and size of a file, read through one reused 1 MiB buffer: no garbage per chunk, so the
 * process's memory stays where it was however big the file is.
 */
export async function hashFile(file: string): Promise<{ sha256: string; sizeBytes: number }> {
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      sizeBytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** Passes bytes through while hashing (sha256) and counting them; `onProgress` gets the running total. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    done(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}
