/**
 * A PostgreSQL client first on PATH is never run (issue #17): an earlier step, e.g. a dependency's install
 * script writing to $GITHUB_PATH, can put a `pg_dump` there, and opskit would run it with PGPASSWORD in its
 * environment. The bundles take clients only from the versioned install directories, or from `pg-bin-dir`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let fakeBin: string;
let marker: string;

/**
 * pg_dump, pg_restore and psql that claim to be 15.99 (newer than any real 15.x, so a search that looked at PATH
 * would prefer them) and, whenever they run, append their arguments and the PGPASSWORD they were given to a file.
 */
async function writeFakeClient(binDir: string, file: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
    const script = [
      '#!/bin/sh',
      `printf '%s %s password=%s\\n' "$0" "$*" "$PGPASSWORD" >> '${file}'`,
      `echo "${tool} (PostgreSQL) 15.99"`,
      '',
    ].join('\n');
    await writeFile(path.join(binDir, tool), script);
    await chmod(path.join(binDir, tool), 0o755);
  }
}

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-pg-path-')]);
  await pg.psql('CREATE DATABASE app');
  await pg.psql('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) AS g', 'app');
  fakeBin = path.join(dir.path, 'hostile', 'bin');
  marker = path.join(dir.path, 'hostile', 'ran.log');
  await writeFakeClient(fakeBin, marker);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

/** The runner's PATH with the hostile directory first, as `echo "$dir" >> "$GITHUB_PATH"` in an earlier step leaves it. */
const hostilePath = () => ({ PATH: `${fakeBin}${path.delimiter}${process.env.PATH ?? ''}` });

function expectSuccess(run: ActionRun) {
  if (run.code !== 0) throw new Error(`the action exited with ${run.code}:\n${run.stdout}\n${run.stderr}`);
}

describe('a pg_dump first on PATH', () => {
  it('is not run by db-backup, and never sees the password; the versioned install directory is used', async () => {
    const dest = path.join(dir.path, 'backups');
    const run = await runAction(
      'db-backup',
      { 'database-url': pg.url('app'), destination: dest, verify: 'checksum' },
      { env: hostilePath() },
    );
    expectSuccess(run);
    expect(existsSync(marker)).toBe(false);
    expect(run.stdout).toMatch(/Using PostgreSQL client 15\.\d+ \(\/usr\/lib\/postgresql\/15\/bin\)/);
    expect(run.stdout).not.toContain('15.99');
    expect(run.outputs.uri).toMatch(/^file:/);
  }, 120_000);

  it('is not run by db-restore either (pg_restore and psql come from the same place)', async () => {
    const dest = path.join(dir.path, 'restore-src');
    expectSuccess(
      await runAction('db-backup', { 'database-url': pg.url('app'), destination: dest, verify: 'checksum' }),
    );
    const run = await runAction(
      'db-restore',
      { 'database-url': pg.url('app'), source: `${dest}/latest`, drill: 'true' },
      { env: hostilePath() },
    );
    expectSuccess(run);
    expect(existsSync(marker)).toBe(false);
    expect(run.stdout).toMatch(/Using PostgreSQL client 15\.\d+ \(\/usr\/lib\/postgresql\/15\/bin\)/);
  }, 120_000);
});

describe('pg-bin-dir', () => {
  it('names a directory explicitly: its client is considered (and here chosen, being the newest 15)', async () => {
    const named = path.join(dir.path, 'named', 'bin');
    const log = path.join(dir.path, 'named', 'ran.log');
    await writeFakeClient(named, log);
    const dest = path.join(dir.path, 'named-backups');
    const run = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      verify: 'checksum',
      'pg-bin-dir': named,
    });
    expect(run.stdout).toContain(`Using PostgreSQL client 15.99 (${named})`);
    expect(readFileSync(log, 'utf8')).toContain(`${named}/pg_dump --version`);
    expect(existsSync(marker)).toBe(false);
  }, 120_000);

  it('refuses a relative directory, naming the input, before connecting or writing anything', async () => {
    const dest = path.join(dir.path, 'relative');
    const run = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      'pg-bin-dir': 'node_modules/.bin',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "::error::db-backup failed: input 'pg-bin-dir': expected absolute directories holding pg_dump, pg_restore and psql, one per line (opskit never takes them from PATH), got 'node_modules/.bin'",
    );
    expect(run.visible).not.toContain(pg.password);
    expect(existsSync(dest)).toBe(false);
  }, 60_000);
});
