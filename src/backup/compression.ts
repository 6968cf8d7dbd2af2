/**
 * Stream compression for backups: zstd (Node's zlib, Node 22.15+/24), gzip (zlib), lz4 (the lz4
 * command), none. pg_dump itself writes uncompressed (-Z0) so compression runs beside it, on
 * another core, instead of inside pg_dump's single thread.
 */
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { ConfigurationError, inputError } from '../errors.js';
import { spawnTool } from '../util/child.js';
import { findOnPath } from '../util/path.js';

export type CompressionAlgo = 'zstd' | 'gzip' | 'lz4' | 'none';
export interface Compression {
  algo: CompressionAlgo;
  level?: number;
}

const LEVELS: Record<Exclude<CompressionAlgo, 'none'>, [number, number]> = {
  zstd: [1, 19],
  gzip: [1, 9],
  lz4: [1, 12],
};
export const COMPRESSION_EXTENSION: Record<CompressionAlgo, string> = {
  zstd: '.zst',
  gzip: '.gz',
  lz4: '.lz4',
  none: '',
};

type ZlibWithZstd = typeof zlib & {
  createZstdCompress?: (o?: object) => Duplex;
  createZstdDecompress?: (o?: object) => Duplex;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number; ZSTD_c_checksumFlag?: number };
};
const z = zlib as ZlibWithZstd;

/** Node's zlib has zstd (Node 22.15+, 24). */
function nodeHasZstd(): boolean {
  return typeof z.createZstdCompress === 'function';
}

/** zstd can be done here: by the zstd command (see codec.ts), or by Node's zlib. */
export function zstdAvailable(): boolean {
  return nodeHasZstd() || (process.env.OPSKIT_CODEC !== 'node' && findOnPath('zstd') !== undefined);
}

export function parseCompression(input: string, raw: string): Compression | 'auto' {
  const text = raw.trim().toLowerCase() || 'auto';
  if (text === 'auto') return 'auto';
  const expected = 'auto, zstd[:level], gzip[:level], lz4[:level] or none';
  const m = /^(zstd|gzip|lz4|none)(?::(\d+))?$/.exec(text);
  if (!m) throw inputError(input, expected, raw);
  const algo = m[1] as CompressionAlgo;
  if (m[2] === undefined) return { algo };
  if (algo === 'none') throw inputError(input, 'none without a level', raw);
  const [min, max] = LEVELS[algo];
  const level = Number(m[2]);
  if (level < min || level > max) throw inputError(input, `a ${algo} level from ${min} to ${max}`, raw);
  return { algo, level };
}

export function resolveCompression(spec: Compression | 'auto'): Compression {
  // zstd:1: the best speed for its size on pg_dump output (docs/benchmarks.md).
  if (spec === 'auto') return zstdAvailable() ? { algo: 'zstd', level: 1 } : { algo: 'gzip', level: 6 };
  if (spec.algo === 'zstd' && !zstdAvailable()) {
    throw new ConfigurationError(
      `input 'compression': zstd needs the zstd command or Node.js 22.15 or newer (this is ${process.version}); install zstd, or use gzip or auto`,
    );
  }
  return spec;
}

export function describeCompression(c: Compression): string {
  return c.level === undefined ? c.algo : `${c.algo}:${c.level}`;
}

export function compressor(c: Compression): Duplex {
  switch (c.algo) {
    case 'zstd':
      if (!nodeHasZstd())
        throw new ConfigurationError(`zstd compression needs the zstd command or Node.js 22.15 or newer`);
      return z.createZstdCompress!({
        params: { [z.constants.ZSTD_c_compressionLevel!]: c.level ?? 1, [z.constants.ZSTD_c_checksumFlag!]: 1 },
      });
    case 'gzip':
      return zlib.createGzip({ level: c.level ?? 6 });
    case 'lz4':
      return toolDuplex('lz4', ['-c', `-${c.level ?? 1}`, '-']);
    case 'none':
      return new PassThrough();
  }
}

export function decompressor(c: Compression): Duplex {
  switch (c.algo) {
    case 'zstd':
      if (!nodeHasZstd())
        throw new ConfigurationError(
          `this backup is zstd-compressed, which needs the zstd command or Node.js 22.15 or newer`,
        );
      return z.createZstdDecompress!({ chunkSize: 256 * 1024 });
    case 'gzip':
      return zlib.createGunzip();
    case 'lz4':
      return toolDuplex('lz4', ['-d', '-c', '-']);
    case 'none':
      return new PassThrough();
  }
}

/** A command as a Duplex (stdin → stdout); a non-zero exit destroys the stream with the tool's error. */
function toolDuplex(command: string, args: string[]): Duplex {
  const tool = spawnTool(command, args, { stdin: 'pipe' });
  const duplex = Duplex.from({ writable: tool.stdin, readable: tool.stdout });
  tool.done.catch((err) => duplex.destroy(err));
  duplex.on('close', () => {
    if (tool.child.exitCode === null) tool.child.kill();
  });
  return duplex;
}
