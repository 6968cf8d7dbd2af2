/**
 * db-restore mode clean (restore beside the target, verify, copy its settings, swap) against the floor the issue
 * names: a bare `pg_restore --jobs=2` of the same archive into a new database (#16: at most 1.2×).
 *
 * One throwaway PostgreSQL cluster (bench/db/postgres.js: the db bench's, tuned the same way) holds a database of
 * 8 tables (bench/db/data.js; OPSKIT_BENCH_CLEAN_MIB, default 1024, and OPSKIT_BENCH_CLEAN_SHAPE md5 or pgbench).
 * db-backup (the bundle, defaults) writes it to a directory once; `pg_dump -Fc -Z0 -f` writes the same data as a
 * plain custom archive for the stricter floor (pg_dump writing to a file records the data offsets, so the floor's
 * parallel pg_restore seeks, as db-restore's does after it writes them into its temp copy). Then, in rounds, interleaved:
 * - floor-archive (the goal's floor): `zstd -d` of db-backup's stored archive into a plain file, `createdb`, then
 *   `pg_restore --jobs=2 --no-owner --no-privileges` of it: the bare tools restoring the same archive;
 * - floor (stricter): `createdb` + `pg_restore --jobs=2 --no-owner --no-privileges` of the uncompressed file;
 * - clean over an empty database (no confirm, no pre-restore backup): the read-back and sha256 check, the restore
 *   into `<db>__opskit_restore`, the row check, the settings copy and the swap — what the goal is about;
 * - clean over a full copy (confirm, pre-restore backup to a directory): the same plus the pre-restore backup,
 *   whose pg_dump of the live database is a backup's cost, not the swap's (diagnostic);
 * - new-database (jobs: 2), for reference.
 * Every restore is checked for its row count outside the timing. Prints a markdown section.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupOnSignal, isMain, median, ms, node24, privateBundle, ratio, sampledRun, table } from './lib.js';
import { runBundle } from './db/cases.js';
import { BACKUP_BUNDLE, RESTORE_BUNDLE, RESTORE_JOBS } from './db/config.js';
import { buildDatabase, totalRows } from './db/data.js';
import { startPostgres } from './db/postgres.js';

/**
 * The databases measured, one after another, each in its own cluster: `<MiB>:<shape>,…` (OPSKIT_BENCH_CLEAN_SETS;
 * default 1 GiB md5, 1 GiB pgbench-shaped, 256 MiB md5, where the fixed costs weigh most). OPSKIT_BENCH_CLEAN_MIB and
 * OPSKIT_BENCH_CLEAN_SHAPE, when set, measure that one database only.
 */
const SETS = (
  process.env.OPSKIT_BENCH_CLEAN_MIB || process.env.OPSKIT_BENCH_CLEAN_SHAPE
    ? `${process.env.OPSKIT_BENCH_CLEAN_MIB || 1024}:${process.env.OPSKIT_BENCH_CLEAN_SHAPE || 'md5'}`
    : process.env.OPSKIT_BENCH_CLEAN_SETS || '1024:md5,1024:pgbench,256:md5'
)
  .split(',')
  .map((s) => {
    const [mibText, shape = 'md5'] = s.split(':');
    return { mib: Number(mibText), shape };
  });
const RUNS = Number(process.env.OPSKIT_BENCH_CLEAN_RUNS || 3);
const GOAL = 1.2;
const DB = 'bench_clean';

export async function benchCleanRestore({ log = () => {} } = {}) {
  const sets = [];
  for (const { mib: size, shape } of SETS) sets.push(await benchOne(size, shape, log));
  return { measuredAt: new Date().toISOString(), sets };
}

