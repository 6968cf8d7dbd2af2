/**
 * Redis end to end (guide 000 "Redis Backups"): db-backup writes an RDB whose manifest counts the keys the file holds,
 * and db-restore puts it into a data directory as dump.rdb after redis-check-rdb and a key count against the manifest;
 * a redis-server started on that directory serves the keys. Through the bundles, against a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runAction } from '../harness/action.js';
import { startProcess } from '../harness/process.js';
import { freePort } from '../harness/ports.js';
import { type RedisServer, redisCli, startRedis } from '../harness/redis.js';
import { tempDir } from '../harness/tmp.js';

let redis: RedisServer;
let dir: { path: string; cleanup(): Promise<void> };
let backupUri = '';

beforeAll(async () => {
  [redis, dir] = await Promise.all([startRedis(), tempDir('opskit-redis-restore-')]);
  for (let i = 0; i < 50; i++) await redisCli(redis, 'SET', `user:${i}`, `u${i}`);
  await redisCli(redis, '-n', '1', 'SET', 'session:a', '1');
  await redisCli(redis, '-n', '1', 'SET', 'session:b', '2');
  const backup = await runAction('db-backup', {
    'database-url': redis.url,
    destination: path.join(dir.path, 'backups'),
    'encryption-passphrase': 'correct horse battery staple',
  });
  if (backup.code !== 0) throw new Error(backup.stdout);
  backupUri = backup.outputs.uri!;
}, 120_000);
afterAll(async () => {
  await redis?.stop();
  await dir?.cleanup();
});

const restore = (inputs: Record<string, string>) =>
  runAction('db-restore', {
    source: `${path.join(dir.path, 'backups')}/latest`,
    'encryption-passphrase': 'correct horse battery staple',
    ...inputs,
  });

describe('Redis backups, restored', () => {
  it('records the keys the RDB holds, per database, in the manifest', () => {
    const manifest = readdirSync(path.join(dir.path, 'backups')).find((f) => f.endsWith('.manifest.json'))!;
    const data = JSON.parse(readFileSync(path.join(dir.path, 'backups', manifest), 'utf8')) as {
      engine: string;
      tables: Record<string, number>;
    };
    expect(data.engine).toBe('redis');
    expect(data.tables).toEqual({ db0: 50, db1: 2 });
    expect(backupUri).toMatch(/\.rdb(\.[a-z0-9]+)*\.age$/);
  });

  it('puts the checked RDB into a data directory, where a redis-server finds every key', async () => {
    const data = path.join(dir.path, 'data');
    const run = await restore({ 'target-directory': data });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ 'matches-manifest': 'true', tables: '2', rows: '52' });
    expect(run.outputs.database).toBe(path.join(data, 'dump.rdb'));
    expect(run.stdout).toContain('redis-check-rdb passed');
    expect(run.visible).not.toContain('correct horse battery staple');

    const port = await freePort();
    const server = startProcess('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      data,
      '--save',
      '',
      '--requirepass',
      'verify',
    ]);
    const cli = { port, password: 'verify' };
    try {
      let got = '';
      for (let i = 0; i < 100 && got !== 'u7'; i++) {
        got = await redisCli(cli, 'GET', 'user:7').catch(() => '');
        if (got !== 'u7') await new Promise((r) => setTimeout(r, 50));
      }
      expect(got).toBe('u7');
      expect(await redisCli(cli, '-n', '1', 'DBSIZE')).toBe('2');
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('never overwrites a dump.rdb already there', async () => {
    const data = path.join(dir.path, 'occupied');
    await restore({ 'target-directory': data });
    writeFileSync(path.join(data, 'dump.rdb'), 'the live one');
    const run = await restore({ 'target-directory': data });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("::error::db-restore failed: input 'target-directory':");
    expect(run.stdout).toContain('already exists');
    expect(readFileSync(path.join(data, 'dump.rdb'), 'utf8')).toBe('the live one');
  }, 60_000);

  it('refuses an RDB whose keys differ from its manifest, and writes nothing', async () => {
    const folder = path.join(dir.path, 'backups');
    const manifestFile = path.join(
      folder,
      readdirSync(folder).find((f) => f.endsWith('.manifest.json'))!,
    );
    const original = readFileSync(manifestFile, 'utf8');
    writeFileSync(manifestFile, original.replace('"db0": 50', '"db0": 51'));
    try {
      const data = path.join(dir.path, 'mismatch');
      const run = await restore({ 'target-directory': data });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/keys differ from the backup's manifest \(db0: 50 keys, expected 51\)/);
      expect(run.outputs['matches-manifest']).toBe('false');
      expect(existsSync(path.join(data, 'dump.rdb'))).toBe(false);
    } finally {
      writeFileSync(manifestFile, original);
    }
  }, 60_000);

  it('asks for target-directory, naming it, when none is given', async () => {
    const run = await restore({ 'database-url': 'postgres://u:p@127.0.0.1:1/x' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "::error::db-restore failed: input 'target-directory' is required to restore the Redis backup",
    );
  }, 60_000);
});
