/** The db bench's section of docs/benchmarks.md and its rows of the Goals table. */
import os from 'node:os';
import { mib, ms, ratio, table } from '../lib.js';
import { caseOf, cpuProbeText, pgbenchOf, verdict } from './bench.js';
import { BACKUP_PHASES, RESTORE_PHASES, sec } from './cases.js';
import { GOALS, TABLES } from './config.js';
import { SHAPES } from './data.js';
import { CASES } from './rounds.js';

const s = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(1)} s`);
const rssText = (kib) => (kib === undefined ? '–' : mib(kib * 1024));
const met = (ok) => (ok ? '**met**' : '**NOT met**');
/** ratio() and ms() that print '–' for a figure the results lack (results kept from an older version of this bench). */
const rt = (v) => (v === undefined || !Number.isFinite(v) ? '–' : ratio(v));
const mst = (v) => (v === undefined || !Number.isFinite(v) ? '–' : ms(v));
const rate = (bytes, msValue) =>
  bytes === undefined || !msValue ? '–' : `${(bytes / 1024 ** 2 / (msValue / 1000)).toFixed(0)} MiB/s`;

/** The per-round ratios of case `a` to case `b` ("1.87×, 1.43×, 1.63×"), from the runs the results keep. */
function perRoundText(size, a, b) {
  const runs = (id) => caseOf(size, id)?.runs ?? [];
  return runs(a)
    .map((v, i) => rt(v / runs(b)[i]))
    .join(', ');
}

/** What a database is, for the goal rows: "1022.4 MiB database, md5-hex text: high entropy". */
const dbLabel = (size) => `${mib(size.sizeBytes)} database, ${SHAPES[size.shape ?? 'md5'].label}`;

/**
 * The three speed goals' rows for one database, by goal: { backupFile, s3, restore }. A `|` in a cell is escaped
 * (GitHub's tables split cells at it, in code spans too).
 */
function speedGoalRows(result, size, v) {
  const c = (id) => caseOf(size, id);
  const D = dbLabel(size);
  const { backupFileChecksumToFloor: checksum, backupFileNodeToFloor: nodeCodec } = size.ratios;
  // The diagnostics are not run on every database (benchSize's case list).
  const diagnostics = CASES.some((k) => k.diagnostic && c(k.id))
    ? ` (diagnostics: verify: checksum, without the full check, ${rt(checksum)}; Node's in-process zstd instead of the zstd command (\`OPSKIT_CODEC=node\`) ${rt(nodeCodec)})`
    : '';
  return {
    backupFile: [
      `db-backup to a file takes at most ${GOALS.backupFileMaxRatio}× the time of \`pg_dump -Fc -Z0 > /dev/null\` (${D})`,
      `${ms(c('backup-file').wallMs)} vs ${ms(c('floor').wallMs)}: **${ratio(v.backupFile.ratio)}**${diagnostics}`,
      met(v.backupFile.met),
    ],
    s3: [
      `db-backup to S3 (s3rver) at least ${GOALS.s3MinSpeedup}× faster than \`pg_dump \\| gzip > file\` then uploading it (${D})`,
      `${ms(c('backup-s3').wallMs)} vs ${ms(c('guide-total').wallMs)} (${ms(c('guide-dump').wallMs)} + ${ms(c('guide-upload').wallMs)}): **${ratio(v.s3.speedup)}** faster`,
      met(v.s3.met),
    ],
    s3Floor: [
      `db-backup to S3 (s3rver) takes at most ${GOALS.s3MaxRatio}× the time of \`pg_dump -Fc -Z0 > /dev/null\` (issue #16; ${D})`,
      `${ms(c('backup-s3').wallMs)} vs ${ms(c('floor').wallMs)} (medians): **${rt(v.s3Floor.ratio)}** as the median of the per-round ratios (${rt(size.ratios.s3ToFloor)} of the medians; the stored archive ${c('backup-s3').readBack === false ? 'not read back: s3rver confirmed every part' : 'read back'})` +
        (c('floor-s3-checked')
          ? `. Its physical floor, the bare tools doing db-backup's default job (\`pg_dump -Fc -Z0 \\| zstd -1 \\| tee >(zstd -d \\| pg_restore -f /dev/null) \\| upload\`), takes ${ms(c('floor-s3-checked').wallMs)} = ` +
            `**${rt(v.s3Floor.floorRatio)}** \`pg_dump > /dev/null\` (per round ${perRoundText(size, 'floor-s3-checked', 'floor')}; ${rt(size.ratios.checkedS3ToFloor)} of the medians)` +
            (v.s3Floor.belowFloor
              ? `, so the goal asks for less than the physical floor; floor-relative, db-backup takes **${rt(v.s3Floor.toFloor)}** that floor (per round ${perRoundText(size, 'backup-s3', 'floor-s3-checked')}; ${rt(size.ratios.s3ToChecked)} of the medians; at most ${GOALS.s3MaxRatio}×)`
              : `; db-backup takes ${rt(v.s3Floor.toFloor)} of it`) +
            `. Without the check, the bare pipeline (\`pg_dump \\| zstd -1 \\| upload\`) takes ${rt(size.ratios.bareS3ToFloorPerRound)} \`pg_dump > /dev/null\` (per round ${perRoundText(size, 'floor-s3', 'floor')}) and db-backup ${rt(size.ratios.s3ToBarePerRound)} of it` +
            (c('backup-s3-checksum')
              ? `; db-backup with verify: checksum (the same job as that pipeline) ${rt(size.ratios.s3ChecksumToBarePerRound)} of it`
              : '')
          : ''),
      met(v.s3Floor.met) +
        (v.s3Floor.met && v.s3Floor.belowFloor && v.s3Floor.ratio > GOALS.s3MaxRatio ? ' (floor-relative)' : ''),
    ],
    restore: [
      `db-restore (jobs: ${result.restoreJobs}) takes at most ${GOALS.restoreMaxRatio}× the time of \`gunzip -c dump.sql.gz \\| psql\` into a fresh database (${D})`,
      `${ms(c('restore').wallMs)} vs ${ms(c('guide-restore').wallMs)}: **${ratio(v.restore.ratio)}**`,
      met(v.restore.met),
    ],
  };
}

