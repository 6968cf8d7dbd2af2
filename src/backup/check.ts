/**
 * verify: full, done while the backup is written: the compressed bytes (before encryption) are decoded
 * again and read whole by the reader of their format — pg_restore (custom), tar (directory), the
 * "dump complete" trailer (plain) — beside the dump, on the other core, instead of after it. The
 * stored object is then read back and its sha256 compared (verify.ts).
 */
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExternalError } from '../errors.js';
import type { PgClient } from '../postgres/client.js';
import type { DumpFormat } from '../postgres/dump.js';
import { killChild, type RunningChild, spawnTool, stdinSink } from '../util/child.js';
import { type Codec, startCodec } from './codec.js';
import type { Compression } from './compression.js';

export interface ArchiveCheck {
  /** Write the compressed archive here. */
  input: Writable;
  /** Resolves once the whole archive was read and found complete. */
  done: Promise<{ rawBytes?: number }>;
  kill(): void;
}

export function startArchiveCheck(format: DumpFormat, compression: Compression, pgClient?: PgClient): ArchiveCheck {
  let reader: RunningChild | undefined;
  let codec: Codec;
  let read: Promise<void>;
  if (format === 'plain') {
    codec = startCodec(compression, 'decompress');
    read = readsWithTrailer(codec.output!);
  } else {
    reader =
      format === 'custom'
        ? spawnTool(pgClient!.bin('pg_restore'), ['--file=/dev/null'], {
            env: { ...process.env, ...pgClient!.env },
            stdin: 'pipe',
            stdout: 'ignore',
          })
        : spawnTool('tar', ['-tf', '-'], { stdin: 'pipe', stdout: 'ignore' });
    codec = startCodec(compression, 'decompress', reader.stdin);
    read = reader.done;
  }
  const done = (async () => {
    const [decoded, readWhole] = await Promise.allSettled([codec.done, read]);
    if (readWhole.status === 'rejected') throw describe(readWhole.reason);
    // A reader may exit as soon as it has read the archive's last block; the decoder then meets a
    // closed pipe, which is no fault of the archive's.
    if (decoded.status === 'rejected' && !/SIGPIPE|Broken pipe/i.test(String(decoded.reason))) {
      throw describe(decoded.reason);
    }
    return { rawBytes: decoded.status === 'fulfilled' ? codec.outputBytes() : undefined };
  })();
  done.catch(() => undefined);
  return {
    input: stdinSink(codec.input),
    done,
    kill: () => {
      codec.kill();
      if (reader) killChild(reader);
    },
  };
}

function describe(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new ExternalError(`verification failed: the archive does not read back whole (${message})`);
}

async function readsWithTrailer(stream: NodeJS.ReadableStream): Promise<void> {
  let tail = '';
  const keepTail = new Transform({
    transform(chunk: Buffer, _e, done) {
      tail = (tail + chunk.toString('latin1')).slice(-4096);
      done();
    },
  });
  await pipeline(stream, keepTail, devNull());
  if (!tail.includes('PostgreSQL database dump complete'))
    throw new Error('the SQL dump lacks its "dump complete" trailer');
}

export function devNull(): Writable {
  return new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
}
