/**
 * db-restore with jobs: 2 on a real PostgreSQL: tables are counted while pg_restore is still building
 * indexes (as it reports each table's data loaded), the ones that cannot be matched by name (the same
 * name in two schemas, partitions of a partitioned table) are counted after it, and every count equals
 * the source's.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { runAction } from '../harness/action.js';
import { type PgServer, rowCounts, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-restore-parallel-')]);
  await seedSampleSchema(pg, 'app', { scale: 1 });
  await pg.psql(
    `CREATE SCHEMA other;
     CREATE TABLE other.pgbench_branches AS SELECT g AS bid FROM generate_series(1, 7) g;
     CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
     CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     INSERT INTO events SELECT g, date '2025-06-01' + (g % 400) FROM generate_series(1, 3000) g;`,
    'app',
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

describe('db-restore, jobs: 2', () => {
  it('counts tables as their data is loaded and the rest after, all equal to the source', async () => {
    const dest = path.join(dir.path, 'backups');
    const backup = await runAction('db-backup', { 'database-url': pg.url('app'), destination: dest });
    expect(backup.code).toBe(0);
    const run = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: backup.outputs.uri!,
      'target-database': 'copy',
      jobs: '2',
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    const source = await rowCounts(pg, 'app');
    expect(await rowCounts(pg, 'copy')).toEqual(source);
    expect(run.outputs['matches-manifest']).toBe('true');
    // The action counts a partitioned table as one (its rows through the parent), not its partitions.
    const tables = Object.entries(source).filter(([t]) => !/^public\.events_20\d\d$/.test(t));
    expect(tables.length).toBe(Object.keys(source).length - 2);
    expect(run.outputs.rows).toBe(String(tables.reduce((a, [, n]) => a + n, 0)));
    expect(run.outputs.tables).toBe(String(tables.length));
    // Some were counted during the restore; the two pgbench_branches and the partitioned table were not.
    const early = Number(/restored in [\d.]+s; (\d+) tables counted meanwhile/.exec(run.stdout)?.[1]);
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThanOrEqual(tables.length - 3);
    expect(source['other.pgbench_branches']).toBe(7);
    expect(source['public.events']).toBe(3000);
  }, 180_000);
});
