/** What the db bench runs and judges against: the bundles, the sizes and rounds (OPSKIT_BENCH_DB_*), the goals. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { root } from '../lib.js';

/** The db bench's command: cases.js and profile.js start it again in its --upload and --stream-profile modes. */
export const DB_BENCH_ENTRY = fileURLToPath(new URL('../db-backup.js', import.meta.url));
export const BACKUP_BUNDLE = path.join(root, 'dist/db-backup/index.js');
export const RESTORE_BUNDLE = path.join(root, 'dist/db-restore/index.js');

/** Target size of the large databases (pg_database_size; md5 and pgbench), in MiB; the small one is a quarter of it. */
export const LARGE_MIB = Number(process.env.OPSKIT_BENCH_DB_MIB || 1024);
export const TABLES = 8;
/** Counted rounds on the large databases (each round runs every case once) and on the small one. */
export const DEFAULT_RUNS = 3;
export const DEFAULT_SMALL_RUNS = 2;
export const RUNS = Number(process.env.OPSKIT_BENCH_DB_RUNS || DEFAULT_RUNS);
export const SMALL_RUNS = Number(process.env.OPSKIT_BENCH_DB_SMALL_RUNS || DEFAULT_SMALL_RUNS);
export const RESTORE_JOBS = 2;
export const GOALS = {
  backupFileMaxRatio: 1.35,
  s3MinSpeedup: 1.5,
  /** Issue #16: db-backup to S3 at most this many times the floor (pg_dump -Fc -Z0 > /dev/null). */
  s3MaxRatio: 1.5,
  rssMaxMiB: 200,
  /** "Flat" when the database grows 4×: the peak RSS grows by at most this factor. */
  rssMaxGrowth: 1.25,
  restoreMaxRatio: 0.7,
};
export const PG_USER = 'opskit';
export const BUCKET = 'opskit-bench';
export const isRoot = () => process.getuid?.() === 0;