async function benchOne(MIB, SHAPE, log) {
  for (const b of [BACKUP_BUNDLE, RESTORE_BUNDLE]) if (!existsSync(b)) throw new Error(`${b} missing: npm run build`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-clean-'));
  const unregister = cleanupOnSignal(() => rm(work, { recursive: true, force: true }));
  const ctx = { work, node: node24().path, log };
  let pg;
  try {
    ctx.backupBundle = (await privateBundle(work, BACKUP_BUNDLE)).path;
    ctx.restoreBundle = (await privateBundle(work, RESTORE_BUNDLE)).path;
    pg = ctx.pg = await startPostgres({ log });
    const built = await buildDatabase(pg, DB, MIB, log, SHAPE);
    const rows = await totalRows(pg, DB);
    const backups = path.join(work, 'backups');
    const backup = await runBundle(
      ctx,
      ctx.backupBundle,
      { 'database-url': pg.url(DB), destination: backups },
      'db-backup',
    );
    const storedFile = fileURLToPath(backup.outputs.uri);
    if (!backup.outputs.uri.endsWith('.zst'))
      throw new Error(`db-backup stored ${backup.outputs.uri}, not a zstd archive`);
    const floorFile = path.join(work, 'floor.dump');
    const dump = await sampledRun(pg.bin('pg_dump'), [...pg.conn, '-Fc', '-Z0', '-f', floorFile, DB], {
      env: pg.clientEnv,
    });
    if (dump.code !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
    log(
      `clean: ${(built.sizeBytes / 1024 ** 2).toFixed(1)} MiB (${SHAPE}), ${rows} rows; backup ${backup.outputs.uri}`,
    );

    const check = async (db, what) => {
      const n = await totalRows(pg, db);
      if (n !== rows) throw new Error(`${what}: ${n} rows, expected ${rows}`);
    };
    const drop = (db) => pg.psql(`DROP DATABASE IF EXISTS ${db}`);
    const cases = {
      floor: async () => {
        await drop('floor_target');
        const conn = pg.conn.map((a) => `'${a}'`).join(' ');
        const r = await sampledRun(
          'bash',
          [
            '-c',
            `set -e; '${pg.bin('createdb')}' ${conn} floor_target && '${pg.bin('pg_restore')}' ${conn} --jobs=${RESTORE_JOBS} --no-owner --no-privileges --exit-on-error -d floor_target '${floorFile}'`,
          ],
          { env: pg.clientEnv },
        );
        if (r.code !== 0) throw new Error(`floor failed: ${r.stderr}`);
        await check('floor_target', 'floor');
        await drop('floor_target');
        return r.wallMs;
      },
      // "A bare pg_restore --jobs=2 of the same archive": db-backup's stored archive, which pg_restore cannot read
      // before `zstd -d` (and which, written by pg_dump to a pipe, has no data offsets in its table of contents).
      'floor-archive': async () => {
        await drop('floor_target');
        const conn = pg.conn.map((a) => `'${a}'`).join(' ');
        const plain = path.join(work, 'floor-archive.dump');
        const r = await sampledRun(
          'bash',
          [
            '-c',
            `set -e; zstd -q -d -f '${storedFile}' -o '${plain}' && '${pg.bin('createdb')}' ${conn} floor_target && '${pg.bin('pg_restore')}' ${conn} --jobs=${RESTORE_JOBS} --no-owner --no-privileges --exit-on-error -d floor_target '${plain}'`,
          ],
          { env: pg.clientEnv },
        );
        await rm(plain, { force: true });
        if (r.code !== 0) throw new Error(`floor (the same archive) failed: ${r.stderr}`);
        await check('floor_target', 'floor (the same archive)');
        await drop('floor_target');
        return r.wallMs;
      },
      'clean-empty': async () => {
        await drop('clean_empty');
        await pg.psql('CREATE DATABASE clean_empty');
        const r = await runBundle(
          ctx,
          ctx.restoreBundle,
          {
            'database-url': pg.url('clean_empty'),
            source: backup.outputs.uri,
            mode: 'clean',
            'allow-other-database': 'true',
            'pre-restore-backup': 'off',
            jobs: String(RESTORE_JOBS),
          },
          'db-restore clean (empty target)',
        );
        await check('clean_empty', 'clean over an empty database');
        await drop('clean_empty');
        return r.wallMs;
      },
      'clean-full': async () => {
        await drop('clean_full');
        await pg.psql(`CREATE DATABASE clean_full TEMPLATE ${DB}`);
        const r = await runBundle(
          ctx,
          ctx.restoreBundle,
          {
            'database-url': pg.url('clean_full'),
            source: backup.outputs.uri,
            mode: 'clean',
            'allow-other-database': 'true',
            confirm: 'clean_full',
            'pre-restore-backup': path.join(work, 'pre'),
            jobs: String(RESTORE_JOBS),
          },
          'db-restore clean (full target)',
        );
        await check('clean_full', 'clean over a full database');
        await drop('clean_full');
        await rm(path.join(work, 'pre'), { recursive: true, force: true });
        return r.wallMs;
      },
      'new-database': async () => {
        await drop('new_target');
        const r = await runBundle(
          ctx,
          ctx.restoreBundle,
          {
            'database-url': pg.url('postgres'),
            source: backup.outputs.uri,
            'target-database': 'new_target',
            jobs: String(RESTORE_JOBS),
          },
          'db-restore new-database',
        );
        await check('new_target', 'new-database');
        await drop('new_target');
        return r.wallMs;
      },
    };
    const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let round = 1; round <= RUNS; round++) {
      for (const [id, fn] of Object.entries(cases)) samples[id].push(await fn());
      log(
        `clean: round ${round}: ${Object.entries(samples)
          .map(([k, v]) => `${k} ${ms(v.at(-1))}`)
          .join(', ')}`,
      );
    }
    const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    const perRound = (id) => median(samples[id].map((v, i) => v / samples.floor[i]));
    return {
      measuredAt: new Date().toISOString(),
      mib: MIB,
      sizeBytes: built.sizeBytes,
      shape: SHAPE,
      rows,
      samples,
      median: med,
      ratios: {
        // The goal's floor: a bare `pg_restore --jobs=2` of the same archive (zstd -d first).
        cleanToArchive: med['clean-empty'] / med['floor-archive'],
        cleanToArchivePerRound: median(samples['clean-empty'].map((v, i) => v / samples['floor-archive'][i])),
        archiveToFloor: med['floor-archive'] / med.floor,
        cleanEmpty: med['clean-empty'] / med.floor,
        cleanEmptyPerRound: perRound('clean-empty'),
        cleanFull: med['clean-full'] / med.floor,
        newDatabase: med['new-database'] / med.floor,
      },
    };
  } finally {
    await pg?.stop().catch((err) => log(`clean: PostgreSQL stop failed: ${err.message}`));
    await rm(work, { recursive: true, force: true });
    unregister();
  }
}

const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** The databases of a result (one, in results kept from before several were measured). */
const setsOf = (r) => r.sets ?? [r];

/** The goal rows for docs/benchmarks.md, one per database. */
export function cleanGoalRows(r) {
  return setsOf(r).map(cleanGoalRow);
}

/**
 * The goal's ratio: clean restore over a bare `pg_restore --jobs=2` of the same archive (`zstd -d` of db-backup's
 * stored archive first); results kept from before that floor was measured fall back to the uncompressed one.
 */
const goalRatio = (r) => r.ratios.cleanToArchive ?? r.ratios.cleanEmpty;

function cleanGoalRow(r) {
  const archive = r.median['floor-archive'];
  return [
    `db-restore mode clean (restored beside the target, verified, settings copied, swapped in) takes at most ${GOAL}× a bare \`pg_restore --jobs=2\` of the same archive into a new database (${mib(r.sizeBytes)} database, ${r.shape})`,
    archive === undefined
      ? `${ms(r.median['clean-empty'])} vs ${ms(r.median.floor)}: **${ratio(r.ratios.cleanEmpty)}** (new-database ${ratio(r.ratios.newDatabase)}; over a full target with its pre-restore backup ${ratio(r.ratios.cleanFull)})`
      : `${ms(r.median['clean-empty'])} vs ${ms(archive)} (\`zstd -d\` of db-backup's archive, \`createdb\`, \`pg_restore --jobs=2\`): **${ratio(r.ratios.cleanToArchive)}** (median of the per-round ratios ${ratio(r.ratios.cleanToArchivePerRound)}). Against the stricter floor of an uncompressed archive with its data offsets (${ms(r.median.floor)}, no \`zstd -d\`): ${ratio(r.ratios.cleanEmpty)}; new-database ${ratio(r.ratios.newDatabase)}; over a full target with its pre-restore backup ${ratio(r.ratios.cleanFull)}`,
    goalRatio(r) <= GOAL ? '**met**' : '**NOT met**',
  ];
}

export function cleanMethod(r) {
  const sets = setsOf(r);
  return `\`bench/clean-restore.js\`, measured ${r.date ?? r.measuredAt}${r.commit ? ` on commit ${r.commit}` : ''}: ${sets.length === 1 ? 'one database' : `${sets.length} databases, one after another, each in its own throwaway cluster`} (${sets.map((z) => `${mib(z.sizeBytes)} ${z.shape}, ${z.rows} rows in 8 tables`).join('; ')}), each backed up once by db-backup (defaults) to a directory; the goal's floor is a bare \`pg_restore --jobs=${RESTORE_JOBS}\` of that same archive (\`zstd -d\` of the stored file into a plain one, which pg_restore needs, then \`createdb\` and \`pg_restore\`, all timed: the bare tools restoring what db-backup stored); a stricter floor restores \`pg_dump -Fc -Z0 -f\` of the same database (uncompressed, and with its data offsets, which pg_dump writes only to a file, so no tool run can start from anything closer to the database). ${sets[0].samples.floor.length} rounds per database, the cases interleaved; every restore's rows are counted outside the timing. Wall time is the process's, Node start-up included.`;
}

export function cleanSection(r) {
  return setsOf(r)
    .map((z) => `### ${mib(z.sizeBytes)} database, ${z.shape}\n\n${cleanSetSection(z)}`)
    .join('\n\n');
}

function cleanSetSection(r) {
  const row = (id, label) => [
    label,
    ms(r.median[id]),
    r.samples[id].map((v) => `${(v / 1000).toFixed(1)} s`).join(', '),
  ];
  const perRound = (id) => r.samples[id].map((v, i) => ratio(v / r.samples.floor[i])).join(', ');
  const swapCost = r.median['clean-empty'] - r.median['new-database'];
  return `${table(
    ['case', 'median', 'runs'],
    [
      ...(r.median['floor-archive'] === undefined
        ? []
        : [
            row(
              'floor-archive',
              `\`zstd -d\` of db-backup's archive + \`createdb\` + \`pg_restore --jobs=${RESTORE_JOBS}\` of it (the goal's floor: the same archive)`,
            ),
          ]),
      row(
        'floor',
        `\`createdb\` + \`pg_restore --jobs=${RESTORE_JOBS}\` of an uncompressed archive with data offsets (stricter floor)`,
      ),
      row('clean-empty', 'db-restore mode clean over an empty database (restore beside it, row check, settings, swap)'),
      row('clean-full', 'db-restore mode clean over a full copy (the same, plus confirm and the pre-restore backup)'),
      row('new-database', 'db-restore into a new database'),
    ],
  )}

