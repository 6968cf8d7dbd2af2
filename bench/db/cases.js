/** One run of each case: the floor, the bundles (db-backup, db-restore) and the guides' way, each sampled in /proc. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, sampledRun } from '../lib.js';
import { parseOutputs } from '../smoke-concurrency.js';
import { DB_BENCH_ENTRY, RESTORE_JOBS } from './config.js';
import { totalRows } from './data.js';

/** Environment of a bundle run the way the runner sets it (inputs as INPUT_<NAME>, hyphens kept). */
export async function actionEnv(dir, inputs) {
  const outputFile = path.join(dir, 'github-output');
  const summaryFile = path.join(dir, 'step-summary.md');
  const runnerTemp = path.join(dir, 'runner-temp');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  await mkdir(runnerTemp, { recursive: true });
  const env = {};
  for (const [k, v] of Object.entries(cleanEnv())) if (!k.startsWith('PG') && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: runnerTemp,
    GITHUB_ACTIONS: 'true',
  });
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return { env, outputFile, summaryFile };
}

export const sec = (msValue) => msValue / 1000;
/** A word quoted for bash. */
export const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
export const isCmd = (c, name, flag) => c.comm === name && c.argv.some((a) => a.startsWith(flag));

/**
 * Phases of a bundle run whose children run together in groups (pg_dump, zstd and the check's zstd -d |
 * pg_restore): a group lasts from the first start to the last exit of the children its members match, and
 * keeps each member's CPU. Every group and `after` is always listed (0 ms when no child matched, e.g. a
 * child that lived less than one poll), so that the runs of a case can be put side by side by name.
 */
export function groupPhasesOf(children, wallMs, groups, after = 'after') {
  const phases = [];
  let at = 0;
  for (const { name, members } of groups) {
    const cpu = members.map((m) => {
      const hits = children.filter(m.match);
      return { name: m.name, hits, cpuSeconds: hits.reduce((a, c) => a + c.cpuSeconds, 0) };
    });
    const hits = cpu.flatMap((m) => m.hits);
    if (!hits.length) {
      phases.push({ name: `before ${name}`, ms: 0 }, { name, ms: 0, cpuSeconds: 0, cpu: [] });
      continue;
    }
    const first = Math.min(...hits.map((c) => c.firstMs));
    const last = Math.max(...hits.map((c) => c.lastMs));
    phases.push({ name: `before ${name}`, ms: Math.max(0, first - at) });
    phases.push({
      name,
      ms: last - first,
      cpuSeconds: cpu.reduce((a, m) => a + m.cpuSeconds, 0),
      cpu: cpu.filter((m) => m.hits.length).map((m) => ({ name: m.name, cpuSeconds: m.cpuSeconds })),
    });
    at = last;
  }
  phases.push({ name: after, ms: Math.max(0, wallMs - at) });
  return phases;
}

const isZstd = (c) => c.comm === 'zstd' && !c.argv.includes('-d');
const isUnzstd = (c) => c.comm === 'zstd' && c.argv.includes('-d');
/** db-backup: pg_dump, the zstd command and the full check run together; then the stored object is read back. */
export const BACKUP_PHASES = {
  groups: [
    {
      name: 'dump',
      members: [
        { name: 'pg_dump', match: (c) => isCmd(c, 'pg_dump', '--format=custom') },
        { name: 'zstd', match: isZstd },
        { name: 'check zstd -d', match: isUnzstd },
        { name: 'check pg_restore', match: (c) => isCmd(c, 'pg_restore', '--file=/dev/null') },
      ],
    },
  ],
  after: 'read-back (sha256 of the stored object, unless the store confirmed it on upload), manifest',
};
/** db-restore: read back (sha256) and `zstd -d` into the temp file, pg_restore --jobs, then the rows per table. */
export const RESTORE_PHASES = {
  groups: [
    { name: 'read-back → zstd -d into the temp file', members: [{ name: 'zstd -d', match: isUnzstd }] },
    {
      name: `pg_restore --jobs=${RESTORE_JOBS}`,
      members: [{ name: 'pg_restore', match: (c) => isCmd(c, 'pg_restore', '--jobs=') }],
    },
  ],
  after: 'rows per table (from the archive), summary',
};

