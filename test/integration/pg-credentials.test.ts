/**
 * A password given as `?password=` in the database URL never reaches a libpq tool's command line (issue #16,
 * finding 6), on a real PostgreSQL that asks for it: pg_dump, pg_restore and psql run through wrappers
 * that record their own /proc/<pid>/cmdline, what `ps` and any user of the machine can read, and then exec
 * the real tool with the same arguments. The password reaches them through PGPASSWORD only.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { memoryLogger } from '../../src/logger.js';
import { type PgClient, resolvePgClient } from '../../src/postgres/client.js';
import { parsePgUrl } from '../../src/postgres/connection.js';
import { restoreArchive } from '../../src/postgres/restore.js';
import { createFileStore } from '../../src/storage/file.js';
import { runAction } from '../harness/action.js';
import { type PgServer, rowCounts, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { pgBackup } from '../harness/backup.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let real: PgClient;
let wrapped: PgClient;
let argvLog: string;
const logger = memoryLogger();

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-credentials-')]);
  await pg.psql('CREATE DATABASE shop');
  await pg.psql('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 50)', 'shop');
  real = await resolvePgClient({ kind: 'auto' }, pg.major, { logger });
  const bin = path.join(dir.path, 'bin');
  argvLog = path.join(dir.path, 'argv.log');
  mkdirSync(bin);
  for (const tool of ['pg_dump', 'pg_restore', 'psql'] as const) {
    const file = path.join(bin, tool);
    // $$ is this shell; exec keeps its pid and its arguments for the real tool.
    writeFileSync(
      file,
      `#!/bin/sh\n{ tr '\\0' ' ' < /proc/$$/cmdline; echo; } >> '${argvLog}'\nexec '${real.bin(tool)}' "$@"\n`,
    );
    chmodSync(file, 0o755);
  }
  wrapped = { ...real, binDir: bin, bin: (tool) => path.join(bin, tool) };
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

/** The server's URL with the password as a query parameter instead of in the userinfo. */
const queryUrl = (db: string) => {
  const url = new URL(pg.url(db));
  url.password = '';
  url.searchParams.set('password', pg.password);
  return url.toString();
};

function commandLines(): string[] {
  return existsSync(argvLog) ? readFileSync(argvLog, 'utf8').trim().split('\n') : [];
}

describe('a ?password= in the database URL', () => {
  it('reaches pg_dump, pg_restore and psql through PGPASSWORD only, never their command line', async () => {
    expect(queryUrl('shop')).toContain(`password=${pg.password}`);
    const conn = parsePgUrl('database-url', queryUrl('shop'));
    const result = await pgBackup({
      source: { engine: 'postgres', conn },
      store: createFileStore(path.join(dir.path, 'backups')),
      nameTemplate: '{db}-{timestamp}',
      verify: 'restore', // pg_restore into a scratch database too
      resolveClient: async () => wrapped,
      tempDir: dir.path,
      logger,
    });
    expect(result.manifest.tables).toEqual({ 'public.orders': 50 });

    // psql, for a plain SQL dump.
    const plain = path.join(dir.path, 'shop.sql');
    writeFileSync(plain, 'CREATE TABLE lines (n int); INSERT INTO lines VALUES (1), (2);\n');
    await pg.psql('CREATE DATABASE shop_plain');
    await restoreArchive({
      target: conn.withDatabase('shop_plain'),
      client: wrapped,
      path: plain,
      format: 'plain',
      jobs: 1,
    });
    expect(await rowCounts(pg, 'shop_plain')).toEqual({ 'public.lines': 2 });

    const lines = commandLines();
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      expect(lines.some((l) => l.includes(`/${tool} `) && l.includes('--dbname=postgres://'))).toBe(true);
    }
    for (const line of lines) expect(line).not.toContain(pg.password);
  }, 120_000);

  it('stays off the command line when the bundled db-backup and db-restore run', async () => {
    writeFileSync(argvLog, '');
    const dest = path.join(dir.path, 'bundled');
    const backed = await runAction('db-backup', {
      'database-url': queryUrl('shop'),
      destination: dest,
      'pg-client': wrapped.binDir,
      verify: 'restore',
    });
    expect(backed.stdout).not.toContain('::error::');
    expect(backed.code).toBe(0);
    const restored = await runAction('db-restore', {
      'database-url': queryUrl('postgres'),
      source: backed.outputs.uri!,
      'target-database': 'shop_copy',
      'pg-client': wrapped.binDir,
    });
    expect(restored.stdout).not.toContain('::error::');
    expect(restored.code).toBe(0);
    expect(await rowCounts(pg, 'shop_copy')).toEqual({ 'public.orders': 50 });

    const lines = commandLines();
    expect(lines.filter((l) => l.includes('--dbname=postgres://')).length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(pg.password);
    for (const run of [backed, restored]) expect(run.visible).not.toContain(pg.password);
  }, 120_000);
});