export function dbGoalRows(result) {
  const v = verdict(result); // recomputed, so kept results (bench/run.js --only) render with this code's judgement
  const large = result.sizes[1];
  const small = result.sizes[0];
  const pgbench = pgbenchOf(result);
  const L = mib(large.sizeBytes);
  // Each speed goal on the md5 database, then (when measured) on the pgbench-shaped one.
  const md5Rows = speedGoalRows(result, large, v);
  const pgbenchRows = pgbench ? speedGoalRows(result, pgbench, v.pgbench) : undefined;
  const both = (goal) => [md5Rows[goal], ...(pgbenchRows ? [pgbenchRows[goal]] : [])];
  const rssOf = (r) => [r.smallKiB, r.largeKiB, ...(pgbench ? [r.pgbenchKiB] : [])].map(rssText).join(' / ');
  const rssDbs = pgbench
    ? `${mib(small.sizeBytes)} / ${L} md5-hex / ${mib(pgbench.sizeBytes)} pgbench-shaped database`
    : `${mib(small.sizeBytes)} / ${L} database`;
  return [
    ...both('backupFile'),
    ...both('s3'),
    ...both('s3Floor'),
    [
      `Peak RSS of the action process at most ${GOALS.rssMaxMiB} MB (judged as MiB)`,
      v.rss.cases.map((r) => `${r.id}: ${rssOf(r)}`).join('; ') +
        ` (${rssDbs}); highest ${v.rss.maxMiB.toFixed(1)} MiB = ${v.rss.maxMB.toFixed(1)} MB`,
      met(v.rss.met) +
        (v.rss.met && v.rss.maxMB > GOALS.rssMaxMiB ? ` as MiB; **NOT met** if MB means 10^6 bytes` : ''),
    ],
    [
      `Peak RSS flat when the database grows 4× (at most ${GOALS.rssMaxGrowth}× growth)`,
      v.rss.cases.map((r) => `${r.id}: ${ratio(r.growth)}`).join('; ') +
        ` for ${ratio(large.sizeBytes / small.sizeBytes)} the data`,
      met(v.rssFlat.met),
    ],
    ...both('restore'),
  ];
}