/**
 * Runs a bundle under Node 24 in a temp dir of `ctx.work` (`ctx.node`, `ctx.pg` for the server's CPU), watched by
 * sampledRun(); throws with the action's error lines unless it exits 0. Returns the run, its outputs and the text
 * of its step summary. `extraEnv` is added to the runner's environment (OPSKIT_CODEC=node for a diagnostic).
 */
export async function runBundle(ctx, bundle, inputs, what, extraEnv = {}) {
  const dir = await mkdtemp(path.join(ctx.work, 'run-'));
  try {
    const { env, outputFile, summaryFile } = await actionEnv(dir, inputs);
    Object.assign(env, extraEnv);
    const cpu0 = ctx.pg.cpuSeconds();
    const r = await sampledRun(ctx.node, [bundle], { env, cwd: dir });
    const serverCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
    const outputs = parseOutputs(await readFile(outputFile, 'utf8'));
    if (r.code !== 0) {
      // The action's own error lines (secrets are masked there), without the ::add-mask:: commands.
      const errors = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('::error::'))
        .map((l) => l.slice('::error::'.length));
      const err = new Error(`${what} exited ${r.code ?? r.signal}: ${errors.join(' / ') || r.stderr.trim()}`);
      err.actionErrors = errors;
      throw err;
    }
    const childCpu = r.children.reduce((a, c) => a + c.cpuSeconds, 0);
    const summary = await readFile(summaryFile, 'utf8');
    return { ...r, outputs, summary, serverCpuSeconds, childCpuSeconds: childCpu };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sample(r, extra = {}) {
  return {
    wallMs: r.wallMs,
    peakRssKiB: r.peakRssKiB,
    treeMaxRssKiB: r.time?.maxRssKiB,
    treeCpuSeconds: r.time?.cpuSeconds,
    nodeCpuSeconds: r.targetCpuSeconds,
    serverCpuSeconds: r.serverCpuSeconds,
    ...extra,
  };
}

export async function caseFloor(ctx, size) {
  const cpu0 = ctx.pg.cpuSeconds();
  const r = await sampledRun(ctx.pg.bin('pg_dump'), ['-Fc', '-Z0', ...ctx.pg.conn, '-d', size.db], {
    env: ctx.pg.clientEnv,
    stdout: 'ignore',
  });
  const serverCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  if (r.code !== 0) throw new Error(`pg_dump (floor) failed (${r.code ?? r.signal}): ${r.stderr}`);
  return { wallMs: r.wallMs, treeCpuSeconds: r.time?.cpuSeconds, serverCpuSeconds };
}

/**
 * Runs a bundle case; a failed run is recorded (it is a finding: the doc lists it) and tried again with a fresh
 * name (at most 3 attempts), so that one failure does not throw away the whole bench.
 */
export async function withRetry(ctx, size, round, label, fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      ctx.failures.push({ db: size.db, round, case: label, message: err.message });
      if (attempt >= 2) throw err;
      ctx.log(`db: ${size.db} round ${round}: ${label} FAILED, trying again: ${err.message}`);
    }
  }
}

export function caseBackup(ctx, size, round, kind) {
  return withRetry(ctx, size, round, `db-backup (${kind})`, (attempt) => backupOnce(ctx, size, round, kind, attempt));
}

