/** The whole db bench (benchDb): services and databases up, the rounds on each, the profile, the CPU probe; the verdict. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanupOnSignal, node24, privateBundle, root } from '../lib.js';
import { BACKUP_BUNDLE, GOALS, LARGE_MIB, RESTORE_BUNDLE, RESTORE_JOBS, RUNS, SMALL_RUNS } from './config.js';
import { cpuProbe, probeText } from './cpu-probe.js';
import { buildDatabase } from './data.js';
import { startPostgres } from './postgres.js';
import { profile } from './profile.js';
import { benchSize, GOAL_CASES } from './rounds.js';
import { startS3rver } from './s3rver.js';

export async function benchDb({ runs = RUNS, smallRuns = SMALL_RUNS, log = () => {} } = {}) {
  for (const b of [BACKUP_BUNDLE, RESTORE_BUNDLE]) if (!existsSync(b)) throw new Error(`${b} missing: npm run build`);
  const node = node24().path;
  const work = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-db-'));
  const unregisterWork = cleanupOnSignal(() => rm(work, { recursive: true, force: true }));
  let pg;
  let s3;
  const ctx = { work, node, log, created: new Set(), failures: [] };
  try {
    // A private copy of the bundles: a rebuild of dist/ during the run (others may build meanwhile) cannot
    // remove them half-way or mix two versions in one run.
    const bundles = {};
    for (const [key, file] of [
      ['backup', BACKUP_BUNDLE],
      ['restore', RESTORE_BUNDLE],
    ]) {
      const copy = await privateBundle(work, file);
      ctx[`${key}Bundle`] = copy.path;
      bundles[path.relative(root, file)] = copy.sha256;
    }
    const probeStart = await cpuProbe(work);
    log(`db: CPU probe: two zstd -1 at once take ${probeText(probeStart)} of one`);
    pg = ctx.pg = await startPostgres({ log });
    s3 = ctx.s3 = await startS3rver({ log });
    const small = {
      id: 'small',
      ...(await buildDatabase(pg, 'bench_small', LARGE_MIB / 4, log)),
    };
    const large = { id: 'large', ...(await buildDatabase(pg, 'bench_large', LARGE_MIB, log)) };
    const pgbench = { id: 'pgbench', ...(await buildDatabase(pg, 'bench_pgbench', LARGE_MIB, log, 'pgbench')) };
    // The diagnostics (what the full check and the zstd command cost) are measured on the md5 databases only.
    const sizes = [
      await benchSize(ctx, small, smallRuns),
      await benchSize(ctx, large, runs),
      await benchSize(ctx, pgbench, runs, GOAL_CASES),
    ];
    const prof = await profile(ctx, large);
    const probeEnd = await cpuProbe(work);
    log(`db: CPU probe: two zstd -1 at once take ${probeText(probeEnd)} of one`);
    const result = {
      measuredAt: new Date().toISOString(),
      bundles,
      server: { version: pg.version, settings: pg.settings, s3rver: s3.version },
      restoreJobs: RESTORE_JOBS,
      goals: GOALS,
      sizes,
      profile: prof,
      cpuProbe: { start: probeStart, end: probeEnd },
      failures: ctx.failures,
    };
    result.verdict = verdict(result);
    return result;
  } finally {
    if (pg) for (const db of ctx.created) await pg.psql(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
    await s3?.stop().catch((err) => log(`db: s3rver stop failed: ${err.message}`));
    await pg?.stop().catch((err) => log(`db: PostgreSQL stop failed: ${err.message}`));
    await rm(work, { recursive: true, force: true });
    unregisterWork();
  }
}

export const caseOf = (size, id) => size.cases.find((c) => c.id === id);
const actionCases = ['backup-file', 'backup-s3', 'restore'];
/** The CPU probe's line (empty for results kept from before it was measured). */
export function cpuProbeText(result) {
  const p = result.cpuProbe;
  if (!p) return '';
  return (
    `CPU probe (the same CPU-bound \`zstd -1\` of 100 MiB, alone and two at once, best of 3): two at once took ` +
    `${probeText(p.start)} of one before the rounds, ${probeText(p.end)} after (1.00× when both CPUs are whole, ` +
    `2.00× when they are one).\n`
  );
}