export function dbTable(size) {
  return table(
    [
      'case',
      'median wall time',
      'runs',
      'peak RSS (process)',
      'peak RSS (GNU time, largest of the tree)',
      'CPU: process tree',
      'CPU: server',
      'stored size',
    ],
    size.cases.map((c) => [
      c.label,
      ms(c.wallMs),
      c.runs.map((r) => (r / 1000).toFixed(1)).join(', ') + ' s',
      rssText(c.peakRssKiB),
      rssText(c.treeMaxRssKiB),
      s(c.treeCpuSeconds),
      s(c.serverCpuSeconds),
      c.sizeBytes ? mib(c.sizeBytes) : c.id === 'guide-total' ? mib(size.gzipSizeBytes) : '–',
    ]),
  );
}

export function phaseTable(size) {
  const rows = [];
  for (const id of [
    'backup-file',
    'backup-file-checksum',
    'backup-file-node',
    'backup-s3',
    'backup-s3-checksum',
    'restore',
  ]) {
    const c = caseOf(size, id);
    if (!c?.phases) continue;
    const cpu = (p) =>
      p.cpu?.length
        ? ` (CPU ${p.cpu.map((m) => `${m.name} ${s(m.cpuSeconds)}`).join(', ')})`
        : p.cpuSeconds !== undefined
          ? ` (CPU ${s(p.cpuSeconds)})`
          : '';
    rows.push([
      c.label,
      c.phases
        .filter((p) => p.ms >= 50)
        .map((p) => `${p.name} ${s(sec(p.ms))}${cpu(p)}`)
        .join(' · '),
      s(c.nodeCpuSeconds),
    ]);
  }
  return table(['case', 'phases (medians)', 'CPU of the Node process'], rows);
}

const streamOf = (p, id) => p.stream?.find((x) => x.id === id);

export function profileTable(result) {
  const p = result.profile;
  const cmd = (id) => p.commands?.[id] ?? {};
  const node = (id) => streamOf(p, id) ?? {};
  const rows = [
    [
      '`pg_dump -Fc -Z0 -f file`',
      mst(p.dumpToFileMs),
      `pg_dump ${s(p.pgDumpCpuSeconds)}, server ${s(p.dumpServerCpuSeconds)}`,
    ],
    [
      `${TABLES} × \`SELECT count(*)\` in one snapshot, no parallel workers (what db-backup runs beside pg_dump)`,
      mst(p.countsMs),
      `server ${s(p.countsServerCpuSeconds)}`,
    ],
    [
      '`zstd -1 -T<cores>` command over the raw dump (the default path)',
      `${mst(cmd('zstd').ms)} (${rate(p.rawBytes, cmd('zstd').ms)} of raw dump)`,
      `zstd ${s(cmd('zstd').cpuSeconds)}`,
    ],
    [
      'Node 24 zlib zstd:1 over the raw dump, in-process (`OPSKIT_CODEC=node`)',
      `${mst(node('zstd').ms)} (${rate(p.rawBytes, node('zstd').ms)} of raw dump)`,
      `Node ${s(node('zstd').cpuSeconds)}`,
    ],
    [
      '`zstd -d` command of the stored archive to /dev/null',
      `${mst(cmd('unzstd').ms)} (${rate(p.rawBytes, cmd('unzstd').ms)} of raw dump)`,
      `zstd ${s(cmd('unzstd').cpuSeconds)}`,
    ],
    [
      '`zstd -d | pg_restore --file=/dev/null` of the stored archive (the full check alone)',
      `${mst(cmd('check').ms)} (${rate(p.rawBytes, cmd('check').ms)} of raw dump)`,
      `both ${s(cmd('check').cpuSeconds)}`,
    ],
    [
      'Node 24 sha256 of the stored archive (the read-back of db-backup and db-restore)',
      `${mst(node('sha256').ms)} (${rate(p.compressedBytes, node('sha256').ms)} of stored bytes)`,
      `Node ${s(node('sha256').cpuSeconds)}`,
    ],
    [
      'Node 24 zlib zstd -d of the stored archive, in-process (`OPSKIT_CODEC=node`)',
      `${mst(node('unzstd').ms)} (${rate(p.rawBytes, node('unzstd').ms)} of raw dump)`,
      `Node ${s(node('unzstd').cpuSeconds)}`,
    ],
  ];
  return table(['piece (alone, large database)', 'wall time', 'CPU'], rows);
}

