/**
 * db-restore mode status and max-age (the daily backup-freshness check of watch.yml, the guides' RPO): the newest
 * backup is found and checked without touching a database, and a restore refuses a backup older than max-age.
 * Through the bundles against a real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: { path: string; cleanup(): Promise<void> };
let folder = '';

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-backup-status-')]);
  await pg.psql('CREATE DATABASE shop');
  await pg.psql('CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);', 'shop');
  folder = path.join(dir.path, 'nightly');
  const backup = await runAction('db-backup', { 'database-url': pg.url('shop'), destination: folder });
  if (backup.code !== 0) throw new Error(backup.stdout);
}, 120_000);
afterAll(async () => {
  await pg?.stop();
  await dir?.cleanup();
});

const databases = () => pg.psql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");

function status(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction('db-restore', { mode: 'status', source: `${folder}/latest`, ...inputs });
}

describe('db-restore mode status', () => {
  it('finds the newest backup and reports its age, with no database-url and no database touched', async () => {
    const before = await databases();
    const run = await status({ 'max-age': '26h' });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs['backup-uri']).toMatch(/^file:\/\/.*shop-\d{8}T\d{6}Z\.dump/);
    expect(Number(run.outputs['backup-age-seconds'])).toBeLessThan(600);
    expect(run.outputs['restored-from']).toBe('');
    expect(run.summary).toMatch(/The newest backup is .* old, within max-age 26h00m00s/);
    expect(await databases()).toBe(before);
  }, 60_000);

  it('fails when the newest backup is older than max-age', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const run = await status({ 'max-age': '1s' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::db-restore failed: the newest backup, file:.* old .*older than max-age 1\.0s/);
    expect(run.summary).toMatch(/older than max-age/);
  }, 60_000);

  it('checks the backups of the database named in database-url, when one is given', async () => {
    const run = await status({ 'database-url': pg.url('billing') });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/no backup of database 'billing'/);
    expect(run.visible).not.toContain(pg.password);
  }, 60_000);

  it('refuses a restore of a backup older than max-age, before creating anything', async () => {
    const before = await databases();
    const run = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: `${folder}/latest`,
      'target-database': 'shop_copy',
      'max-age': '1s',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/older than max-age/);
    expect(await databases()).toBe(before);
  }, 60_000);

  it('fails when the archive the manifest points at is gone', async () => {
    const archive = readdirSync(folder).find((f) => /\.dump/.test(f) && !f.endsWith('.json'))!;
    rmSync(path.join(folder, archive));
    const run = await status({});
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/archive .* is missing/);
  }, 60_000);

  it('refuses mode status with drill, naming both inputs', async () => {
    const run = await status({ drill: 'true' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("::error::db-restore failed: inputs 'drill' and 'mode'");
  }, 60_000);
});
