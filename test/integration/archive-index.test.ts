/**
 * indexArchive on real pg_dump output: an archive streamed through a pipe, once patched, carries
 * exactly the offsets pg_dump writes itself when it can seek (only the header's creation time
 * differs), pg_restore --jobs=2 restores it whole, an archive it cannot read is left as it is, and
 * the rows it counts per table are the source's (not its lines: values with newlines, empty tables),
 * with no count where the data is not one COPY row per chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { followArchive, indexArchive } from '../../src/postgres/archive-index.js';
import { type PgServer, rowCounts, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { runProcess } from '../harness/process.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
const file = (name: string) => path.join(dir.path, name);

/** pg_dump -Fc -Z0 of `db`, to a file it can seek in (`seekable`) or through a pipe (as db-backup runs it). */
async function dump(db: string, out: string, seekable: boolean, extra: string[] = ['-Z0']): Promise<void> {
  const pgDump = path.join(pg.binDir, 'pg_dump');
  const args = ['-Fc', ...extra, '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'opskit', db];
  const script = seekable ? `exec "$0" "$@" -f "$OUT"` : `"$0" "$@" | cat > "$OUT"`;
  const r = await runProcess('sh', ['-c', script, pgDump, ...args], {
    env: { ...process.env, PGPASSWORD: pg.password, OUT: out },
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-offsets-')]);
  await seedSampleSchema(pg, 'app', { scale: 1 });
  // Large objects make a BLOBS block (its own layout) between the tables' data.
  await pg.psql(
    `SELECT lo_from_bytea(0, convert_to(repeat('opskit ', 5000), 'UTF8')) FROM generate_series(1, 3);
     CREATE TABLE after_blobs AS SELECT g FROM generate_series(1, 1000) g;
     CREATE TABLE notes AS SELECT g AS id, 'first line' || chr(10) || '\\.' || chr(10) || g AS body FROM generate_series(1, 50) g;
     CREATE TABLE slashes AS SELECT '\\.' || g AS v FROM generate_series(1, 5) g;
     CREATE TABLE "Empty one" (x int);`,
    'app',
  );
  await Promise.all([
    dump('app', file('seekable.dump'), true),
    dump('app', file('piped.dump'), false),
    dump('app', file('zlib.dump'), false, ['-Z1']),
    dump('app', file('inserts.dump'), false, ['-Z0', '--inserts']),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

/** Positions at which two equally long files differ. */
function differences(a: Buffer, b: Buffer): number[] {
  expect(a.length).toBe(b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

describe('indexArchive: offsets', () => {
  it('writes the offsets pg_dump writes when it can seek', async () => {
    const listing = (await runProcess(path.join(pg.binDir, 'pg_restore'), ['-l', file('seekable.dump')])).stdout;
    const seekable = readFileSync(file('seekable.dump'));
    const before = differences(readFileSync(file('piped.dump')), seekable);
    // Streamed, the TOC lacks every data offset: the files differ beyond the header.
    expect(before.some((i) => i > 64)).toBe(true);

    copyFileSync(file('piped.dump'), file('patched.dump'));
    const result = indexArchive(file('patched.dump')).offsets;
    // Every block of data pg_restore lists: each table's, and the large objects'.
    const blocks = listing.split('\n').filter((l) => / (TABLE DATA|BLOBS) /.test(l));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    expect(result).toEqual({ patched: blocks.length });
    // What is left is the creation time in the header (7 integers after the first 20 bytes).
    const after = differences(readFileSync(file('patched.dump')), seekable);
    expect(after.every((i) => i < 60)).toBe(true);
  });

  it('leaves an archive whose offsets are set as it is', () => {
    copyFileSync(file('seekable.dump'), file('again.dump'));
    expect(indexArchive(file('again.dump')).offsets).toEqual({ skipped: 'the offsets are already set' });
    expect(readFileSync(file('again.dump')).equals(readFileSync(file('seekable.dump')))).toBe(true);
  });

  it('a patched archive restores whole with pg_restore --jobs=2', async () => {
    await pg.psql('CREATE DATABASE restored');
    const run = await runProcess(
      path.join(pg.binDir, 'pg_restore'),
      [
        '--jobs=2',
        '--exit-on-error',
        '-h',
        '127.0.0.1',
        '-p',
        String(pg.port),
        '-U',
        'opskit',
        '-d',
        'restored',
        file('patched.dump'),
      ],
      { env: { ...process.env, PGPASSWORD: pg.password } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await rowCounts(pg, 'restored')).toEqual(await rowCounts(pg, 'app'));
    expect(await pg.psql('SELECT count(*) FROM pg_largeobject_metadata', 'restored')).toBe('3');
  }, 120_000);

  it.each([
    ['truncated in the data', (b: Buffer) => b.subarray(0, b.length - 1000), 'unexpected end of archive'],
    ['not an archive', () => Buffer.from('-- PostgreSQL database dump\n'), 'not a custom-format archive'],
  ])('leaves an archive it cannot read as it is (%s)', (_name, damage, reason) => {
    const damaged = damage(readFileSync(file('piped.dump')));
    writeFileSync(file('damaged.dump'), damaged);
    expect(indexArchive(file('damaged.dump'))).toEqual({ offsets: { skipped: reason } });
    expect(readFileSync(file('damaged.dump')).equals(damaged)).toBe(true);
  });
});

describe('indexArchive: rows', () => {
  it("counts each table's rows, as the source has them", async () => {
    const source = await rowCounts(pg, 'app');
    expect(source['public.notes']).toBe(50);
    expect(source['public.Empty one']).toBe(0);
    expect(source['public.slashes']).toBe(5);
    copyFileSync(file('piped.dump'), file('rows.dump'));
    const { rows } = indexArchive(file('rows.dump'));
    expect(Object.fromEntries([...rows!].sort())).toEqual(source);
    // Offsets already written by pg_dump do not stop the count.
    copyFileSync(file('seekable.dump'), file('seekable-rows.dump'));
    expect(Object.fromEntries([...indexArchive(file('seekable-rows.dump')).rows!].sort())).toEqual(source);
  });

  it('gives no count where a chunk is not a row', () => {
    // Compressed inside (zlib chunks), or INSERT statements instead of COPY rows.
    expect(indexArchive(file('zlib.dump')).rows).toBeUndefined();
    const inserts = indexArchive(file('inserts.dump'));
    expect(inserts.offsets).toEqual({ patched: expect.any(Number) });
    expect(inserts.rows?.size).toBe(0);
  });
});

/** Writes `bytes` to `target` in pieces of odd sizes (splitting integers, strings and chunks), a millisecond apart. */
async function writeSlowly(target: string, bytes: Buffer): Promise<void> {
  const fd = openSync(target, 'w');
  try {
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = Math.min(bytes.length - at, 65_521 + ((i * 7_919) % 40_009));
      writeSync(fd, bytes, at, n);
      at += n;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    closeSync(fd);
  }
}

describe('followArchive', () => {
  it('walks an archive while it is being written, as if it had been written whole', async () => {
    const whole = readFileSync(file('piped.dump'));
    copyFileSync(file('piped.dump'), file('whole.dump'));
    const expected = indexArchive(file('whole.dump'));

    const walker = await followArchive(file('growing.dump'), writeSlowly(file('growing.dump'), whole));
    // It caught up with the writer and waited many times on the way.
    expect(walker.waits).toBeGreaterThan(5);
    // Nothing is written into the archive until apply(), which comes after verification.
    expect(readFileSync(file('growing.dump')).equals(whole)).toBe(true);
    expect(walker.apply()).toEqual(expected);
    expect(readFileSync(file('growing.dump')).equals(readFileSync(file('whole.dump')))).toBe(true);
  });

  it('gives up on an archive whose writer stopped short or failed', async () => {
    const part = readFileSync(file('piped.dump')).subarray(0, 2_000_000);
    const short = await followArchive(file('short.dump'), writeSlowly(file('short.dump'), part));
    expect(short.apply()).toEqual({ offsets: { skipped: 'unexpected end of archive' } });
    expect(readFileSync(file('short.dump')).equals(part)).toBe(true);

    const failing = writeSlowly(file('failed.dump'), part).then(() => Promise.reject(new Error('read failed')));
    const failed = await followArchive(file('failed.dump'), failing);
    await expect(failing).rejects.toThrow('read failed');
    expect(failed.apply().offsets).toHaveProperty('skipped');
  });
});