async function backupOnce(ctx, size, round, kind, attempt) {
  const name = `${size.id}-r${round}-${kind}${attempt ? `-retry${attempt}` : ''}`;
  const inputs = { 'database-url': ctx.pg.url(size.db), name };
  if (kind.startsWith('s3')) {
    Object.assign(inputs, {
      destination: `s3://${ctx.s3.bucket}/${name}`,
      's3-endpoint': ctx.s3.endpoint,
      's3-force-path-style': 'true',
      'aws-access-key-id': 'S3RVER',
      'aws-secret-access-key': 'S3RVER',
    });
  } else {
    inputs.destination = path.join(ctx.work, 'backups', name);
  }
  // file-checksum, s3-checksum: verify: checksum, without the full check (diagnostics: what the check costs).
  if (kind.endsWith('-checksum')) inputs.verify = 'checksum';
  // file-node: the defaults, with Node's in-process zlib instead of the zstd command (and for the check's zstd -d).
  const extraEnv = kind === 'file-node' ? { OPSKIT_CODEC: 'node' } : {};
  let r;
  try {
    r = await runBundle(ctx, ctx.backupBundle, inputs, `db-backup (${kind})`, extraEnv);
  } catch (err) {
    await rm(path.join(ctx.work, 'backups', name), { recursive: true, force: true });
    await ctx.s3.removePrefix(name);
    throw err;
  }
  for (const o of ['uri', 'size-bytes', 'sha256', 'manifest']) {
    if (!r.outputs[o]) throw new Error(`db-backup (${kind}) set no '${o}' output:\n${r.stdout}`);
  }
  const phases = groupPhasesOf(r.children, r.wallMs, BACKUP_PHASES.groups, BACKUP_PHASES.after);
  const dumpCpu = r.children
    .filter((c) => isCmd(c, 'pg_dump', '--format=custom'))
    .reduce((a, c) => a + c.cpuSeconds, 0);
  return sample(r, {
    phases,
    pgDumpCpuSeconds: dumpCpu,
    sizeBytes: Number(r.outputs['size-bytes']),
    manifest: r.outputs.manifest,
    uri: r.outputs.uri,
    prefix: name,
    // false when the action logged that the store confirmed the bytes on upload (S3 part ETags) and skipped the read-back.
    readBack: !/not read back: /.test(r.stdout),
  });
}

/**
 * The physical floor of a backup in S3: the bare tools, `pg_dump -Fc -Z0 | zstd -1 -T<cores> | upload` to the same
 * s3rver (lib-storage, 8 MiB parts, 4 at once, UNSIGNED-PAYLOAD, as db-backup sends them), no check, no hash, no
 * manifest. `checked` tees the compressed stream into `zstd -d | pg_restore --file=/dev/null` too, as db-backup's
 * default full check does (a diagnostic: the bare tools doing the action's whole job).
 */
export async function caseFloorS3(ctx, size, round, checked = false) {
  const prefix = `floor-s3${checked ? '-checked' : ''}-${size.id}-r${round}`;
  const threads = Math.min(os.availableParallelism(), 8);
  const dump = `${q(ctx.pg.bin('pg_dump'))} -Fc -Z0 ${ctx.pg.conn.join(' ')} ${size.db} | zstd -q -1 -T${threads}`;
  const check = checked ? ` | tee >(zstd -q -d | ${q(ctx.pg.bin('pg_restore'))} --file=/dev/null)` : '';
  const up = `${q(ctx.node)} ${q(DB_BENCH_ENTRY)} --upload - ${ctx.s3.endpoint} ${ctx.s3.bucket} ${prefix}/backup.dump.zst unsigned`;
  // The check's exit status: `wait $!` waits for the process substitution (bash 4.4+) and returns its status.
  const cmd = `set -o pipefail; ${dump}${check} | ${up}${checked ? '; rc=$?; wait $! || exit 9; exit $rc' : ''}`;
  const cpu0 = ctx.pg.cpuSeconds();
  const r = await sampledRun('bash', ['-c', cmd], { env: ctx.pg.clientEnv });
  const serverCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  await ctx.s3.removePrefix(prefix);
  if (r.code !== 0)
    throw new Error(`bare pipeline to s3rver${checked ? ' (checked)' : ''} failed (${r.code}): ${r.stderr}`);
  return { wallMs: r.wallMs, treeCpuSeconds: r.time?.cpuSeconds, serverCpuSeconds, treeMaxRssKiB: r.time?.maxRssKiB };
}

