import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { commandLine, parseCommand } from '../../src/migrate/command.js';
import { type ExternalTool, type ToolPlan, toolEnv, toolPlan } from '../../src/migrate/tools.js';
import {
  alembicPending,
  parseAlembicCurrent,
  parseAlembicCurrentAll,
  parseAlembicHistory,
} from '../../src/migrate/tools/alembic.js';
import { parseKnexList } from '../../src/migrate/tools/knex.js';
import { parsePrismaStatus } from '../../src/migrate/tools/prisma.js';
import { parseSupabaseMigrationList } from '../../src/migrate/tools/supabase.js';
import { type PgConnection, parsePgUrl } from '../../src/postgres/connection.js';
import { runTool } from '../../src/util/child.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/migrations');
const KNEX = path.join(FIXTURES, 'knex');
const ALEMBIC = path.join(FIXTURES, 'alembic');

// A password with characters that URL-encode, so both spellings can be looked for.
const PASSWORD = 's3cr/t@pw';
const URL_WITH_PASSWORD = `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com:6543/shop?sslmode=require`;

/** A connection whose tools see only `PATH` (so which alembic program is found is up to the test). */
function connection(url = URL_WITH_PASSWORD, PATH = ''): PgConnection {
  const conn = parsePgUrl('database-url', url);
  conn.env.PATH = PATH;
  return conn;
}

// ---------------------------------------------------------------------------------------------------------------
// parseCommand