/** Where the time goes, in numbers from this run (the goals table says whether each goal was met). */
export function findings(result) {
  const large = result.sizes[1];
  const c = (id) => caseOf(large, id);
  const p = result.profile;
  const phaseOf = (id, name) => c(id)?.phases?.find((x) => x.name === name);
  const phase = (id, name) => phaseOf(id, name)?.ms;
  const cpuOf = (id, name) =>
    phaseOf(id, name)
      ?.cpu?.map((m) => `${m.name} ${s(m.cpuSeconds)}`)
      .join(', ') || '–';
  const floor = c('floor').wallMs;
  const x = (v) => rt(v / floor);
  const file = c('backup-file');
  const checksum = c('backup-file-checksum');
  const nodeCodec = c('backup-file-node');
  const restore = c('restore');
  const guideRestore = c('guide-restore').wallMs;
  const D = BACKUP_PHASES.groups[0].name;
  const R = BACKUP_PHASES.after;
  const [rRead, rRestore] = RESTORE_PHASES.groups.map((g) => g.name);
  const cmd = (id) => p.commands?.[id]?.ms;
  const node = (id) => streamOf(p, id)?.ms;
  const lines = [
    `db-backup → directory, ${ms(file.wallMs)} = ${x(file.wallMs)} the floor (${ms(floor)}): pg_dump, the zstd ` +
      `command it writes into, the full check beside them (\`zstd -d | pg_restore --file=/dev/null\` fed a copy of ` +
      `the compressed stream) and the row counts ran together for ${mst(phase('backup-file', D))} = ` +
      `${x(phase('backup-file', D))} (CPU: ${cpuOf('backup-file', D)}); then reading the stored object back ` +
      `(sha256) and writing the manifest ${mst(phase('backup-file', R))}; start-up before pg_dump ` +
      `${mst(phase('backup-file', `before ${D}`))}.`,
    `The full check: verify: checksum (no check beside the dump) takes ${mst(checksum?.wallMs)} = ` +
      `${x(checksum?.wallMs)} the floor, against ${ms(file.wallMs)} with it (difference of the medians ` +
      `${mst(file.wallMs - checksum?.wallMs)}; its dump phase ${mst(phase('backup-file-checksum', D))} against ` +
      `${mst(phase('backup-file', D))}); alone, \`zstd -d | pg_restore --file=/dev/null\` over the stored archive ` +
      `takes ${mst(cmd('check'))}.`,
    `Compression: the zstd command compresses the ${mib(p.rawBytes)} raw dump to ${mib(p.compressedBytes)} in ` +
      `${mst(cmd('zstd'))} alone (${rate(p.rawBytes, cmd('zstd'))}), Node's zlib zstd:1 in-process in ` +
      `${mst(node('zstd'))} (${rate(p.rawBytes, node('zstd'))}); through the action, \`OPSKIT_CODEC=node\` gives ` +
      `${mst(nodeCodec?.wallMs)} = ${x(nodeCodec?.wallMs)} the floor, with ${s(nodeCodec?.nodeCpuSeconds)} of CPU in ` +
      `the Node process against ${s(file.nodeCpuSeconds)} with the command, and a peak RSS of ` +
      `${rssText(nodeCodec?.peakRssKiB)} against ${rssText(file.peakRssKiB)}.`,
    `The read-back: sha256 of the ${mib(p.compressedBytes)} stored archive in Node takes ${mst(node('sha256'))}; ` +
      `the exact row counts (${TABLES} × count(*) beside pg_dump, no parallel workers) ${mst(p.countsMs)}; ` +
      `\`zstd -d\` runs at ${rate(p.rawBytes, cmd('unzstd'))} of raw dump, Node's zlib at ${rate(p.rawBytes, node('unzstd'))}.`,
    cpuBudget(c('floor'), file, x, result.host?.cpuCount ?? os.cpus().length),
    `db-backup → s3rver, ${ms(c('backup-s3').wallMs)}, against the guides' ${ms(c('guide-total').wallMs)} ` +
      `(gzip -6 is their bottleneck: ${ms(c('guide-dump').wallMs)} for pg_dump | gzip): ${ratio(large.ratios.s3Speedup)}; ` +
      `its dump phase ${mst(phase('backup-s3', D))}, then ${c('backup-s3').readBack === false ? "no read-back (s3rver confirmed every part on upload: the MD5 of each part equals its ETag), only the upload's tail (the last parts in flight, and s3rver's CompleteMultipartUpload, which copies the parts into one file) and the manifest" : 'the read-back from s3rver and the manifest'} ${mst(phase('backup-s3', R))}; ${rt(large.ratios.s3ToFloor)} the floor.`,
    s3Budget(c('floor'), c('backup-s3'), x, result.host?.cpuCount ?? os.cpus().length),
    ...(c('floor-s3') ? [bareS3Line(c, x)] : []),
    `db-restore, ${ms(restore.wallMs)} = ${ratio(restore.wallMs / guideRestore)} the guides' ${ms(guideRestore)}: ` +
      `start-up and the manifest ${mst(phase('restore', `before ${rRead}`))}, reading the archive back (sha256) and ` +
      `\`zstd -d\` into the temp file, with the walk for the data offsets and the rows per table beside it ${mst(phase('restore', rRead))}, pg_restore --jobs=${result.restoreJobs} ` +
      `${mst(phase('restore', rRestore))} (alone ${rt(phase('restore', rRestore) / guideRestore)} the guides' ` +
      `restore), ${RESTORE_PHASES.after} ${mst(phase('restore', RESTORE_PHASES.after))}.`,
  ];
  return lines.map((l) => `- ${l}`).join('\n');
}

