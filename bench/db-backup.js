/**
 * db-backup and db-restore against a real PostgreSQL server and a real S3-protocol server (issue 3, point 8).
 *
 * One throwaway PostgreSQL cluster (the newest /usr/lib/postgresql/<major>, run as the `postgres` OS user
 * when we are root, tuned for speed: fsync off, wal_level minimal, …) holds three databases of 8 tables of
 * generated rows of similar size: `bench_small` (~1/4 of the target) and `bench_large` (~1 GiB by
 * pg_database_size; OPSKIT_BENCH_DB_MIB changes it) of md5-hex text (high entropy: close to the worst case for
 * compression), and `bench_pgbench` (the size of the large one) of rows shaped like pgbench_accounts (the data the
 * issue names as representative). An s3rver child process serves one bucket.
 *
 * For each database, in rounds with the cases interleaved, after an uncounted warm-up:
 * - floor: `pg_dump -Fc -Z0 > /dev/null`;
 * - the real bundle `dist/db-backup/index.js` under Node 24 to a directory and to s3rver, with the action's
 *   defaults (compression auto = zstd:1 by the `zstd` command, fed by pg_dump's stdout; verify full = the
 *   compressed stream teed into `zstd -d | pg_restore --file=/dev/null` while it is written, then a sha256
 *   read-back of the stored object); to a directory once more with verify: checksum (diagnostic: what the full
 *   check costs) and once with OPSKIT_CODEC=node (diagnostic: Node's in-process zlib zstd instead of the command),
 *   these two on the md5 databases only;
 * - the guides' way: `pg_dump db | gzip > backup.sql.gz`, then an upload of that file to the same s3rver;
 * - `dist/db-restore/index.js` (jobs: 2) of the directory backup into a new database, against the guides'
 *   `createdb new && gunzip -c backup.sql.gz | psql new`.
 * While a bundle runs, /proc is polled: its peak RSS (VmHWM), and its child processes (pg_dump, zstd, pg_restore)
 * with their lifetimes and CPU, which split a run into phases; the server's CPU is read before and after.
 * Then, once, on the large md5 database: what each piece costs alone (the row counts on the server; over the raw
 * dump: the zstd command against Node's zlib, sha256 of the stored bytes, `zstd -d`, the full check's pipeline).
 *
 * Everything started here (PostgreSQL, s3rver, temp dirs) is stopped and removed in `finally`, and on
 * SIGINT/SIGTERM/SIGHUP. Run alone: node bench/db-backup.js (takes about 10 minutes on 2 cores).
 *
 * The code is in bench/db/, one file per part: config.js (bundles, sizes, goals), postgres.js and s3rver.js (the
 * services), data.js (the databases), cases.js (one run of each case), rounds.js (the cases and their rounds),
 * profile.js (each piece alone), cpu-probe.js, bench.js (benchDb and the verdict) and report.js (the doc's section
 * and goal rows). This file is the command and re-exports what bench/run.js and bench/migrate.js use.
 */
import { benchDb } from './db/bench.js';
import { streamProfile, upload } from './db/profile.js';
import { dbGoalRows, dbSection } from './db/report.js';
import { isMain, table } from './lib.js';

export {
  BACKUP_BUNDLE,
  DEFAULT_RUNS,
  DEFAULT_SMALL_RUNS,
  GOALS,
  LARGE_MIB,
  RESTORE_BUNDLE,
  RESTORE_JOBS,
  RUNS,
  SMALL_RUNS,
  TABLES,
} from './db/config.js';
export { startPostgres } from './db/postgres.js';
export { startS3rver } from './db/s3rver.js';
export { buildDatabase, SHAPES, totalRows } from './db/data.js';
export {
  actionEnv,
  BACKUP_PHASES,
  dropDatabase,
  groupPhasesOf,
  isCmd,
  RESTORE_PHASES,
  runBundle,
  withRetry,
} from './db/cases.js';
export { ALL_CASES, CASES, GOAL_CASES } from './db/rounds.js';
export { benchDb, verdict } from './db/bench.js';
export { dbGoalRows, dbSection, dbTable, findings, phaseTable, profileTable } from './db/report.js';

if (isMain(import.meta.url)) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === '--upload') {
    await upload(...args);
  } else if (mode === '--stream-profile') {
    process.stdout.write(JSON.stringify(await streamProfile(args[0], args[1])));
  } else {
    const result = await benchDb({ log: (m) => console.error(m) });
    console.log(dbSection(result));
    console.log(table(['goal', 'measured', 'result'], dbGoalRows(result)));
  }
}