/** The pgbench-shaped database of a result; undefined in results kept from before it was measured. */
export const pgbenchOf = (result) => result.sizes.find((z) => z.id === 'pgbench');

/** The three speed goals, judged on one database. */
function speedVerdict(size) {
  const r = size.ratios;
  return {
    backupFile: { ratio: r.backupFileToFloor, met: r.backupFileToFloor <= GOALS.backupFileMaxRatio },
    s3: { speedup: r.s3Speedup, met: r.s3Speedup >= GOALS.s3MinSpeedup },
    s3Floor: s3FloorVerdict(r),
    restore: { ratio: r.restoreToGuide, met: r.restoreToGuide <= GOALS.restoreMaxRatio },
  };
}

/**
 * db-backup to S3 at most GOALS.s3MaxRatio× `pg_dump -Fc -Z0 > /dev/null`. Its physical floor is the bare tools doing
 * db-backup's default job, measured in the same rounds: `pg_dump | zstd -1 | tee >(zstd -d | pg_restore) | upload`
 * (compress, the full check, the upload). When that floor alone takes more than the goal's ratio, the goal asks for
 * less than the floor and is judged floor-relative: db-backup at most GOALS.s3MaxRatio× that floor.
 * Judged on the medians of the per-round ratios: the cases of a round run back to back, while pg_dump's own time
 * moves by half between rounds on this shared machine (4.1 to 6.6 s in one run). Results kept from before a ratio
 * was measured lack it: judged undefined, not met.
 */
function s3FloorVerdict(r) {
  const direct = r.s3ToFloorPerRound ?? r.s3ToFloor;
  const floor = r.checkedS3ToFloorPerRound;
  const toFloor = r.s3ToCheckedPerRound;
  const belowFloor = floor !== undefined && floor > GOALS.s3MaxRatio;
  const met = (direct !== undefined && direct <= GOALS.s3MaxRatio) || (belowFloor && toFloor <= GOALS.s3MaxRatio);
  return { ratio: direct, floorRatio: floor, toFloor, belowFloor, met };
}

/**
 * The goals: the speed goals on the large md5 database (top-level fields) and on the pgbench-shaped one
 * (`pgbench`, undefined when the result lacks it); the peak RSS over all of them; its flatness small → large (md5).
 */
export function verdict(result) {
  const [small, large] = result.sizes;
  const pgbench = pgbenchOf(result);
  const rss = actionCases.map((id) => ({
    id,
    smallKiB: caseOf(small, id).peakRssKiB,
    largeKiB: caseOf(large, id).peakRssKiB,
    ...(pgbench ? { pgbenchKiB: caseOf(pgbench, id).peakRssKiB } : {}),
  }));
  for (const r of rss) r.growth = r.largeKiB / r.smallKiB;
  const maxRssMiB = Math.max(...rss.flatMap((r) => [r.smallKiB, r.largeKiB, r.pgbenchKiB ?? 0])) / 1024;
  const maxRssMB = (maxRssMiB * 1024 ** 2) / 1e6;
  const maxGrowth = Math.max(...rss.map((r) => r.growth));
  return {
    ...speedVerdict(large),
    pgbench: pgbench ? speedVerdict(pgbench) : undefined,
    // The goal says "200 MB": judged as 200 MiB, and said so when the peak is over 200 MB in SI units.
    rss: { cases: rss, maxMiB: maxRssMiB, maxMB: maxRssMB, met: maxRssMiB <= GOALS.rssMaxMiB },
    rssFlat: { maxGrowth, met: maxGrowth <= GOALS.rssMaxGrowth },
  };
}
