/** The cases, and the rounds that run them interleaved on one database after an uncounted warm-up. */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { median, mib, ms } from '../lib.js';
import { caseBackup, caseFloor, caseFloorS3, caseGuideDump, caseGuideRestore, caseRestore } from './cases.js';
import { RESTORE_JOBS } from './config.js';

export const CASES = [
  { id: 'floor', label: '`pg_dump -Fc -Z0 > /dev/null` (floor)' },
  { id: 'backup-file', label: 'db-backup → directory (defaults: zstd:1 by the zstd command, verify full)' },
  {
    id: 'backup-file-checksum',
    label: 'db-backup → directory, verify: checksum (diagnostic: no full check)',
    diagnostic: true,
  },
  {
    id: 'backup-file-node',
    label: "db-backup → directory, defaults with `OPSKIT_CODEC=node` (diagnostic: Node's in-process zlib zstd:1)",
    diagnostic: true,
  },
  { id: 'backup-s3', label: 'db-backup → s3rver (defaults: zstd:1 by the zstd command, verify full)' },
  {
    id: 'floor-s3',
    label: 'bare pipeline `pg_dump -Fc -Z0 \\| zstd -1 \\| upload` to s3rver (the physical floor of a backup in S3)',
  },
  {
    id: 'floor-s3-checked',
    label:
      "bare pipeline with the full check: `… \\| zstd -1 \\| tee >(zstd -d \\| pg_restore -f /dev/null) \\| upload` (the bare tools doing db-backup's default job: the S3 goal's floor)",
  },
  {
    id: 'backup-s3-checksum',
    label: "db-backup → s3rver, verify: checksum (diagnostic: no full check, the bare pipeline's job)",
    diagnostic: true,
  },
  { id: 'guide-dump', label: 'guides: `pg_dump | gzip > file`' },
  { id: 'guide-upload', label: 'guides: upload of that file to s3rver' },
  { id: 'guide-total', label: 'guides: `pg_dump | gzip > file`, then upload' },
  { id: 'restore', label: `db-restore (jobs: ${RESTORE_JOBS}) of the directory backup into a new database` },
  { id: 'guide-restore', label: 'guides: `createdb new && gunzip -c file | psql new`' },
];

export const ALL_CASES = CASES.map((c) => c.id);
/** The cases without the diagnostics: what the goals need. */
export const GOAL_CASES = CASES.filter((c) => !c.diagnostic).map((c) => c.id);

/**
 * Runs `runs` rounds of the cases `caseIds` (ids of CASES) on one database. Only diagnostic cases may be left out
 * (the others feed each other: the restores restore the backups); their ratios are then undefined.
 */
