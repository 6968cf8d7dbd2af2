/**
 * Compression and decompression as a stage of the backup stream. When the zstd, gzip or lz4 command
 * is installed it does the work in a process of its own, and the process before it (pg_dump, tar) or
 * after it (pg_restore, tar, the restore's temp file) is wired to it by an OS pipe or file descriptor:
 * the raw dump never passes through Node, which is what keeps db-backup close to pg_dump's own speed
 * (docs/benchmarks.md). Without the command, Node's zlib does it in-process.
 */
import { closeSync, createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Duplex, Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { killChild, spawnTool, stdinSink } from '../util/child.js';
import { findOnPath } from '../util/path.js';
import { type Compression, compressor, decompressor } from './compression.js';
import { CountingStream } from './hashing.js';

export interface Codec {
  /** Write the input here: the command's stdin (an OS pipe another child can be given as its stdout) or a zlib stream. */
  input: Writable;
  /** True when `input` is a command's stdin pipe. */
  external: boolean;
  /** The output, unless it was sent to `to`. */
  output: Readable | undefined;
  /** Settles when the codec has finished (the command exited 0, or the zlib stream ended). */
  done: Promise<void>;
  /** Decompression: how many bytes came out, when known (counted, or reported by `zstd -v`). */
  outputBytes(): number | undefined;
  /** Stops the command, if it still runs. */
  kill(): void;
}

type Direction = 'compress' | 'decompress';

/** The command that does `c` in `direction`, or undefined when none is installed (or OPSKIT_CODEC=node). */
export function codecCommand(c: Compression, direction: Direction): { command: string; args: string[] } | undefined {
  if (c.algo === 'none' || process.env.OPSKIT_CODEC === 'node') return undefined;
  const command = findOnPath(c.algo);
  if (!command) return undefined;
  if (direction === 'decompress') return { command, args: c.algo === 'zstd' ? ['-d', '-c', '-v'] : ['-d', '-c'] };
  const level = c.level ?? (c.algo === 'gzip' ? 6 : 1);
  // zstd writes a content checksum by default; -q keeps its stderr for errors.
  // zstd compresses on every core (up to 8): beside pg_dump and the server, one core is the bottleneck.
  const threads = c.algo === 'zstd' ? [`-T${Math.min(availableParallelism(), 8)}`] : [];
  return { command, args: ['-q', '-c', `-${level}`, ...threads] };
}

/**
 * Starts a codec. `to`: where the output goes instead of `output`: a file descriptor, or another
 * child's stdin. The codec takes `to` over: this process's handle on it is closed once the codec has
 * it (a command holds its own copy), or when the in-process codec has finished writing into it.
 */
export function startCodec(
  c: Compression,
  direction: Direction,
  to?: number | Writable,
  /** A command reads its input from this file descriptor instead of `input` (the caller closes it after). */
  from?: number,
): Codec {
  const cmd = codecCommand(c, direction);
  if (cmd) {
    const tool = spawnTool(cmd.command, cmd.args, { stdin: from ?? 'pipe', stdout: to ?? 'pipe' });
    if (typeof to === 'number') closeSync(to);
    else to?.destroy();
    return {
      input: tool.stdin,
      external: true,
      output: to === undefined ? tool.stdout : undefined,
      done: tool.done,
      outputBytes: () => {
        const m = / : (\d+) bytes\s*$/m.exec(tool.stderrText());
        return m ? Number(m[1]) : undefined;
      },
      kill: () => killChild(tool),
    };
  }
  const stream: Duplex = direction === 'compress' ? compressor(c) : decompressor(c);
  const counted = new CountingStream();
  stream.on('error', (err) => counted.destroy(err));
  stream.pipe(counted);
  const done =
    to === undefined
      ? finished(counted)
      : pipeline(counted, typeof to === 'number' ? createWriteStream('', { fd: to }) : stdinSink(to));
  done.catch(() => undefined);
  return {
    input: stream,
    external: false,
    output: to === undefined ? counted : undefined,
    done,
    outputBytes: () => counted.bytes,
    // With an error: a stream destroyed without one never ends what it pipes into, and `done` would never settle.
    kill: () => {
      const stopped = new Error(`the ${direction === 'compress' ? 'compressor' : 'decompressor'} was stopped`);
      stream.destroy(stopped);
      counted.destroy(stopped);
    },
  };
}
