/** The compression command's arguments, and the 1 MiB re-chunking of the compressed stream. */
import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Coalesce } from '../../src/backup/archive.js';
import { codecCommand } from '../../src/backup/codec.js';
import { hashFile } from '../../src/backup/hashing.js';

describe('codecCommand', () => {
  const zstd = codecCommand({ algo: 'zstd', level: 3 }, 'compress');
  const onPath = zstd !== undefined;

  (onPath ? it : it.skip)('compresses with zstd on every core (at most 8), at the level asked for', () => {
    expect(zstd!.args).toEqual(['-q', '-c', '-3', `-T${Math.min(availableParallelism(), 8)}`]);
    expect(codecCommand({ algo: 'zstd' }, 'decompress')!.args).toEqual(['-d', '-c', '-v']);
  });

  it('leaves gzip single-threaded and uses no command for none or OPSKIT_CODEC=node', () => {
    const gzip = codecCommand({ algo: 'gzip' }, 'compress');
    if (gzip) expect(gzip.args).toEqual(['-q', '-c', '-6']);
    expect(codecCommand({ algo: 'none' }, 'compress')).toBeUndefined();
    process.env.OPSKIT_CODEC = 'node';
    try {
      expect(codecCommand({ algo: 'zstd' }, 'compress')).toBeUndefined();
    } finally {
      delete process.env.OPSKIT_CODEC;
    }
  });
});

describe('Coalesce', () => {
  it('passes every byte through, in order, in chunks of at least the size but the last', async () => {
    const input = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i));
    const out: Buffer[] = [];
    for await (const chunk of Readable.from(input).pipe(new Coalesce(4096))) out.push(chunk as Buffer);
    expect(Buffer.concat(out).equals(Buffer.concat(input))).toBe(true);
    expect(out.slice(0, -1).every((c) => c.length >= 4096)).toBe(true);
    expect(out.length).toBeLessThan(input.length / 3);
  });

  it('passes an empty stream through empty', async () => {
    const out: Buffer[] = [];
    for await (const chunk of Readable.from([]).pipe(new Coalesce(4096))) out.push(chunk as Buffer);
    expect(out).toEqual([]);
  });
});

describe('hashFile', () => {
  it.each([0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 7])(
    'hashes a file of %d bytes like one sha256 over it',
    async (n) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'opskit-hash-'));
      try {
        const bytes = randomBytes(n);
        writeFileSync(path.join(dir, 'f'), bytes);
        expect(await hashFile(path.join(dir, 'f'))).toEqual({
          sha256: createHash('sha256').update(bytes).digest('hex'),
          sizeBytes: n,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
