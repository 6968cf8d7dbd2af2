/** The bench databases: generated rows of two shapes (md5-hex text, pgbench-shaped), built to a target size. */
import { mib, ms } from '../lib.js';
import { TABLES } from './config.js';

/**
 * The shapes of the generated rows: `select(n)` gives n rows (ids 1..n), `key` is the primary key column.
 * - md5: md5-hex text, high entropy: close to the worst case for compression (and slow for zstd);
 * - pgbench: rows shaped like pgbench_accounts (the data the issue names as representative): three integers and
 *   a blank-padded char(84).
 */
export const SHAPES = {
  md5: {
    key: 'id',
    label: 'md5-hex text: high entropy',
    select: (n) =>
      `SELECT g AS id, md5(g::text) AS a, md5((g*7)::text) AS b, now() - g * interval '1 second' AS ts, ` +
      `(random()*1e6)::int AS n FROM generate_series(1, ${n}) g`,
  },
  pgbench: {
    key: 'aid',
    label: 'pgbench-shaped rows',
    select: (n) =>
      `SELECT g AS aid, (g - 1) / 100000 + 1 AS bid, 0 AS abalance, ''::char(84) AS filler ` +
      `FROM generate_series(1, ${n}) g`,
  },
};

/**
 * Creates `db` with TABLES tables of generated rows of `shape` (a key of SHAPES), sized so that pg_database_size
 * is about `targetMiB`.
 */
export async function buildDatabase(pg, db, targetMiB, log, shape = 'md5') {
  const { select, key } = SHAPES[shape] ?? {};
  if (!select) throw new Error(`unknown row shape '${shape}' (${Object.keys(SHAPES).join(', ')})`);
  const t0 = performance.now();
  await pg.psql(`DROP DATABASE IF EXISTS ${db}`);
  await pg.psql(`CREATE DATABASE ${db}`);
  // Calibrate: bytes per row, heap and primary key together.
  const calRows = 200_000;
  const perRow =
    Number(
      await pg.psql(
        `CREATE TABLE cal AS ${select(calRows)}; ALTER TABLE cal ADD PRIMARY KEY (${key}); VACUUM cal;
         SELECT pg_total_relation_size('cal'); DROP TABLE cal;`,
        db,
      ),
    ) / calRows;
  const empty = Number(await pg.psql('SELECT pg_database_size(current_database())', db));
  const rowsPerTable = Math.max(1000, Math.round((targetMiB * 1024 ** 2 - empty) / TABLES / perRow));
  // Two sessions at once (the machine may have only two cores).
  const names = Array.from({ length: TABLES }, (_, i) => `t${i + 1}`);
  const half = Math.ceil(names.length / 2);
  await Promise.all(
    [names.slice(0, half), names.slice(half)].map((group) =>
      pg.psql(
        group
          .map(
            (t) => `CREATE TABLE ${t} AS ${select(rowsPerTable)};
ALTER TABLE ${t} ADD PRIMARY KEY (${key});
VACUUM (FREEZE, ANALYZE) ${t};`,
          )
          .join('\n'),
        db,
      ),
    ),
  );
  await pg.psql('CHECKPOINT');
  const sizeBytes = Number(await pg.psql('SELECT pg_database_size(current_database())', db));
  const info = {
    db,
    shape,
    targetMiB,
    tables: TABLES,
    rowsPerTable,
    rows: rowsPerTable * TABLES,
    sizeBytes,
    buildMs: performance.now() - t0,
  };
  log(`db: built ${db} (${shape}): ${TABLES} tables × ${rowsPerTable} rows, ${mib(sizeBytes)} in ${ms(info.buildMs)}`);
  return info;
}

export async function totalRows(pg, db) {
  const sql = Array.from({ length: TABLES }, (_, i) => `(SELECT count(*) FROM t${i + 1})`).join(' + ');
  return Number(await pg.psql(`SELECT ${sql}`, db));
}