/**
 * Why the file backup cannot reach the floor's pace on this machine: the CPU it needs (its process tree and the
 * server's) over the machine's CPUs is a lower bound on its wall time, whatever runs beside what.
 */
function cpuBudget(floor, file, x, cpus) {
  const need = (k) => (k?.treeCpuSeconds ?? NaN) + (k?.serverCpuSeconds ?? NaN);
  if (!Number.isFinite(need(file)) || !Number.isFinite(need(floor))) return 'CPU budget: not measured (no GNU time).';
  const boundMs = (need(file) / cpus) * 1000;
  return (
    `CPU budget: the floor needs ${s(need(floor))} of CPU (pg_dump ${s(floor.treeCpuSeconds)}, server ` +
    `${s(floor.serverCpuSeconds)}); the backup with its defaults ${s(need(file))} (process tree ` +
    `${s(file.treeCpuSeconds)}: pg_dump, zstd, the check, Node; server ${s(file.serverCpuSeconds)}, with the row ` +
    `counts). On ${cpus} CPUs no schedule finishes that in under ${mst(boundMs)} = ${x(boundMs)} the floor` +
    (boundMs / floor.wallMs > GOALS.backupFileMaxRatio
      ? `, so compression and a full check cost more time than the ${GOALS.backupFileMaxRatio}× goal leaves on ` +
        `this machine; more cores move that bound.`
      : `: the ${GOALS.backupFileMaxRatio}× goal is within reach, and what separates the run from that bound is ` +
        `scheduling (the processes wait on each other through pipes), not work.`)
  );
}

/** What the S3 backup's CPU (without s3rver's, which is not measured) allows at best on this machine. */
function s3Budget(floor, s3, x, cpus) {
  const need = (s3?.treeCpuSeconds ?? NaN) + (s3?.serverCpuSeconds ?? NaN);
  if (!Number.isFinite(need) || !floor) return 'CPU budget to S3: not measured (no GNU time).';
  const boundMs = (need / cpus) * 1000;
  return (
    `CPU budget to S3: the backup needs ${s(need)} of CPU (process tree ${s(s3.treeCpuSeconds)}: pg_dump, zstd, the ` +
    `check, Node with its sha256 of the archive and MD5 of each part; server ${s(s3.serverCpuSeconds)}), besides ` +
    `s3rver's own (not measured: the store, a separate process on the same CPUs, which receives every part, hashes ` +
    `it, and on CompleteMultipartUpload copies the parts into one file). On ${cpus} CPUs that alone takes at least ` +
    `${mst(boundMs)} = ${x(boundMs)} the floor` +
    (boundMs / floor.wallMs > GOALS.s3MaxRatio
      ? `, more than the ${GOALS.s3MaxRatio}× goal allows: on this machine, with the store on the same CPUs, the default compression and full check cost more than the goal leaves.`
      : `; the ${GOALS.s3MaxRatio}× goal is within reach of the work itself.`)
  );
}

