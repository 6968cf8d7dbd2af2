/**
 * migrate-with-backup: the time the pre-migration backup adds to a migration run on a ~1 GB database, reported
 * against the migration alone (issue 4, acceptance 10; report-only, no threshold).
 *
 * One throwaway PostgreSQL cluster and one ~1 GiB database (`bench_migrate`, 8 tables of generated rows), both
 * built by bench/db-backup.js's startPostgres() and buildDatabase(); OPSKIT_BENCH_DB_MIB changes the size. Every run
 * starts from the same state: it migrates a fresh copy of that database (`CREATE DATABASE … TEMPLATE bench_migrate`,
 * made and dropped outside the timed section), so no run sees another's changes, history rows or dead tuples.
 *
 * The migration (one file of the built-in sql tool) is a typical feature change on one of the 8 tables: a column
 * with a constant default, a new column backfilled from existing data (every row of the table is rewritten), and an
 * index on it. Cases, each run once per round (a, b, a, b, …) after one uncounted warm-up of each:
 * - (a) the real bundle `dist/migrate-with-backup/index.js` under Node 24 with the action's defaults: a verified
 *   backup to a file under RUNNER_TEMP (compression auto, verify full), then the migration;
 * - (b) the same migration with `backup-destination: none`, `on-failure: keep`: the migration alone.
 * A run counts only when it exits 0 with outcome `applied`, applied exactly the one migration, and the copy then
 * holds the new columns filled in on every row, the index and the history row. The backup's share of a run comes
 * from the action's own step summary (its total and backup seconds) and from the lifetimes of its pg_dump, zstd
 * and check (zstd -d | pg_restore) children, which run together.
 *
 * Run alone: node bench/migrate.js [--json] (OPSKIT_BENCH_MIGRATE_RUNS rounds, default 3). Everything started here
 * is stopped and removed when it ends, fails or is interrupted (SIGINT, SIGTERM, SIGHUP).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  buildDatabase,
  dropDatabase,
  LARGE_MIB,
  BACKUP_PHASES,
  groupPhasesOf,
  runBundle,
  startPostgres,
  withRetry,
} from './db-backup.js';
import { cleanupOnSignal, isMain, median, mib, ms, node24, privateBundle, ratio, root, table } from './lib.js';

export const MIGRATE_BUNDLE = path.join(root, 'dist/migrate-with-backup/index.js');
/** Target size of the database (pg_database_size), in MiB: the same variable and default as the db part. */
export const DB_MIB = LARGE_MIB;
export const DEFAULT_RUNS = 3;
export const RUNS = Number(process.env.OPSKIT_BENCH_MIGRATE_RUNS || DEFAULT_RUNS);
const BASE_DB = 'bench_migrate';

export const MIGRATION = {
  file: '20261122000000_add_bucket.sql',
  sql: `-- A typical feature migration on one of the 8 tables (bench/migrate.js).
ALTER TABLE t1 ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE t1 ADD COLUMN bucket integer;
UPDATE t1 SET bucket = n % 1000 WHERE bucket IS NULL;
CREATE INDEX t1_bucket_idx ON t1 (bucket);
`,
};

export const CASES = [
  {
    id: 'with-backup',
    label: '(a) migrate-with-backup, defaults: verified backup to a file in RUNNER_TEMP, then the migration',
    inputs: {},
  },
  {
    id: 'alone',
    label: '(b) migrate-with-backup, `backup-destination: none`, `on-failure: keep`: the migration alone',
    inputs: { 'backup-destination': 'none', 'on-failure': 'keep' },
  },
];

/** Total and backup seconds, and the backup's size, from the action's step summary. */
export function parseSummary(text) {
  const total = /Migrations applied \(([\d.]+)s\)/.exec(text);
  const backup = /\(([^,()]+), verified, ([\d.]+)s\)/.exec(text);
  return {
    totalSeconds: total ? Number(total[1]) : undefined,
    backupSeconds: backup ? Number(backup[2]) : undefined,
    backupSize: backup ? backup[1] : undefined,
  };
}

async function cloneBase(ctx, target) {
  await dropDatabase(ctx, target);
  ctx.created.add(target);
  // FILE_COPY (PostgreSQL 15+; the only way before): copies the files after a checkpoint instead of WAL-logging
  // every block.
  const strategy = ctx.pg.major >= 15 ? ' STRATEGY = FILE_COPY' : '';
  await ctx.pg.psql(`CREATE DATABASE ${target} TEMPLATE ${BASE_DB}${strategy}`);
  await ctx.pg.psql('CHECKPOINT');
}

