import { createHash } from 'node:crypto';
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