describe('parseCommand', () => {
  it.each([
    ['npx knex migrate:latest', ['npx', 'knex', 'migrate:latest']],
    ['  npx   knex\tmigrate:latest  ', ['npx', 'knex', 'migrate:latest']],
    ['npx knex migrate:latest --knexfile "my file.js"', ['npx', 'knex', 'migrate:latest', '--knexfile', 'my file.js']],
    [
      "node -e 'console.log(1 | 2); process.exit(0) && $x'",
      ['node', '-e', 'console.log(1 | 2); process.exit(0) && $x'],
    ],
    ['run "a;b|c>d<e&f" \'*?\'', ['run', 'a;b|c>d<e&f', '*?']],
    ['say "she said \\"hi\\"" \\$HOME a\\ b', ['say', 'she said "hi"', '$HOME', 'a b']],
    ["say \"C:\\path\" 'it'\\''s'", ['say', 'C:\\path', "it's"]],
    ['say ""', ['say', '']],
    ['npx knex \\\n  migrate:latest', ['npx', 'knex', 'migrate:latest']],
    ['tool --opt=a#b x~y', ['tool', '--opt=a#b', 'x~y']],
    [
      '["npx", "knex", "migrate:latest", "--env", "$NODE_ENV"]',
      ['npx', 'knex', 'migrate:latest', '--env', '$NODE_ENV'],
    ],
    [
      '- npx\n- knex\n- migrate:latest\n- --knexfile\n- my file.js',
      ['npx', 'knex', 'migrate:latest', '--knexfile', 'my file.js'],
    ],
    ['# the command\n- bin/migrate\n- 5\n- "a && b"', ['bin/migrate', '5', 'a && b']],
  ])('%j', (raw, expected) => {
    expect(parseCommand('command', raw)).toEqual(expected);
  });

  it.each([
    ['npx knex migrate:latest --env $NODE_ENV', "'$'"],
    ['npx knex $(cat args)', "'$('"],
    ['npx knex ${ENV}', "'${'"],
    ['npx knex `cat args`', "'`'"],
    ['npx knex migrate:latest | tee log', "'|'"],
    ['npx knex migrate:latest; rm -rf /', "';'"],
    ['npm ci && npx knex migrate:latest', "'&&'"],
    ['npx knex migrate:latest || true', "'||'"],
    ['npx knex migrate:latest > out.log', "'>'"],
    ['npx knex migrate:latest 2>&1', "'>'"],
    ['npx knex migrate:latest >> out.log', "'>>'"],
    ['psql < schema.sql', "'<'"],
    ['cat <<EOF', "'<<'"],
    ['npx knex migrate:latest &', "'&'"],
    ['(cd db && knex migrate:latest)', "'('"],
    ['npx knex migrate:latest\nnpx knex seed:run', 'a line break'],
    ['rm migrations/*.js', "'*'"],
    ['ls file?.js', "'?'"],
    ['ls [ab].js', "'['"],
    ['echo {a,b}', "'{'"],
    ['cat ~/.pgpass', "'~'"],
    ['npx knex migrate:latest # apply', "'#'"],
    ['NODE_ENV=production npx knex migrate:latest', "'NODE_ENV='"],
    ['npx knex --env "$NODE_ENV"', "'$'"],
    ['npx knex --env "`whoami`"', "'`'"],
  ])('refuses %j', (raw, shown) => {
    let error: unknown;
    try {
      parseCommand('command', raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^input 'command': /);
    expect(message).toContain(`${shown} (`);
    expect(message).toContain('is a shell construct; give the command as a list of arguments');
  });

  it.each([
    ['', /input 'command': expected a command/],
    ['   \n  ', /input 'command': expected a command/],
    ['npx "knex', /" quote is not closed/],
    ["npx 'knex", /' quote is not closed/],
    ['npx knex \\', /ends with a backslash/],
    ['""', /the program \(the first word\) is empty/],
    ['[]', /expected a command/],
    ['["npx", {"a": 1}]', /item 2 is a list or map/],
    ['- npx\n- [knex]', /item 2 is a list or map/],
    ['["npx", "knex"', /input 'command': expected a YAML or JSON block/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseCommand('command', raw)).toThrow(ConfigurationError);
    expect(() => parseCommand('command', raw)).toThrow(message);
  });

  it('shows an argument array as a command line', () => {
    expect(commandLine(['npx', 'knex', '--knexfile', "my 'file'.js", 'a&b'])).toBe(
      `npx knex --knexfile 'my '\\''file'\\''.js' 'a&b'`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// toolPlan: command lines and environment

describe('toolPlan', () => {
  let tmp: { path: string; cleanup(): Promise<void> };
  let fakeBin: string;
  beforeAll(async () => {
    tmp = await tempDir('opskit-migrate-tools-');
    fakeBin = path.join(tmp.path, 'bin');
    await mkdir(fakeBin);
    await writeFile(path.join(fakeBin, 'alembic'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(fakeBin, 'alembic'), 0o755);
    await mkdir(path.join(tmp.path, 'db', 'prisma', 'migrations'), { recursive: true });
    await writeFile(path.join(tmp.path, 'db', 'prisma', 'schema.prisma'), 'datasource db {}\n');
    await mkdir(path.join(tmp.path, 'alembic-project'));
    await writeFile(path.join(tmp.path, 'alembic-project', 'alembic.ini'), '[alembic]\n');
  });
  afterAll(() => tmp.cleanup());

  const bare = 'postgres://app@db.example.com:6543/shop?sslmode=require';
  const plan = (
    tool: ExternalTool,
    extra: { migrationsDir?: string; cwd?: string; command?: string[]; PATH?: string } = {},
  ) =>
    toolPlan(tool, {
      migrationsDir: extra.migrationsDir ?? 'migrations',
      cwd: extra.cwd ?? tmp.path,
      conn: connection(URL_WITH_PASSWORD, extra.PATH ?? ''),
      ...(extra.command ? { command: extra.command } : {}),
    });

  describe('knex', () => {
    it('uses the knexfile in the working directory, and its own migrations directory unless one is given', () => {
      const p = plan('knex', { cwd: KNEX });
      expect(p.up).toEqual(['npx', '--no-install', 'knex', 'migrate:latest', '--knexfile', 'knexfile.js']);
      expect(p.down).toEqual(['npx', '--no-install', 'knex', 'migrate:rollback', '--knexfile', 'knexfile.js']);
      expect(p.status).toEqual(['npx', '--no-install', 'knex', 'migrate:list', '--knexfile', 'knexfile.js']);
      expect(p.snapshot).toEqual(p.status);
      expect(plan('knex', { cwd: KNEX, migrationsDir: './migrations/' }).up).toEqual(p.up);
      expect(plan('knex', { cwd: KNEX, migrationsDir: 'migrations-failing' }).up).toEqual([
        ...['npx', '--no-install', 'knex', 'migrate:latest', '--knexfile', 'knexfile.js'],
        ...['--migrations-directory', 'migrations-failing'],
      ]);
    });

    it('without a knexfile: --client pg and the URL without its password; the password comes from PGPASSWORD', () => {
      const p = plan('knex', { migrationsDir: 'db/migrations' });
      const config = ['--client', 'pg', '--connection', bare, '--migrations-directory', 'db/migrations'];
      expect(p.up).toEqual(['npx', '--no-install', 'knex', 'migrate:latest', ...config]);
      expect(p.down).toEqual(['npx', '--no-install', 'knex', 'migrate:rollback', ...config]);
      expect(p.status).toEqual(['npx', '--no-install', 'knex', 'migrate:list', ...config]);
      expect(p.env.PGPASSWORD).toBe(PASSWORD);
      expect(plan('knex', { migrationsDir: '-odd' }).up.slice(-2)).toEqual(['--migrations-directory', './-odd']);
    });

    it('rolls back only when this run completed a migration', () => {
      const p = plan('knex', { cwd: KNEX });
      const before = 'Found 1 Completed Migration file/files.\na.js\nFound 1 Pending Migration file/files.\nb.js\n';
      const afterNothing = before;
      const afterOne = 'Found 2 Completed Migration file/files.\na.js\nb.js\nNo Pending Migration files Found.\n';
      expect(p.downFor!(before, afterNothing)).toBeUndefined();
      expect(p.downFor!(before, afterOne)).toEqual(p.down);
      expect(p.pending!(before)).toEqual(['b.js']);
    });
  });

  describe('alembic', () => {
    it('runs alembic when it is on the PATH, else python3 -m alembic', () => {
      const onPath = plan('alembic', { PATH: `/nonexistent:${fakeBin}` });
      expect(onPath.up).toEqual(['alembic', 'upgrade', 'head']);
      expect(onPath.snapshot).toEqual(['alembic', 'current']);
      expect(onPath.status).toEqual(['alembic', 'history']);
      expect(onPath.down).toBeUndefined();
      const module = plan('alembic');
      expect(module.up).toEqual(['python3', '-m', 'alembic', 'upgrade', 'head']);
      expect(module.env.PYTHONDONTWRITEBYTECODE).toBe('1');
    });

    it('passes -c when migrations-dir holds an alembic.ini', () => {
      expect(plan('alembic', { migrationsDir: 'alembic-project', PATH: fakeBin }).up).toEqual([
        ...['alembic', '-c', 'alembic-project/alembic.ini', 'upgrade', 'head'],
      ]);
      expect(plan('alembic', { migrationsDir: 'elsewhere', PATH: fakeBin }).up).toEqual(['alembic', 'upgrade', 'head']);
    });

    it('downgrades to the revision before the run, or base, and only when the run moved it', () => {
      const p = plan('alembic', { PATH: fakeBin });
      expect(p.downFor!('aaa (head)\n', 'aaa (head)\n')).toBeUndefined();
      expect(p.downFor!('', '')).toBeUndefined();
      expect(p.downFor!('aaa\n', 'bbb (head)\n')).toEqual(['alembic', 'downgrade', 'aaa']);
      expect(p.downFor!('INFO  [alembic.runtime.migration] Will assume transactional DDL.\n', 'bbb (head)\n')).toEqual([
        'alembic',
        'downgrade',
        'base',
      ]);
      expect(() => p.downFor!('aaa\nbbb\n', 'ccc (head)\n')).toThrow(ExternalError);
    });
  });

  describe('prisma', () => {
    it('deploys and reads its status; no down', () => {
      const p = plan('prisma');
      expect(p.up).toEqual(['npx', '--no-install', 'prisma', 'migrate', 'deploy']);
      expect(p.status).toEqual(['npx', '--no-install', 'prisma', 'migrate', 'status']);
      expect(p.statusExitCodes).toEqual([0, 1]);
      expect(p.down).toBeUndefined();
      expect(p.downFor).toBeUndefined();
      expect(p.describeDown).toMatch(/prisma has no down migrations/);
      expect(p.env.DATABASE_URL).toBe(URL_WITH_PASSWORD.replace(/^postgres:/, 'postgresql:'));
    });

    it('passes the schema beside a migrations-dir that is given, and refuses one without a schema', () => {
      expect(plan('prisma', { migrationsDir: 'db/prisma/migrations' }).up).toEqual([
        ...['npx', '--no-install', 'prisma', 'migrate', 'deploy', '--schema', 'db/prisma/schema.prisma'],
      ]);
      expect(() => plan('prisma', { migrationsDir: 'db/migrations' })).toThrow(
        /input 'migrations-dir': prisma keeps its migrations beside its schema, and there is no db\/schema.prisma/,
      );
    });
  });

  describe('supabase', () => {
    it('pushes with --db-url without the password (pgconn takes it from PGPASSWORD); no down', () => {
      const p = plan('supabase');
      expect(p.up).toEqual(['supabase', 'db', 'push', '--db-url', bare, '--yes']);
      expect(p.status).toEqual(['supabase', 'migration', 'list', '--db-url', bare]);
      expect(p.env.PGPASSWORD).toBe(PASSWORD);
      expect(p.down).toBeUndefined();
      expect(p.describeDown).toMatch(/supabase has no down migrations/);
    });

    it('turns a migrations-dir ending in supabase/migrations into --workdir', () => {
      expect(plan('supabase', { migrationsDir: 'supabase/migrations' }).up).toEqual([
        ...['supabase', 'db', 'push', '--db-url', bare, '--yes'],
      ]);
      expect(plan('supabase', { migrationsDir: 'apps/api/supabase/migrations/' }).up.slice(-2)).toEqual([
        '--workdir',
        'apps/api',
      ]);
      expect(() => plan('supabase', { migrationsDir: 'db/migrations' })).toThrow(
        /input 'migrations-dir': the supabase CLI reads <project>\/supabase\/migrations/,
      );
    });
  });

  describe('command', () => {
    it('runs the command; no down', () => {
      const p = plan('command', { command: ['bin/migrate', 'up'] });
      expect(p.up).toEqual(['bin/migrate', 'up']);
      expect(p.down).toBeUndefined();
      expect(p.status).toBeUndefined();
      expect(p.describeDown).toMatch(/no down migration/);
      expect(() => plan('command')).toThrow(/input 'command' is required when 'tool' is command/);
    });

    it("replaces another tool's up, keeping its down and status", () => {
      const p = plan('knex', { cwd: KNEX, command: ['npm', 'run', 'migrate'] });
      expect(p.up).toEqual(['npm', 'run', 'migrate']);
      expect(p.down).toEqual(['npx', '--no-install', 'knex', 'migrate:rollback', '--knexfile', 'knexfile.js']);
    });
  });

  it('gives every tool DATABASE_URL and PG* for the database, and none of the runner PG* variables', () => {
    const conn = connection(URL_WITH_PASSWORD, '/usr/bin');
    conn.env.PGSERVICE = 'runner-service';
    conn.env.OTHER = 'kept';
    const env = toolEnv(conn);
    expect(env).toMatchObject({
      DATABASE_URL: `postgresql://app:${encodeURIComponent(PASSWORD)}@db.example.com:6543/shop?sslmode=require`,
      PGHOST: 'db.example.com',
      PGPORT: '6543',
      PGUSER: 'app',
      PGDATABASE: 'shop',
      PGPASSWORD: PASSWORD,
      PGSSLMODE: 'require',
      PATH: '/usr/bin',
      OTHER: 'kept',
    });
    expect(env.PGSERVICE).toBeUndefined();
    expect(toolEnv(parsePgUrl('u', 'postgres://u:p@[::1]:5432/d')).PGHOST).toBe('::1');
  });

  const KNEX_NONE = 'No Completed Migration files Found.\nNo Pending Migration files Found.\n';
  const KNEX_ONE = 'Found 1 Completed Migration file/files.\na.js\nNo Pending Migration files Found.\n';

  it('never puts the password on a command line', () => {
    const urls = [URL_WITH_PASSWORD, `postgresql://app@db.example.com/shop?password=${encodeURIComponent(PASSWORD)}`];
    for (const url of urls) {
      const secrets = [PASSWORD, encodeURIComponent(PASSWORD)];
      const lines: string[][] = [];
      for (const tool of ['knex', 'alembic', 'prisma', 'supabase'] as const) {
        for (const cwd of [tmp.path, KNEX]) {
          const p: ToolPlan = toolPlan(tool, { migrationsDir: 'migrations', cwd, conn: connection(url, fakeBin) });
          lines.push(p.up, p.down ?? [], p.status ?? [], p.snapshot ?? []);
          if (tool === 'alembic') lines.push(p.downFor!('aaa\n', 'bbb\n')!, p.downFor!('', 'bbb\n')!);
          if (tool === 'knex') lines.push(p.downFor!(KNEX_NONE, KNEX_ONE)!);
          expect(p.env.PGPASSWORD).toBe(PASSWORD);
        }
      }
      expect(lines.flat().length).toBeGreaterThan(50);
      for (const arg of lines.flat()) for (const secret of secrets) expect(arg).not.toContain(secret);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Parsers

describe('parsers', () => {
  it('parseKnexList reads migrate:list, colours and all', () => {
    const out = [
      'Requiring external module /x/node_modules/interpret/mjs-stub',
      'Using environment: development',
      '\u001b[32mFound 2 Completed Migration file/files.\u001b[39m',
      '\u001b[36m20240101000000_create_customers.js\u001b[39m',
      '20240102000000_create_orders.js',
      'Found 1 Pending Migration file/files.',
      '20240103000000_create_invoices.js',
      '',
    ].join('\n');
    expect(parseKnexList(out)).toEqual({
      completed: ['20240101000000_create_customers.js', '20240102000000_create_orders.js'],
      pending: ['20240103000000_create_invoices.js'],
    });
    expect(parseKnexList('No Completed Migration files Found.\nNo Pending Migration files Found.\n')).toEqual({
      completed: [],
      pending: [],
    });
    expect(() => parseKnexList('Error: Unable to acquire a connection')).toThrow(ExternalError);
    expect(() =>
      parseKnexList('Found 2 Completed Migration file/files.\na.js\nNo Pending Migration files Found.'),
    ).toThrow(/counts do not match/);
  });

  it('parseAlembicCurrent reads alembic current', () => {
    const log = 'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n';
    expect(parseAlembicCurrent('')).toBeUndefined();
    expect(parseAlembicCurrent(log)).toBeUndefined();
    expect(parseAlembicCurrent(`${log}2b3c4d5e6f70 (head)\n`)).toBe('2b3c4d5e6f70');
    expect(parseAlembicCurrent('3c4d5e6f7081\n')).toBe('3c4d5e6f7081');
    expect(parseAlembicCurrent('ae10 (head) (effective head) (mergepoint)\n')).toBe('ae10');
    expect(parseAlembicCurrentAll('aaa (head)\nbbb (head)\n')).toEqual(['aaa', 'bbb']);
    expect(() => parseAlembicCurrent('aaa (head)\nbbb (head)\n')).toThrow(/several current revisions: aaa, bbb/);
  });

  it('parseAlembicHistory and alembicPending follow branches and merges', () => {
    const history = parseAlembicHistory(
      [
        'c1, b2 -> m1 (head) (mergepoint), merge',
        'b1 -> b2, branch b two',
        'a1 -> b1, branch b',
        'a1 -> c1, branch c',
        'base1 (dep1) -> a1 (branchpoint), two branches, from here',
        '<base> -> base1, first',
      ].join('\n'),
    );
    expect(history[0]).toEqual({ revision: 'm1', downRevisions: ['c1', 'b2'], head: true, message: 'merge' });
    expect(history[4]).toEqual({
      revision: 'a1',
      downRevisions: ['base1'],
      head: false,
      message: 'two branches, from here',
    });
    expect(history[5]!.downRevisions).toEqual([]);
    expect(alembicPending(history, [])).toEqual(['base1', 'a1', 'c1', 'b1', 'b2', 'm1']);
    expect(alembicPending(history, ['b1'])).toEqual(['c1', 'b2', 'm1']);
    expect(alembicPending(history, ['m1'])).toEqual([]);
    expect(() => alembicPending(history, ['zzz'])).toThrow(/revision zzz, which is not in the migration scripts/);
    expect(() => parseAlembicHistory('Traceback (most recent call last):\n  boom')).toThrow(ExternalError);
    expect(parseAlembicHistory('')).toEqual([]);
  });

  it('parsePrismaStatus reads prisma migrate status', () => {
    const pending = [
      'Prisma schema loaded from prisma/schema.prisma',
      'Datasource "db": PostgreSQL database "shop", schema "public" at "db:5432"',
      '',
      '3 migrations found in prisma/migrations',
      'Following migrations have not yet been applied:',
      '20240102000000_orders',
      '20240103000000_invoices',
      '',
      'To apply migrations in development run prisma migrate dev.',
    ].join('\n');
    expect(parsePrismaStatus(pending)).toEqual({
      pending: ['20240102000000_orders', '20240103000000_invoices'],
      upToDate: false,
    });
    expect(parsePrismaStatus('1 migration found in prisma/migrations\n\nDatabase schema is up to date!\n')).toEqual({
      pending: [],
      upToDate: true,
    });
    expect(() => parsePrismaStatus("Error: P1001: Can't reach database server")).toThrow(ExternalError);
  });

  it('parseSupabaseMigrationList reads the Local | Remote table', () => {
    const out = [
      '',
      '   Local          | Remote         | Time (UTC)          ',
      '  ----------------|----------------|---------------------',
      '   20240101000000 | 20240101000000 | 2024-01-01 00:00:00 ',
      '   20240102000000 |                | 2024-01-02 00:00:00 ',
      '',
    ].join('\n');
    expect(parseSupabaseMigrationList(out)).toEqual({ applied: ['20240101000000'], pending: ['20240102000000'] });
    expect(() => parseSupabaseMigrationList('failed to connect')).toThrow(ExternalError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real tools against a real PostgreSQL: knex (from node_modules) and alembic (Debian's python3-alembic).

describe('knex and alembic against PostgreSQL', () => {
  let server: PgServer;
  beforeAll(async () => {
    server = await startPostgres();
    await server.psql('CREATE DATABASE knex_a; CREATE DATABASE knex_b; CREATE DATABASE knex_c;');
    await server.psql('CREATE DATABASE alembic_a; CREATE DATABASE alembic_b;');
  }, 60_000);
  afterAll(() => server?.stop());

  const tables = (db: string) =>
    server.psql(`SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`, db);

  /** The plan for a database; python3 from /usr/bin first, where Debian's python3-alembic is. */
  function planFor(tool: ExternalTool, db: string, cwd: string, migrationsDir = 'migrations') {
    const conn = parsePgUrl('database-url', server.url(db));
    if (tool === 'alembic') conn.env.PATH = `/usr/bin:${process.env.PATH ?? ''}`;
    const plan = toolPlan(tool, { migrationsDir, conn, cwd });
    const run = (args: string[] | undefined) => {
      if (!args) throw new Error('no command');
      for (const arg of args) expect(arg).not.toContain(server.password);
      return runTool(args[0]!, args.slice(1), { cwd, env: plan.env, secrets: [server.password] });
    };
    return { plan, run };
  }

  it('knex with a knexfile: migrate:latest, then rollback of what the run applied', async () => {
    const { plan, run } = planFor('knex', 'knex_a', KNEX);
    const before = await run(plan.snapshot);
    expect(plan.pending!(before)).toEqual(['20240101000000_create_customers.js', '20240102000000_create_orders.js']);
    await run(plan.up);
    expect(await tables('knex_a')).toBe('customers,knex_migrations,knex_migrations_lock,orders');
    expect(await server.psql('SELECT count(*) FROM customers', 'knex_a')).toBe('3');
    expect(await server.psql('SELECT count(*) FROM orders', 'knex_a')).toBe('2');
    const down = plan.downFor!(before, await run(plan.snapshot));
    expect(down).toEqual(plan.down);
    await run(down);
    expect(await tables('knex_a')).toBe('knex_migrations,knex_migrations_lock');
  });

  it('knex: a run that fails half-way, then rollback of its batch only', async () => {
    await planFor('knex', 'knex_b', KNEX).run(planFor('knex', 'knex_b', KNEX).plan.up);
    const { plan, run } = planFor('knex', 'knex_b', KNEX, 'migrations-failing');
    const before = await run(plan.snapshot);
    expect(plan.pending!(before)).toEqual(['20240103000000_create_invoices.js', '20240104000000_fails_half_way.js']);
    const failure = await run(plan.up).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ExternalError);
    expect((failure as Error).message).toMatch(/^npx exited with code 1/);
    expect((failure as Error).message).not.toContain(server.password);
    expect(await tables('knex_b')).toBe('customers,half_done,invoices,knex_migrations,knex_migrations_lock,orders');
    const down = plan.downFor!(before, await run(plan.snapshot));
    expect(down).toEqual(plan.down);
    await run(down);
    // The earlier run's batch stays; the half-done table is beyond any down migration (the backup is for that).
    expect(await tables('knex_b')).toBe('customers,half_done,knex_migrations,knex_migrations_lock,orders');
    expect(await server.psql('SELECT count(*) FROM half_done', 'knex_b')).toBe('2');
  });

  it('knex without a knexfile: the connection from --connection without password and PGPASSWORD', async () => {
    const { plan, run } = planFor('knex', 'knex_c', FIXTURES, 'knex/migrations');
    expect(plan.up).toContain('--client');
    await run(plan.up);
    expect(await tables('knex_c')).toBe('customers,knex_migrations,knex_migrations_lock,orders');
    expect(plan.pending!(await run(plan.status))).toEqual([]);
    await run(plan.down);
    expect(await tables('knex_c')).toBe('knex_migrations,knex_migrations_lock');
  });

  it('alembic: upgrade head, then downgrade to base', async () => {
    const { plan, run } = planFor('alembic', 'alembic_a', ALEMBIC);
    const before = await run(plan.snapshot);
    expect(parseAlembicCurrent(before)).toBeUndefined();
    expect(plan.pending!(await run(plan.status), before)).toEqual(['1a2b3c4d5e6f', '2b3c4d5e6f70']);
    await run(plan.up);
    expect(await tables('alembic_a')).toBe('alembic_version,customers,orders');
    expect(await server.psql('SELECT count(*) FROM orders', 'alembic_a')).toBe('2');
    const after = await run(plan.snapshot);
    expect(parseAlembicCurrent(after)).toBe('2b3c4d5e6f70');
    const down = plan.downFor!(before, after);
    expect(down!.slice(-2)).toEqual(['downgrade', 'base']);
    await run(down);
    expect(await tables('alembic_a')).toBe('alembic_version');
  });

  it('alembic: a run that fails half-way, then downgrade to the revision before it', async () => {
    const good = planFor('alembic', 'alembic_b', ALEMBIC);
    await good.run(good.plan.up);
    const failing = path.join(ALEMBIC, 'failing');
    const { plan, run } = planFor('alembic', 'alembic_b', failing);
    const before = await run(plan.snapshot);
    expect(plan.pending!(await run(plan.status), before)).toEqual(['3c4d5e6f7081', '4d5e6f708192']);
    const failure = await run(plan.up).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ExternalError);
    expect((failure as Error).message).toMatch(/missing_column/);
    const after = await run(plan.snapshot);
    expect(parseAlembicCurrent(after)).toBe('3c4d5e6f7081');
    const down = plan.downFor!(before, after);
    expect(down!.slice(-2)).toEqual(['downgrade', '2b3c4d5e6f70']);
    await run(down);
    expect(await tables('alembic_b')).toBe('alembic_version,customers,half_done,orders');
    expect(parseAlembicCurrent(await run(plan.snapshot))).toBe('2b3c4d5e6f70');
  });
});