/** What the migration must have left in the copy: both columns on every row of t1, the index, the history row. */
async function checkMigrated(ctx, target) {
  const [filled, total, index, history] = (
    await ctx.pg.psql(
      `SELECT count(*) FILTER (WHERE bucket = n % 1000 AND status = 'active'), count(*),
              to_regclass('t1_bucket_idx') IS NOT NULL,
              (SELECT count(*) FROM opskit_schema_migrations)
       FROM t1`,
      target,
    )
  ).split('|');
  if (Number(total) !== ctx.size.rowsPerTable || Number(filled) !== Number(total) || index !== 't' || history !== '1') {
    throw new Error(
      `after the run: ${filled} of ${total} rows of t1 migrated (expected ${ctx.size.rowsPerTable}), index ${index}, ${history} history rows`,
    );
  }
}

async function runOnce(ctx, kase, round, attempt) {
  const target = `${BASE_DB}_r${round}_${kase.id.replace(/-/g, '_')}${attempt ? `_retry${attempt}` : ''}`;
  await cloneBase(ctx, target);
  const r = await runBundle(
    ctx,
    ctx.migrateBundle,
    { 'database-url': ctx.pg.url(target), 'migrations-dir': ctx.migrationsDir, ...kase.inputs },
    `migrate-with-backup (${kase.id})`,
  );
  const expected = JSON.stringify([MIGRATION.file.replace(/\.sql$/, '')]);
  if (r.outputs.outcome !== 'applied' || r.outputs.applied !== expected) {
    throw new Error(
      `migrate-with-backup (${kase.id}): outcome=${r.outputs.outcome}, applied=${r.outputs.applied} (expected applied, ${expected})`,
    );
  }
  const withBackup = kase.id === 'with-backup';
  if (Boolean(r.outputs['backup-uri']) !== withBackup) {
    throw new Error(`migrate-with-backup (${kase.id}): backup-uri='${r.outputs['backup-uri'] ?? ''}'`);
  }
  await checkMigrated(ctx, target);
  await dropDatabase(ctx, target);
  const summary = parseSummary(r.summary);
  if (summary.totalSeconds === undefined || (withBackup && summary.backupSeconds === undefined)) {
    throw new Error(`migrate-with-backup (${kase.id}): no durations in its step summary:\n${r.summary}`);
  }
  return {
    wallMs: r.wallMs,
    totalSeconds: summary.totalSeconds,
    backupSeconds: summary.backupSeconds,
    backupSize: summary.backupSize,
    peakRssKiB: r.peakRssKiB,
    treeCpuSeconds: r.time?.cpuSeconds,
    serverCpuSeconds: r.serverCpuSeconds,
    phases: withBackup
      ? groupPhasesOf(r.children, r.wallMs, BACKUP_PHASES.groups, 'read-back, manifest, then the migration')
      : undefined,
  };
}

const runCase = (ctx, kase, round) =>
  withRetry(ctx, ctx.size, round, kase.label, (attempt) => runOnce(ctx, kase, round, attempt));

