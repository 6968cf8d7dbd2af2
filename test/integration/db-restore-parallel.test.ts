/**
 * db-restore with jobs: 2 on a real PostgreSQL, of an archive whose data offsets it writes into the TOC:
 * every table restored with the source's rows, including the same table name in two schemas and a
 * partitioned table (counted once, through its parent). The rows come from the archive's COPY data
 * where it has them (the parent's are counted in the database), and a manifest they disagree with
 * fails the restore.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction } from '../harness/action.js';
import { type PgServer, rowCounts, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
const dest = () => path.join(dir.path, 'backups');

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
  it('restores every table with the source row counts', async () => {
    const backup = await runAction('db-backup', { 'database-url': pg.url('app'), destination: dest() });
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
    expect(run.stdout).toMatch(/data offsets written into the archive's table of contents: \d+ blocks/);
    expect(source['other.pgbench_branches']).toBe(7);
    expect(source['public.events']).toBe(3000);
    expect(run.summary).toContain(
      `${tables.length - 1} tables from the archive's COPY data, which pg_restore loaded whole, 1 counted in the database`,
    );
  }, 180_000);

  it('fails when the rows of the archive differ from its manifest', async () => {
    const [name] = (await readdir(dest())).filter((f) => f.endsWith('.manifest.json'));
    const file = path.join(dest(), name!);
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    manifest.tables['other.pgbench_branches'] = 8;
    await writeFile(file, JSON.stringify(manifest));
    const run = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: file,
      'target-database': 'copy_again',
      jobs: '2',
    });
    expect(run.code).toBe(1);
    expect(run.outputs['matches-manifest']).toBe('false');
    expect(run.stdout).toContain('other.pgbench_branches: 7 rows, expected 8');
  }, 180_000);
});