/** The bare pipeline to S3: what the store and the tools cost without anything db-backup adds. */
function bareS3Line(c, x) {
  const bare = c('floor-s3');
  const checked = c('floor-s3-checked');
  const cpu = (k) => `process tree ${s(k.treeCpuSeconds)}, server ${s(k.serverCpuSeconds)}`;
  return (
    `A backup in S3 by the bare tools: \`pg_dump -Fc -Z0 | zstd -1 -T<cores> | upload\` (lib-storage, ` +
    `8 MiB parts, 4 at once, UNSIGNED-PAYLOAD, as db-backup sends them; no check, no hash, no manifest) to the same ` +
    `s3rver take ${ms(bare.wallMs)} = ${x(bare.wallMs)} the floor (CPU: ${cpu(bare)}, besides s3rver's, which ` +
    `receives, hashes and writes every part and then copies them into one object on the same CPUs)` +
    (checked
      ? `. With the full check teed off the compressed stream (\`zstd -d | pg_restore --file=/dev/null\`) the bare ` +
        `tools take ${ms(checked.wallMs)} = ${x(checked.wallMs)} the floor (CPU: ${cpu(checked)}): the S3 goal's physical floor; db-backup, which ` +
        `also hashes the archive (sha256) and every part (MD5), counts the rows and writes the manifest, takes ` +
        `${ms(c('backup-s3').wallMs)}.`
      : '.')
  );
}

function failuresText(result) {
  if (!result.failures?.length) return '';
  return `Failed runs (each was tried again with a new name; the figures below are of the runs that passed):

${result.failures.map((f) => `- \`${f.db}\` round ${f.round}, ${f.case}: ${f.message}`).join('\n')}

`;
}

/** Setup text: the databases and the rows they hold (two md5 databases in results kept from before the third). */
function databasesText(result) {
  const [small, large] = result.sizes;
  const pgbench = pgbenchOf(result);
  const sizeLine = (z) =>
    `\`${z.db}\`: ${z.tables} tables × ${z.rowsPerTable.toLocaleString('en-US')} rows = ${z.rows.toLocaleString('en-US')} rows, pg_database_size ${mib(z.sizeBytes)}, ${z.runs} rounds`;
  const create = (shape) => `\`CREATE TABLE tN AS ${SHAPES[shape].select('N')}\``;
  if (!pgbench) {
    return `Two databases of ${TABLES} tables of similar size, each
${create('md5')}
plus a primary key, then \`VACUUM (FREEZE, ANALYZE)\`:

- ${sizeLine(small)}
- ${sizeLine(large)}`;
  }
  return `Three databases of ${TABLES} tables of similar size. Two of md5-hex text (high entropy: close to the worst
case for compression, and slow for zstd), a small and a large one, each table
${create('md5')}
plus a primary key on \`id\`; and one the size of the large one with rows shaped like pgbench's \`pgbench_accounts\`
(the data the issue names as representative: three integers and a blank-padded \`char(84)\`, which compresses well),
each table
${create('pgbench')}
plus a primary key on \`aid\`; every table then \`VACUUM (FREEZE, ANALYZE)\`:

- ${sizeLine(small)}
- ${sizeLine(large)}
- ${sizeLine(pgbench)} (without the two diagnostic cases)`;
}