export async function benchMigrate({ runs = RUNS, log = () => {} } = {}) {
  if (!existsSync(MIGRATE_BUNDLE)) throw new Error(`${MIGRATE_BUNDLE} missing: npm run build`);
  const node = node24().path;
  const work = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-migrate-'));
  const unregisterWork = cleanupOnSignal(() => rm(work, { recursive: true, force: true }));
  const ctx = { work, node, log, created: new Set(), failures: [] };
  try {
    const copy = await privateBundle(work, MIGRATE_BUNDLE);
    ctx.migrateBundle = copy.path;
    ctx.migrationsDir = path.join(work, 'migrations');
    await mkdir(ctx.migrationsDir);
    await writeFile(path.join(ctx.migrationsDir, MIGRATION.file), MIGRATION.sql);
    ctx.pg = await startPostgres({ log });
    ctx.size = await buildDatabase(ctx.pg, BASE_DB, DB_MIB, log);
    log(`migrate: warm-up (one run of each case, not counted)`);
    for (const kase of CASES) await runCase(ctx, kase, 0);
    const samples = Object.fromEntries(CASES.map((c) => [c.id, []]));
    const loads = [];
    for (let round = 1; round <= runs; round++) {
      const load = os.loadavg()[0];
      loads.push(load);
      for (const kase of CASES) {
        const s = await runCase(ctx, kase, round);
        samples[kase.id].push(s);
        log(
          `migrate: round ${round} (load ${load.toFixed(2)}): ${kase.id} ${ms(s.wallMs)} (in the action: ` +
            `${s.totalSeconds} s${s.backupSeconds !== undefined ? `, backup ${s.backupSeconds} s` : ''})`,
        );
      }
    }
    const cases = CASES.map((c) => {
      const s = samples[c.id];
      const col = (k) => s.map((x) => x[k]).filter((v) => v !== undefined);
      const med = (k) => (col(k).length ? median(col(k)) : undefined);
      const withBackup = c.id === 'with-backup';
      return {
        id: c.id,
        label: c.label,
        runs: s.map((x) => x.wallMs),
        wallMs: median(s.map((x) => x.wallMs)),
        totalSeconds: med('totalSeconds'),
        backupSeconds: med('backupSeconds'),
        // In the action, after the backup: the lock, the history, the migration's transaction.
        afterBackupSeconds: withBackup ? median(s.map((x) => x.totalSeconds - x.backupSeconds)) : undefined,
        backupSize: s.find((x) => x.backupSize)?.backupSize,
        peakRssKiB: col('peakRssKiB').length ? Math.max(...col('peakRssKiB')) : undefined,
        treeCpuSeconds: med('treeCpuSeconds'),
        serverCpuSeconds: med('serverCpuSeconds'),
        phases: s[0]?.phases
          ? s[0].phases.map((p, i) => ({
              name: p.name,
              ms: median(s.map((x) => x.phases[i]?.ms ?? 0)),
              cpuSeconds: p.cpuSeconds === undefined ? undefined : median(s.map((x) => x.phases[i]?.cpuSeconds ?? 0)),
            }))
          : undefined,
      };
    });
    const a = samples['with-backup'];
    const b = samples.alone;
    const [ca, cb] = cases;
    return {
      measuredAt: new Date().toISOString(),
      bundle: { [path.relative(root, MIGRATE_BUNDLE)]: copy.sha256 },
      server: { version: ctx.pg.version, settings: ctx.pg.settings },
      database: ctx.size,
      migration: MIGRATION,
      runs,
      loads,
      cases,
      addedMs: ca.wallMs - cb.wallMs,
      ratio: ca.wallMs / cb.wallMs,
      addedMsPerRound: median(a.map((x, i) => x.wallMs - b[i].wallMs)),
      ratioPerRound: median(a.map((x, i) => x.wallMs / b[i].wallMs)),
      failures: ctx.failures,
    };
  } finally {
    if (ctx.pg) {
      for (const db of ctx.created) await ctx.pg.psql(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
      await ctx.pg.stop().catch((err) => log(`migrate: PostgreSQL stop failed: ${err.message}`));
    }
    await rm(work, { recursive: true, force: true });
    unregisterWork();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The doc

const sec = (msValue) => `${(msValue / 1000).toFixed(1)} s`;
const s1 = (v) => (v === undefined ? '–' : `${v.toFixed(1)} s`);
const caseOf = (result, id) => result.cases.find((c) => c.id === id);

/** The headline: what the backup adds, in seconds and as a factor of the migration alone. */
export function migrateFigure(result) {
  return `backup adds **${sec(result.addedMs)}** to the migration, i.e. the run with backup takes **${ratio(result.ratio)}** the migration alone`;
}

export function migrateGoalRow(result) {
  const goal =
    'migrate-with-backup (issue 4, acceptance 10): the time the verified pre-migration backup adds to a migration run on a ~1 GB database, against the migration alone';
  if (!result) return [goal, 'not measured yet: run `node bench/run.js --only migrate`', '–'];
  const a = caseOf(result, 'with-backup');
  const b = caseOf(result, 'alone');
  return [
    goal,
    `${mib(result.database.sizeBytes)} database: ${sec(a.wallMs)} with the backup vs ${sec(b.wallMs)} alone; ${migrateFigure(result)}`,
    'reported',
  ];
}

export function migrateTable(result) {
  return table(
    [
      'case',
      'median wall time',
      'runs',
      'in the action (step summary): total · backup · after the backup',
      'peak RSS (process)',
      'CPU: process tree',
      'CPU: server',
    ],
    result.cases.map((c) => [
      c.label,
      sec(c.wallMs),
      c.runs.map((r) => (r / 1000).toFixed(1)).join(', ') + ' s',
      c.backupSeconds === undefined
        ? `${s1(c.totalSeconds)} · – · ${s1(c.totalSeconds)}`
        : `${s1(c.totalSeconds)} · ${s1(c.backupSeconds)} · ${s1(c.afterBackupSeconds)}`,
      c.peakRssKiB === undefined ? '–' : mib(c.peakRssKiB * 1024),
      s1(c.treeCpuSeconds),
      s1(c.serverCpuSeconds),
    ]),
  );
}

export function migrateSection(result) {
  if (!result) {
    return '## migrate-with-backup: what the backup adds\n\nnot measured yet: run `node bench/run.js --only migrate`.\n';
  }
  const a = caseOf(result, 'with-backup');
  const b = caseOf(result, 'alone');
  const d = result.database;
  const phases = a.phases
    ?.filter((p) => p.ms >= 50)
    .map((p) => `${p.name} ${sec(p.ms)}${p.cpuSeconds !== undefined ? ` (CPU ${s1(p.cpuSeconds)})` : ''}`)
    .join(' · ');
  const share = a.backupSeconds !== undefined && a.totalSeconds ? a.backupSeconds / a.totalSeconds : undefined;
  const failures = result.failures?.length
    ? `Failed runs (each was tried again on a new copy; the figures are of the runs that passed):\n\n${result.failures
        .map((f) => `- round ${f.round}, ${f.case}: ${f.message}`)
        .join('\n')}\n\n`
    : '';
  return `## migrate-with-backup: what the backup adds

\`bench/migrate.js\`, measured ${result.date ?? result.measuredAt}${result.commit ? ` on commit ${result.commit}` : ''}, bundle ${Object.entries(
    result.bundle,
  )
    .map(([k, v]) => `\`${k}\` (sha256 ${v}…)`)
    .join(', ')}.

Result: ${migrateFigure(result)} (${mib(d.sizeBytes)} database; median of the per-round differences
${sec(result.addedMsPerRound)}, of the per-round ratios ${ratio(result.ratioPerRound)}).

Method: the same migration, applied by the real bundle under Node 24 as the runner runs it (\`INPUT_*\` variables,
\`GITHUB_OUTPUT\`, \`GITHUB_STEP_SUMMARY\`, \`RUNNER_TEMP\`), (a) with the action's defaults, which first take a
verified backup (\`compression: auto\`, \`verify: full\`: pg_dump into the zstd command, the compressed bytes decoded into
pg_restore while they are written, then the stored file read back) to a
file under \`RUNNER_TEMP\`, and (b) with \`backup-destination: none\`, \`on-failure: keep\`, the migration alone. The
cases run interleaved, ${result.runs} round${result.runs === 1 ? '' : 's'} (a, b, a, b, …) after one uncounted warm-up of each. Every run migrates its
own fresh copy of the database (\`CREATE DATABASE … TEMPLATE\`, then \`CHECKPOINT\`, made before the timer starts
and dropped after it stops), so every run starts from the same state. A run counts only when it exits 0 with the
\`outcome\` output \`applied\` and exactly this migration in \`applied\`, and the copy afterwards has both new columns
filled in on every row of \`t1\`, the index and the history row. Wall time is from spawn to exit (it includes Node
start-up); "in the action" are the seconds the action's step summary reports (rounded to 0.1 s): its whole run, the
backup, and the rest (lock, history, the migration's transaction).

Setup: one throwaway PostgreSQL ${result.server.version} cluster built like the db part's (initdb in a temp dir, run as
the \`postgres\` OS user, on 127.0.0.1, the same settings: ${Object.entries(result.server.settings)
    .filter(([k]) => !['listen_addresses', 'unix_socket_directories'].includes(k))
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ')}), and one database of ${d.tables} tables × ${d.rowsPerTable.toLocaleString('en-US')} rows
(${d.rows.toLocaleString('en-US')} rows), pg_database_size ${mib(d.sizeBytes)}, built as in the db part. The
migration (\`${result.migration.file}\`, one transaction) rewrites one table of the ${d.tables}:

\`\`\`sql
${result.migration.sql.trim()}
\`\`\`

${failures}1-minute load average of the machine at the start of each round: ${result.loads.map((l) => l.toFixed(1)).join(', ')}
(2 CPUs; anything above about 2 means other work competed for the CPUs during the round).

${migrateTable(result)}

Where the run with the backup spends its time (medians; from the lifetimes of its child processes, \`before …\` is
the time before that child started): ${phases ?? '–'}.${
    share === undefined
      ? ''
      : ` By the action's own count the backup is ${(share * 100).toFixed(0)}% of its run (${s1(a.backupSeconds)} of ${s1(a.totalSeconds)}; stored ${a.backupSize}); the migration after it took ${s1(a.afterBackupSeconds)} there against ${s1(b.totalSeconds)} alone.`
  }
`;
}

if (isMain(import.meta.url)) {
  const result = await benchMigrate({ log: (m) => console.error(m) });
  if (process.argv.slice(2).includes('--json')) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(migrateSection(result));
    console.log(table(['goal', 'measured', 'result'], [migrateGoalRow(result)]));
  }
}