export async function caseGuideDump(ctx, size, round) {
  const file = path.join(ctx.work, 'guide', `${size.id}-r${round}.sql.gz`);
  await mkdir(path.dirname(file), { recursive: true });
  const cmd = `set -o pipefail; ${q(ctx.pg.bin('pg_dump'))} ${ctx.pg.conn.join(' ')} ${size.db} | gzip > ${q(file)}`;
  const cpu0 = ctx.pg.cpuSeconds();
  const dump = await sampledRun('bash', ['-c', cmd], { env: ctx.pg.clientEnv });
  const serverCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  if (dump.code !== 0) throw new Error(`pg_dump | gzip failed (${dump.code}): ${dump.stderr}`);
  const key = `guide-${size.id}-r${round}/backup.sql.gz`;
  const up = await sampledRun(ctx.node, [DB_BENCH_ENTRY, '--upload', file, ctx.s3.endpoint, ctx.s3.bucket, key], {
    env: cleanEnv(),
  });
  if (up.code !== 0) throw new Error(`upload failed (${up.code}): ${up.stderr}`);
  const sizeBytes = (await stat(file)).size;
  return {
    file,
    prefix: `guide-${size.id}-r${round}`,
    dump: { wallMs: dump.wallMs, treeCpuSeconds: dump.time?.cpuSeconds, serverCpuSeconds },
    upload: { wallMs: up.wallMs, treeCpuSeconds: up.time?.cpuSeconds, peakRssKiB: up.peakRssKiB },
    wallMs: dump.wallMs + up.wallMs,
    sizeBytes,
  };
}

export function caseRestore(ctx, size, round, manifest) {
  return withRetry(ctx, size, round, 'db-restore', (attempt) => restoreOnce(ctx, size, round, manifest, attempt));
}

async function restoreOnce(ctx, size, round, manifest, attempt) {
  const target = `${size.id}_r${round}_action${attempt ? `_retry${attempt}` : ''}`;
  await dropDatabase(ctx, target);
  ctx.created.add(target);
  const r = await runBundle(
    ctx,
    ctx.restoreBundle,
    {
      'database-url': ctx.pg.url('postgres'),
      source: manifest,
      'target-database': target,
      jobs: String(RESTORE_JOBS),
    },
    'db-restore',
  );
  if (r.outputs['matches-manifest'] !== 'true' || Number(r.outputs.rows) !== size.rows) {
    throw new Error(`db-restore: matches-manifest=${r.outputs['matches-manifest']}, rows=${r.outputs.rows}`);
  }
  // Its rows come from the archive's COPY data: count them in the database too (outside the timing).
  const rows = await totalRows(ctx.pg, target);
  if (rows !== size.rows) throw new Error(`db-restore restored ${rows} rows, expected ${size.rows}`);
  const phases = groupPhasesOf(r.children, r.wallMs, RESTORE_PHASES.groups, RESTORE_PHASES.after);
  await dropDatabase(ctx, target);
  return sample(r, { phases });
}

export async function caseGuideRestore(ctx, size, round, file) {
  const target = `${size.id}_r${round}_guide`;
  ctx.created.add(target);
  const conn = ctx.pg.conn.join(' ');
  const cmd =
    `set -o pipefail; ${q(ctx.pg.bin('createdb'))} ${conn} ${target} && ` +
    `gunzip -c ${q(file)} | ${q(ctx.pg.bin('psql'))} -X -q -v ON_ERROR_STOP=1 ${conn} -d ${target} > /dev/null`;
  const cpu0 = ctx.pg.cpuSeconds();
  const r = await sampledRun('bash', ['-c', cmd], { env: ctx.pg.clientEnv });
  const serverCpuSeconds = ctx.pg.cpuSeconds() - cpu0;
  if (r.code !== 0) throw new Error(`gunzip | psql failed (${r.code}): ${r.stderr}`);
  const rows = await totalRows(ctx.pg, target);
  if (rows !== size.rows) throw new Error(`gunzip | psql restored ${rows} rows, expected ${size.rows}`);
  await dropDatabase(ctx, target);
  return { wallMs: r.wallMs, treeCpuSeconds: r.time?.cpuSeconds, serverCpuSeconds };
}

export async function dropDatabase(ctx, name) {
  await ctx.pg.psql(`DROP DATABASE IF EXISTS ${name}`);
  ctx.created.delete(name);
}