/** The section of the pgbench-shaped database, or '' when the result lacks it. */
function pgbenchText(result) {
  const z = pgbenchOf(result);
  if (!z) return '';
  const c = (id) => caseOf(z, id);
  const restoreMs = c('restore').phases?.find((x) => x.name === RESTORE_PHASES.groups[1].name)?.ms;
  return `### Large database, pgbench-shaped rows (${mib(z.sizeBytes)})

1-minute load average of the machine at the start of each round: ${z.loads.map((l) => l.toFixed(1)).join(', ')}.
The same cases as on the md5 database, without the two diagnostics.

${dbTable(z)}

Ratios (median of the per-round ratios in brackets): db-backup → directory / floor ${ratio(z.ratios.backupFileToFloor)} (${ratio(z.ratios.backupFileToFloorPerRound)}),
guides / db-backup → s3rver ${ratio(z.ratios.s3Speedup)} (${ratio(z.ratios.s3SpeedupPerRound)}),
db-restore / guides' restore ${ratio(z.ratios.restoreToGuide)} (${ratio(z.ratios.restoreToGuidePerRound)});
stored sizes: db-backup (zstd:1) ${mib(c('backup-file').sizeBytes)}, the guides' gzip ${mib(z.gzipSizeBytes)}.

Findings: rows this compressible make gzip cheap, so the guides' \`pg_dump | gzip\` takes ${ms(c('guide-dump').wallMs)},
${ratio(c('guide-dump').wallMs / c('floor').wallMs)} the floor. Being ${GOALS.s3MinSpeedup}× faster than the guides' ${ms(c('guide-total').wallMs)} (dump and upload) would take
${ms(c('guide-total').wallMs / GOALS.s3MinSpeedup)} = ${ratio(c('guide-total').wallMs / GOALS.s3MinSpeedup / c('floor').wallMs)} the floor: on such data the S3 goal asks for a backup faster than
pg_dump alone, which no pipeline behind pg_dump can be. The restore: pg_restore --jobs=${result.restoreJobs} alone takes
${mst(restoreMs)} (${rt(restoreMs / c('guide-restore').wallMs)} the guides' restore) of db-restore's ${ms(c('restore').wallMs)}.

${phaseTable(z)}

`;
}

export function dbSection(result) {
  const [small, large] = result.sizes;
  const pgbench = pgbenchOf(result);
  return `## db-backup and db-restore

\`bench/db-backup.js\`, measured ${result.date ?? result.measuredAt}${result.commit ? ` on commit ${result.commit}` : ''}, bundles ${Object.entries(
    result.bundles,
  )
    .map(([k, v]) => `\`${k}\` (sha256 ${v}…)`)
    .join(', ')}.

