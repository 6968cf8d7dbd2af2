/**
 * verify: full at backup time, on a real PostgreSQL: an archive that does not decode whole (a compressor
 * that truncates or damages its output) and stored bytes that read back altered are both caught, and the
 * backup is removed with no manifest, so nothing looks like a good backup.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { memoryLogger } from '../../src/logger.js';
import { createFileStore } from '../../src/storage/file.js';
import { runAction } from '../harness/action.js';
import { type PgServer, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { runProcess } from '../harness/process.js';
import { tempDir } from '../harness/tmp.js';
import { pgBackup } from '../harness/backup.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let fakeBin: string;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-backup-verify-')]);
  await seedSampleSchema(pg, 'app', { scale: 1 });
  // A zstd that compresses with the real one, then damages its output as FAKE_ZSTD says; it decompresses truly.
  const realZstd = (await runProcess('sh', ['-c', 'command -v zstd'])).stdout.trim();
  expect(realZstd).toMatch(/\/zstd$/);
  fakeBin = path.join(dir.path, 'bin');
  mkdirSync(fakeBin);
  writeFileSync(
    path.join(fakeBin, 'zstd'),
    `#!/bin/sh
case " $* " in *" -d "*) exec ${realZstd} "$@";; esac
${realZstd} "$@" | python3 -c '
import os, sys
d = bytearray(sys.stdin.buffer.read())
if os.environ["FAKE_ZSTD"] == "truncate": d = d[: len(d) * 7 // 10]
else: d[len(d) // 2] ^= 0x01
sys.stdout.buffer.write(d)'
`,
  );
  chmodSync(path.join(fakeBin, 'zstd'), 0o755);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

const files = (d: string) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};

describe('verify: full while the backup is written', () => {
  it.each(['truncate', 'flip'])(
    'refuses an archive whose compressor damaged it (%s) and keeps nothing',
    async (mode) => {
      const dest = path.join(dir.path, `damaged-${mode}`);
      const run = await runAction(
        'db-backup',
        { 'database-url': pg.url('app'), destination: dest, compression: 'zstd' },
        { env: { PATH: `${fakeBin}:${process.env.PATH}`, FAKE_ZSTD: mode } },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        /::error::db-backup failed: verification failed: the archive does not read back whole \(/,
      );
      expect(files(dest).filter((f) => !f.startsWith('.'))).toEqual([]);
    },
    60_000,
  );

  it('is what catches it: with verify: checksum the same damaged archive is stored', async () => {
    const dest = path.join(dir.path, 'damaged-checksum');
    const run = await runAction(
      'db-backup',
      { 'database-url': pg.url('app'), destination: dest, compression: 'zstd', verify: 'checksum' },
      { env: { PATH: `${fakeBin}:${process.env.PATH}`, FAKE_ZSTD: 'flip' } },
    );
    expect(run.code).toBe(0);
    expect(files(dest).sort()).toEqual([
      expect.stringMatching(/\.dump\.zst$/),
      expect.stringMatching(/\.manifest\.json$/),
    ]);
    const zstd = await runProcess('zstd', [
      '-t',
      '-q',
      path.join(
        dest,
        files(dest).find((f) => f.endsWith('.zst'))!,
      ),
    ]);
    expect(zstd.code).not.toBe(0);
  }, 60_000);

  it('catches stored bytes that read back altered, removes the archive and writes no manifest', async () => {
    const root = path.join(dir.path, 'altered');
    const files = createFileStore(root);
    // The store accepts the bytes, then hands back one flipped byte: a disk or bucket that lost a bit.
    const store = {
      ...files,
      // Read back through get(), where the flip happens, not from the file itself.
      localPath: undefined,
      async get(key: string) {
        let seen = 0;
        let flipped = false;
        return (await files.get(key)).pipe(
          new Transform({
            transform(chunk: Buffer, _e, done) {
              if (!flipped && seen + chunk.length > 1000) {
                chunk = Buffer.from(chunk);
                chunk[Math.max(0, 1000 - seen)]! ^= 0x01;
                flipped = true;
              }
              seen += chunk.length;
              done(null, chunk);
            },
          }),
        );
      },
    };
    const logger = memoryLogger();
    await expect(
      pgBackup({ url: pg.url('app'), store, nameTemplate: 'altered', verify: 'full', tempDir: dir.path, logger }),
    ).rejects.toThrow(
      /verification failed: .*altered\.dump\.zst reads back with sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/,
    );
    expect(files.uri('x')).toContain(root);
    expect(readdirSync(root)).toEqual([]);
    expect(logger.lines.join('\n')).toContain('failed verification and was removed');
  }, 60_000);
});

describe('without the zstd command (Node zlib in-process)', () => {
  it.each([
    ['node', 'command'],
    ['command', 'node'],
  ])(
    'a backup compressed by %s is verified and restored by the %s codec',
    async (writer, reader) => {
      const dest = path.join(dir.path, `codec-${writer}`);
      // With OPSKIT_CODEC=node the damaging zstd on PATH must not matter: the zstd command is not used.
      const codecEnv = (who: string): Record<string, string> =>
        who === 'node' ? { OPSKIT_CODEC: 'node', PATH: `${fakeBin}:${process.env.PATH}`, FAKE_ZSTD: 'flip' } : {};
      const made = await runAction(
        'db-backup',
        { 'database-url': pg.url('app'), destination: dest, compression: 'zstd:3' },
        { env: codecEnv(writer) },
      );
      expect(made.code).toBe(0);
      expect(made.summary).toContain('verified (full)');
      const restored = await runAction(
        'db-restore',
        { 'database-url': pg.url('postgres'), source: made.outputs.uri!, 'target-database': `codec_${writer}` },
        { env: codecEnv(reader) },
      );
      expect(restored.code).toBe(0);
      expect(restored.outputs['matches-manifest']).toBe('true');
      expect(Number(restored.outputs.rows)).toBeGreaterThan(100_000);
    },
    90_000,
  );
});
