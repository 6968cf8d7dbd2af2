/** Where the time goes: each piece alone, once, on the large database. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cleanEnv, ms, run, sampledRun } from '../lib.js';
import { q } from './cases.js';
import { DB_BENCH_ENTRY, TABLES } from './config.js';

export async function profile(ctx, size) {
  const log = ctx.log;
  const out = {};
  // The exact row counts db-backup takes in the dump's snapshot beside pg_dump: one count(*) per table, one after
  // another, without parallel workers (as db-backup sets them).
  const counts = Array.from({ length: TABLES }, (_, i) => `SELECT count(*) FROM t${i + 1};`).join('\n');
  let cpu0 = ctx.pg.cpuSeconds();
  const t = performance.now();
  await ctx.pg.psql(
    `SET max_parallel_workers_per_gather = 0;\nBEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n${counts}\nCOMMIT;`,
    size.db,
  );
  out.countsMs = performance.now() - t;
  out.countsServerCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  log(`db: profile: ${TABLES} × count(*) ${ms(out.countsMs)}`);
  // The raw dump once to a file, then each piece of the new path over it, alone.
  const raw = path.join(ctx.work, 'raw.dump');
  const zst = `${raw}.zst`;
  cpu0 = ctx.pg.cpuSeconds();
  const dump = await sampledRun(ctx.pg.bin('pg_dump'), ['-Fc', '-Z0', ...ctx.pg.conn, '-d', size.db, '-f', raw], {
    env: ctx.pg.clientEnv,
  });
  if (dump.code !== 0) throw new Error(`pg_dump -f failed: ${dump.stderr}`);
  out.dumpToFileMs = dump.wallMs;
  out.pgDumpCpuSeconds = dump.time?.cpuSeconds;
  out.dumpServerCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  try {
    out.rawBytes = (await stat(raw)).size;
    const pieces = [
      // What db-backup's default runs (codec.ts: zstd -q -c -1 -T<cores>, fed by pg_dump's stdout).
      {
        id: 'zstd',
        command: 'zstd',
        args: ['-q', '-1', `-T${Math.min(os.availableParallelism(), 8)}`, '-f', raw, '-o', zst],
      },
      { id: 'unzstd', command: 'zstd', args: ['-q', '-d', '-c', zst], stdout: 'ignore' },
      // The full check alone (check.ts), over the stored archive.
      {
        id: 'check',
        command: 'bash',
        args: ['-c', `set -o pipefail; zstd -q -d -c ${q(zst)} | ${q(ctx.pg.bin('pg_restore'))} --file=/dev/null`],
      },
    ];
    out.commands = {};
    for (const p of pieces) {
      const r = await sampledRun(p.command, p.args, { env: cleanEnv(), stdout: p.stdout ?? 'pipe' });
      if (r.code !== 0) throw new Error(`${p.command} ${p.args.join(' ')} failed (${r.code}): ${r.stderr}`);
      out.commands[p.id] = { ms: r.wallMs, cpuSeconds: r.time?.cpuSeconds };
    }
    out.compressedBytes = (await stat(zst)).size;
    const r = await run(ctx.node, [DB_BENCH_ENTRY, '--stream-profile', raw, zst], {
      env: cleanEnv(),
      timeoutMs: 1_800_000,
    });
    if (r.code !== 0) throw new Error(`stream profile failed: ${r.stderr}`);
    Object.assign(out, JSON.parse(r.stdout));
  } finally {
    await rm(raw, { force: true });
    await rm(zst, { force: true });
  }
  log(
    `db: profile: zstd -1 ${ms(out.commands.zstd.ms)}, zstd -d ${ms(out.commands.unzstd.ms)}, ` +
      `zstd -d | pg_restore ${ms(out.commands.check.ms)}, ${out.stream.map((x) => `${x.name} ${ms(x.ms)}`).join(', ')}`,
  );
  return out;
}

/** Child mode (Node 24): times the in-process pieces over the raw dump and the stored (zstd -1) archive; prints JSON. */
export async function streamProfile(raw, stored) {
  const zlib = await import('node:zlib');
  let nodeZstdBytes = 0;
  const sink = (count = false) =>
    new Writable({
      highWaterMark: 64 * 1024,
      write(c, _e, done) {
        if (count) nodeZstdBytes += c.length;
        done();
      },
    });
  const hasher = () => {
    const h = createHash('sha256');
    return new Transform({
      transform(chunk, _e, done) {
        h.update(chunk);
        done(null, chunk);
      },
    });
  };
  const steps = [
    // verify's read-back (and db-restore's): the stored bytes hashed in Node.
    { id: 'sha256', name: 'sha256 of the stored archive (the read-back)', from: stored, build: () => [hasher()] },
    // OPSKIT_CODEC=node, or no zstd command: compression.ts's compressor() for zstd:1.
    {
      id: 'zstd',
      name: 'zlib zstd:1 of the raw dump (OPSKIT_CODEC=node)',
      from: raw,
      build: () => [
        zlib.createZstdCompress({
          params: { [zlib.constants.ZSTD_c_compressionLevel]: 1, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
        }),
      ],
      count: true,
    },
    {
      id: 'unzstd',
      name: 'zlib zstd -d of the stored archive (OPSKIT_CODEC=node)',
      from: stored,
      build: () => [zlib.createZstdDecompress()],
    },
  ];
  const results = [];
  for (const s of steps) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await pipeline(createReadStream(s.from), ...s.build(), sink(s.count));
    const used = process.cpuUsage(cpu);
    results.push({ id: s.id, name: s.name, ms: performance.now() - t, cpuSeconds: (used.user + used.system) / 1e6 });
  }
  return { nodeZstdBytes, stream: results };
}

/**
 * Child mode (Node 24): uploads a file, or stdin when `file` is `-`, the way `aws s3 cp` does (multipart, 8 MiB
 * parts, 10 at once). `unsigned` (the bare pipeline's floor) sends the parts as db-backup does: UNSIGNED-PAYLOAD,
 * 4 at once, so that the floor does no work the action does not.
 */
export async function upload(file, endpoint, bucket, key, unsigned) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (unsigned === 'unsigned') {
    client.middlewareStack.add(
      (next) => async (args) => {
        if (args.request?.headers) args.request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'benchUnsignedPayload' },
    );
  }
  try {
    await new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: file === '-' ? process.stdin : createReadStream(file) },
      partSize: 8 * 1024 * 1024,
      queueSize: unsigned === 'unsigned' ? 4 : 10,
    }).done();
  } finally {
    client.destroy();
  }
}