export async function benchSize(ctx, size, runs, caseIds = ALL_CASES) {
  const missing = GOAL_CASES.filter((id) => !caseIds.includes(id));
  const unknown = caseIds.filter((id) => !ALL_CASES.includes(id));
  if (missing.length || unknown.length) {
    throw new Error(`benchSize: cases missing (${missing.join(', ')}) or unknown (${unknown.join(', ')})`);
  }
  const selected = CASES.filter((c) => caseIds.includes(c.id));
  const has = (id) => caseIds.includes(id);
  const samples = Object.fromEntries(selected.map((c) => [c.id, []]));
  const log = ctx.log;
  log(`db: ${size.db}: warm-up (pg_dump floor and one db-backup to a directory, not counted)`);
  await caseFloor(ctx, size);
  const warm = await caseBackup(ctx, size, 0, 'file');
  await rm(path.join(ctx.work, 'backups', warm.prefix), { recursive: true, force: true });
  const loads = [];
  for (let round = 1; round <= runs; round++) {
    const load = os.loadavg()[0];
    loads.push(load);
    const floor = await caseFloor(ctx, size);
    samples.floor.push(floor);
    log(`db: ${size.db} round ${round} (load ${load.toFixed(2)}): floor ${ms(floor.wallMs)}`);
    const file = await caseBackup(ctx, size, round, 'file');
    samples['backup-file'].push(file);
    log(
      `db: ${size.db} round ${round}: db-backup → directory ${ms(file.wallMs)}, peak RSS ${mib(file.peakRssKiB * 1024)}`,
    );
    if (has('backup-file-checksum')) {
      const checksum = await caseBackup(ctx, size, round, 'file-checksum');
      samples['backup-file-checksum'].push(checksum);
      await rm(path.join(ctx.work, 'backups', checksum.prefix), { recursive: true, force: true });
      log(`db: ${size.db} round ${round}: db-backup → directory, verify checksum ${ms(checksum.wallMs)}`);
    }
    if (has('backup-file-node')) {
      const nodeCodec = await caseBackup(ctx, size, round, 'file-node');
      samples['backup-file-node'].push(nodeCodec);
      await rm(path.join(ctx.work, 'backups', nodeCodec.prefix), { recursive: true, force: true });
      log(
        `db: ${size.db} round ${round}: db-backup → directory, OPSKIT_CODEC=node ${ms(nodeCodec.wallMs)}, ` +
          `peak RSS ${mib(nodeCodec.peakRssKiB * 1024)}`,
      );
    }
    const s3 = await caseBackup(ctx, size, round, 's3');
    samples['backup-s3'].push(s3);
    await ctx.s3.removePrefix(s3.prefix);
    log(`db: ${size.db} round ${round}: db-backup → s3rver ${ms(s3.wallMs)}, peak RSS ${mib(s3.peakRssKiB * 1024)}`);
    const bare = await caseFloorS3(ctx, size, round);
    samples['floor-s3'].push(bare);
    log(`db: ${size.db} round ${round}: bare pipeline → s3rver ${ms(bare.wallMs)}`);
    const checked = await caseFloorS3(ctx, size, round, true);
    samples['floor-s3-checked'].push(checked);
    log(`db: ${size.db} round ${round}: bare pipeline with the check → s3rver ${ms(checked.wallMs)}`);
    if (has('backup-s3-checksum')) {
      const s3Checksum = await caseBackup(ctx, size, round, 's3-checksum');
      samples['backup-s3-checksum'].push(s3Checksum);
      await ctx.s3.removePrefix(s3Checksum.prefix);
      log(`db: ${size.db} round ${round}: db-backup → s3rver, verify checksum ${ms(s3Checksum.wallMs)}`);
    }
    const guide = await caseGuideDump(ctx, size, round);
    samples['guide-dump'].push(guide.dump);
    samples['guide-upload'].push(guide.upload);
    samples['guide-total'].push({ wallMs: guide.wallMs, sizeBytes: guide.sizeBytes });
    await ctx.s3.removePrefix(guide.prefix);
    log(
      `db: ${size.db} round ${round}: guides pg_dump | gzip ${ms(guide.dump.wallMs)} + upload ${ms(guide.upload.wallMs)}`,
    );
    const restore = await caseRestore(ctx, size, round, file.manifest);
    samples.restore.push(restore);
    log(`db: ${size.db} round ${round}: db-restore ${ms(restore.wallMs)}, peak RSS ${mib(restore.peakRssKiB * 1024)}`);
    const guideRestore = await caseGuideRestore(ctx, size, round, guide.file);
    samples['guide-restore'].push(guideRestore);
    log(`db: ${size.db} round ${round}: guides gunzip | psql ${ms(guideRestore.wallMs)}`);
    await rm(path.join(ctx.work, 'backups', file.prefix), { recursive: true, force: true });
    await rm(guide.file, { force: true });
  }
  const cases = selected.map((c) => {
    const s = samples[c.id];
    const col = (k) => s.map((x) => x[k]).filter((v) => v !== undefined);
    const med = (k) => (col(k).length ? median(col(k)) : undefined);
    return {
      ...c,
      runs: s.map((x) => x.wallMs),
      wallMs: median(s.map((x) => x.wallMs)),
      peakRssKiB: col('peakRssKiB').length ? Math.max(...col('peakRssKiB')) : undefined,
      treeMaxRssKiB: col('treeMaxRssKiB').length ? Math.max(...col('treeMaxRssKiB')) : undefined,
      treeCpuSeconds: med('treeCpuSeconds'),
      nodeCpuSeconds: med('nodeCpuSeconds'),
      serverCpuSeconds: med('serverCpuSeconds'),
      pgDumpCpuSeconds: med('pgDumpCpuSeconds'),
      sizeBytes: med('sizeBytes'),
      // Whether any run read the stored archive back (false: every run's store confirmed it on upload).
      readBack: s.some((x) => x.readBack !== false),
      // Medians phase by phase, and of each child's CPU (by name: a run's list may lack a child another run saw).
      phases: s[0]?.phases
        ? s[0].phases.map((p) => {
            const of = (x) => x.phases.find((q) => q.name === p.name);
            const cpuOf = (x, name) => of(x)?.cpu?.find((m) => m.name === name)?.cpuSeconds ?? 0;
            const cpuNames = [...new Set(s.flatMap((x) => (of(x)?.cpu ?? []).map((m) => m.name)))];
            return {
              name: p.name,
              ms: median(s.map((x) => of(x)?.ms ?? 0)),
              cpuSeconds: p.cpuSeconds === undefined ? undefined : median(s.map((x) => of(x)?.cpuSeconds ?? 0)),
              cpu: p.cpu
                ? cpuNames.map((name) => ({ name, cpuSeconds: median(s.map((x) => cpuOf(x, name))) }))
                : undefined,
            };
          })
        : undefined,
    };
  });
  const by = Object.fromEntries(cases.map((c) => [c.id, c]));
  const perRound = (a, b) => median(samples[a].map((x, i) => x.wallMs / samples[b][i].wallMs));
  /** A case's median over the floor's, undefined when the case was not run. */
  const toFloor = (id) => (by[id] ? by[id].wallMs / by.floor.wallMs : undefined);
  return {
    ...size,
    runs,
    loads,
    cases,
    ratios: {
      backupFileToFloor: toFloor('backup-file'),
      backupFileChecksumToFloor: toFloor('backup-file-checksum'),
      backupFileNodeToFloor: toFloor('backup-file-node'),
      backupFileToFloorPerRound: perRound('backup-file', 'floor'),
      s3ToFloor: toFloor('backup-s3'),
      s3ToFloorPerRound: perRound('backup-s3', 'floor'),
      // The bare pipeline to S3 against pg_dump alone: above the goal's ratio, the goal asks for less than the floor.
      bareS3ToFloor: toFloor('floor-s3'),
      bareS3ToFloorPerRound: perRound('floor-s3', 'floor'),
      s3ToBare: by['backup-s3'].wallMs / by['floor-s3'].wallMs,
      s3ToBarePerRound: perRound('backup-s3', 'floor-s3'),
      // The S3 goal's floor: the bare tools doing db-backup's default job (with the full check).
      checkedS3ToFloor: toFloor('floor-s3-checked'),
      checkedS3ToFloorPerRound: perRound('floor-s3-checked', 'floor'),
      s3ToChecked: by['backup-s3'].wallMs / by['floor-s3-checked'].wallMs,
      s3ToCheckedPerRound: perRound('backup-s3', 'floor-s3-checked'),
      s3ChecksumToBarePerRound: by['backup-s3-checksum'] ? perRound('backup-s3-checksum', 'floor-s3') : undefined,
      s3Speedup: by['guide-total'].wallMs / by['backup-s3'].wallMs,
      s3SpeedupPerRound: median(samples['guide-total'].map((x, i) => x.wallMs / samples['backup-s3'][i].wallMs)),
      restoreToGuide: by.restore.wallMs / by['guide-restore'].wallMs,
      restoreToGuidePerRound: perRound('restore', 'guide-restore'),
    },
    gzipSizeBytes: median(samples['guide-total'].map((x) => x.sizeBytes)),
  };
}