${
  r.ratios.cleanToArchive === undefined
    ? ''
    : `Clean restore with the swap / the bare restore of the same archive: **${ratio(r.ratios.cleanToArchive)}** (median of the per-round ratios ${ratio(r.ratios.cleanToArchivePerRound)}; goal at most ${GOAL}×: ${r.ratios.cleanToArchive <= GOAL ? 'met' : 'NOT met'}). That bare restore itself takes ${ratio(r.ratios.archiveToFloor)} the stricter floor.

`
}Clean restore with the swap / the stricter floor (uncompressed, with data offsets): **${ratio(r.ratios.cleanEmpty)}** (median of the per-round ratios ${ratio(r.ratios.cleanEmptyPerRound)}); with the pre-restore backup of a full target ${ratio(r.ratios.cleanFull)}; new-database ${ratio(r.ratios.newDatabase)}.

${
  r.samples['floor-archive']
    ? `- Per round, against that round's bare restore of the same archive: clean ${r.samples['clean-empty'].map((v, i) => ratio(v / r.samples['floor-archive'][i])).join(', ')}.
`
    : ''
}- Per round, against that round's stricter floor: clean ${perRound('clean-empty')}; new-database ${perRound('new-database')}; clean over a full copy ${perRound('clean-full')}. The spread between rounds is the machine's (other work shared its 2 CPUs during this run), larger than the differences the goal is about.
- What the clean restore adds to the floor: ${ms(r.median['clean-empty'] - r.median.floor)} of medians. Of that, the swap (clean over an empty database against a restore into a new database) is ${swapCost >= 0 ? '+' : ''}${ms(swapCost)}: the row check from the archive, copying the database-level settings, the two renames in one transaction, and dropping the replaced database, whose \`DROP DATABASE\` makes PostgreSQL take an immediate checkpoint that writes out the restore's dirty buffers (the floor's restore leaves them to a later checkpoint). The rest is db-restore's own: Node's start-up, the checks before it reads anything, and its read-back (sha256 and \`zstd -d\` of the stored archive into a temp copy, with the \`CREATE DATABASE\` of the database it restores into made meanwhile), which the floor, restoring an uncompressed file it trusts, does not do.
- The pre-restore backup is a full backup of the database being replaced (pg_dump, zstd, the full check), taken before the swap and not beside the restore: over a full copy it more than doubles the run. It is the second safety net the issue asks to keep; \`pre-restore-backup: off\` is accepted only for an empty target.`;
}

if (isMain(import.meta.url)) {
  const result = await benchCleanRestore({ log: (m) => console.error(m) });
  console.log(JSON.stringify(result));
  console.log(cleanSection(result));
}