Setup: one throwaway PostgreSQL ${result.server.version} cluster (initdb in a temp dir, run as the \`postgres\` OS user,
on 127.0.0.1), tuned for speed for every case alike: ${Object.entries(result.server.settings)
    .filter(([k]) => !['listen_addresses', 'unix_socket_directories'].includes(k))
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ')}. An s3rver ${result.server.s3rver} child process on 127.0.0.1 is the S3 store. The client tools
(pg_dump, pg_restore, psql) are the server's own. ${databasesText(result)}

Each round runs every case once, in the order of the tables below, after an uncounted warm-up (one floor dump, one
db-backup). The bundles run under Node 24 as the runner runs them (\`INPUT_*\` variables, \`GITHUB_OUTPUT\`,
\`RUNNER_TEMP\`), with the action's defaults unless stated: \`format: custom\`; \`compression: auto\`, which is
zstd level 1 done by the \`zstd\` command on every core (\`-T<cores>\`; installed here; pg_dump's stdout is its stdin,
so the raw dump never passes through Node), or by Node's zlib in-process without it (forced with \`OPSKIT_CODEC=node\`); and
\`verify: full\`, which runs while the backup is written: the compressed stream is teed into
\`zstd -d | pg_restore --file=/dev/null\`, and after the write only the stored object is read back and its sha256
compared (from a directory, through one reused buffer), unless the store confirmed on upload that it received exactly the
bytes sent: to S3 the action computes the MD5 of every 8 MiB part as it sends it and compares it with the ETag the service
returns for that part (and the parts CompleteMultipartUpload assembled); when all match, the object is not read back,
else it is (s3rver neither checks nor returns the flexible checksums, \`x-amz-checksum-*\`, but returns MD5 ETags, so the
runs here take the path without the read-back; a store whose ETags are no MD5s, like SSE-KMS on AWS, takes the read-back). db-restore checks the archive's sha256 while \`zstd -d\`
reads the stored file itself (a directory store) and decompresses it straight into a temp file,
walks that file as it is written for the data offsets, which it writes into the file's table of contents once the sha256
has matched (pg_dump cannot when it streams), runs \`pg_restore --jobs=${result.restoreJobs}\`, then takes each table's rows
from the archive's COPY data, counted in the same walk (pg_restore loads each table's data whole or fails). A run counts only when it exits 0 and
sets its outputs; every restore (both ways) is then checked for the full row count with count(*), outside the timing. Wall time is from
spawn to exit. Peak RSS is the bundle process's own VmHWM from \`/proc/<pid>/status\`, polled every 100 ms; GNU
time's figure (the largest process of the tree: the bundle, its pg_dump, zstd or pg_restore) is beside it. CPU of
the process tree is GNU time's user+system (the bundle and its pg_dump, zstd and pg_restore, or the shell
pipeline); CPU of the server is what the PostgreSQL postmaster and its backends used meanwhile. The guides' upload
is a Node 24 script with \`@aws-sdk/lib-storage\` \`Upload\` of the file stream, 8 MiB parts, 10 at once (the AWS
CLI's \`aws s3 cp\` defaults). The bare pipeline to S3 is \`bash -c 'set -o pipefail; pg_dump -Fc -Z0 | zstd -q -1
-T<cores> | node upload'\`, the upload the same script reading stdin, sending its 8 MiB parts 4 at once as
UNSIGNED-PAYLOAD, as db-backup does; with the full check, \`tee >(zstd -q -d | pg_restore --file=/dev/null)\` sits before
the upload (its exit status is waited for and checked): the bare tools doing db-backup's default job, the S3 goal's
physical floor. Restores go into new databases, dropped after each run.

${failuresText(result)}### Large database${pgbench ? ', md5-hex text' : ''} (${mib(large.sizeBytes)})

1-minute load average of the machine at the start of each round: ${large.loads.map((l) => l.toFixed(1)).join(', ')}
(2 CPUs; anything above about 2 means other work competed for the CPUs during the round).
${cpuProbeText(result)}
${dbTable(large)}

Ratios (median of the per-round ratios in brackets): db-backup → directory / floor ${ratio(large.ratios.backupFileToFloor)} (${ratio(large.ratios.backupFileToFloorPerRound)}),
verify: checksum / floor ${rt(large.ratios.backupFileChecksumToFloor)}, \`OPSKIT_CODEC=node\` / floor ${rt(large.ratios.backupFileNodeToFloor)},
guides / db-backup → s3rver ${ratio(large.ratios.s3Speedup)} (${ratio(large.ratios.s3SpeedupPerRound)}),
db-restore / guides' restore ${ratio(large.ratios.restoreToGuide)} (${ratio(large.ratios.restoreToGuidePerRound)}).

Findings (from the figures of this run):

${findings(result)}

Where a bundle run spends its time, from the lifetimes of its child processes, polled every 100 ms (\`before …\` is
the time before the first of them started). For db-backup, \`${BACKUP_PHASES.groups[0].name}\` lasts from the start of
pg_dump to the exit of the last of pg_dump, the zstd command and the full check's \`zstd -d\` and \`pg_restore\`,
which run together (meanwhile the Node process tees, hashes and stores the compressed stream, and takes the row
counts); what follows is the read-back of the stored object and the manifest. Without the zstd command
(\`OPSKIT_CODEC=node\`) the Node process compresses and decompresses in-process, so only pg_dump and pg_restore show.
For db-restore, the \`zstd -d\` phase is the read-back: Node hashes the stored bytes and feeds them to it.

${phaseTable(large)}

${pgbenchText(result)}### Small database${pgbench ? ', md5-hex text' : ''} (${mib(small.sizeBytes)})

1-minute load average at the start of each round: ${small.loads.map((l) => l.toFixed(1)).join(', ')}.

${dbTable(small)}

Ratios: db-backup → directory / floor ${ratio(small.ratios.backupFileToFloor)}, guides / db-backup → s3rver
${ratio(small.ratios.s3Speedup)}, db-restore / guides' restore ${ratio(small.ratios.restoreToGuide)}.

${phaseTable(small)}

### Each piece alone (large database${pgbench ? ', md5-hex text' : ''})

${profileTable(result)}

Each piece once, after the rounds: the raw dump (\`pg_dump -Fc -Z0\`) written to a file, then the commands
(under GNU time) and Node 24 (one child process, streams with their default chunk sizes) over it and over its
\`zstd -1\` archive. Raw dump ${mib(result.profile.rawBytes)}; \`zstd -1\` ${mib(result.profile.compressedBytes)}${
    result.profile.nodeZstdBytes ? `, Node's zlib zstd:1 ${mib(result.profile.nodeZstdBytes)}` : ''
  }.
`;
}
