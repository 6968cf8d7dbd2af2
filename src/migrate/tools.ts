/**
 * External migration tools for migrate-with-backup (`tool: knex | alembic | prisma | supabase | command`):
 * the command lines that apply, list and undo migrations, the environment they run in, and parsers for
 * what the tools print.
 *
 * Secrets: the full database URL (with its password) goes to every tool as `DATABASE_URL` in the
 * environment, with `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE`/`PGPASSWORD` (and `PGSSLMODE` when the URL has
 * one) beside it. A URL on a command line never carries the password: tools that need one there (knex
 * without a knexfile, the supabase CLI) get the URL without it and read `PGPASSWORD`.
 *
 * Every command is an argument array for `spawnTool`/`runTool` (src/util/child.ts): no shell, ever. The
 * `command` input is parsed by `parseCommand`, which splits a line like a shell splits words but refuses
 * anything a shell would expand or interpret.
 *
 * Per tool (`dir` is the `migrations-dir` input, `migrations` when not given):
 *
 * - knex: `npx --no-install knex migrate:latest|migrate:rollback|migrate:list` run in the working directory.
 *   With a knexfile there (knexfile.js/.cjs/.mjs/.ts/.cts/.mts) it is passed as `--knexfile` and must take
 *   its connection from `process.env.DATABASE_URL` (or leave it to node-postgres, which reads the PG*
 *   variables); `--migrations-directory` is added only when `migrations-dir` was given, so the knexfile's
 *   own directory wins otherwise. Without a knexfile: `--client pg --connection <URL without password>
 *   --migrations-directory <dir>`, and node-postgres takes the password from `PGPASSWORD`. (knex's CLI
 *   cannot run without a connection on its command line or in a knexfile: `--client pg` alone gets no pool.)
 *   Down is `migrate:rollback`, which rolls back the newest batch: only this run's when this run recorded
 *   one. By default knex runs all pending migrations in one transaction, so a failed run records nothing and
 *   a rollback would undo the previous run's batch: `downFor` compares `migrate:list` before and after and
 *   returns the rollback only when this run completed a migration.
 * - alembic: `alembic upgrade head`, `alembic current` (snapshot), `alembic history` (status, read with the
 *   snapshot), down `alembic downgrade <revision current before the run>` (or `base`). The program is
 *   `alembic` when it is on the PATH the tool gets, else `python3 -m alembic` (Debian's python3-alembic has
 *   no `alembic` program). The script directory comes from alembic.ini (its `script_location`); `-c
 *   <dir>/alembic.ini` is passed when `migrations-dir` was given and holds an alembic.ini, otherwise
 *   alembic's own lookup applies (`ALEMBIC_CONFIG`, then ./alembic.ini). env.py must read `DATABASE_URL`.
 * - prisma: `npx --no-install prisma migrate deploy`, status `prisma migrate status` (exits 1 when migrations
 *   are pending, which still is an answer). Prisma has no down migrations. Its schema (or prisma.config.ts)
 *   names `env("DATABASE_URL")`. When `migrations-dir` is given, the schema.prisma beside it is passed as
 *   `--schema` (prisma keeps migrations next to the schema).
 * - supabase: `supabase db push --db-url <URL without password> --yes`, status `supabase migration list
 *   --db-url …`. The CLI parses `--db-url` with pgconn, which fills a missing password from `PGPASSWORD`
 *   like libpq does. No down migrations. It reads `<workdir>/supabase/migrations`: a `migrations-dir` given
 *   must end in `supabase/migrations` and becomes `--workdir`.
 * - command: the `command` input, as parsed; no down, no status.
 * A `command` given with another tool replaces that tool's `up` only: down, status and snapshot stay the
 * tool's own.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, ExternalError, inputError } from '../errors.js';
import { parseYamlBlock } from '../inputs.js';
import type { PgConnection } from '../postgres/connection.js';
import { findOnPath } from '../util/path.js';

export type ExternalTool = 'knex' | 'alembic' | 'prisma' | 'supabase' | 'command';
export const EXTERNAL_TOOLS: readonly ExternalTool[] = ['knex', 'alembic', 'prisma', 'supabase', 'command'];

/** The `migrations-dir` input's default: a `migrationsDir` equal to it counts as not given. */
export const DEFAULT_MIGRATIONS_DIR = 'migrations';

// ---------------------------------------------------------------------------------------------------------------
// The `command` input

const COMMAND_EXPECTED =
  'a command: one line like npx knex migrate:latest, or a list of arguments like ["npx", "knex", "migrate:latest"]';

/** What each character (or pair) means to a shell, for the error message. */
const SHELL_PAIRS: Record<string, string> = {
  '&&': 'an && list',
  '||': 'an || list',
  '>>': 'an appending redirection',
  '<<': 'a here-document',
  '$(': 'a command substitution',
  '${': 'a variable expansion',
};
const SHELL_CHARS: Record<string, string> = {
  $: 'a variable expansion',
  '`': 'a command substitution',
  '|': 'a pipe',
  '&': 'a background job',
  ';': 'a command separator',
  '>': 'a redirection',
  '<': 'a redirection',
  '(': 'a subshell',
  ')': 'a subshell',
  '\n': 'a line break, which starts another command',
  '*': 'a glob pattern',
  '?': 'a glob pattern',
  '[': 'a glob pattern',
  '{': 'a brace expansion',
};
/** Special only at the start of a word. */
const SHELL_WORD_START: Record<string, string> = {
  '~': 'a home directory expansion',
  '#': 'a comment',
};

function shellConstruct(input: string, token: string, meaning: string): ConfigurationError {
  const shown = token === '\n' ? 'a line break' : `'${token}'`;
  return new ConfigurationError(
    `input '${input}': ${shown} (${meaning}) is a shell construct; give the command as a list of arguments` +
      ' (it runs without a shell: put shell code in a script and run the script)',
  );
}

/**
 * The `command` input → an argument array. Accepts a YAML/JSON list of strings (`["npx", "knex",
 * "migrate:latest"]`, or `- item` lines), taken literally, or one line split into words like a POSIX shell
 * does (spaces separate words; '…' and "…" quote; a backslash escapes the next character; backslash-newline
 * continues the line) with no expansion at all: `$`, backticks, pipes, `;`, `&`, `&&`, `||`, redirections,
 * subshells, globs, braces, a leading `~` or `#`, a line break or a leading NAME=value are refused, unquoted
 * and also (for `$` and backticks) inside double quotes, where a shell would still expand them.
 */
export function parseCommand(input: string, raw: string): string[] {
  const text = raw.replace(/\r\n?/g, '\n').trim();
  if (!text) throw inputError(input, COMMAND_EXPECTED);
  const firstLine = text.split('\n').find((line) => line.trim() && !line.trim().startsWith('#')) ?? '';
  const args =
    firstLine.startsWith('[') || /^-(\s|$)/.test(firstLine) ? commandList(input, raw) : splitWords(input, text);
  if (args.length === 0) throw inputError(input, COMMAND_EXPECTED, raw);
  if (!args[0]) throw new ConfigurationError(`input '${input}': the program (the first word) is empty`);
  if (args.some((a) => a.includes('\0'))) throw new ConfigurationError(`input '${input}': an argument holds a NUL`);
  return args;
}

function commandList(input: string, raw: string): string[] {
  const data = parseYamlBlock(input, raw);
  if (!Array.isArray(data)) throw inputError(input, COMMAND_EXPECTED);
  return data.map((item: unknown, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw inputError(input, `a list of strings, but item ${i + 1} is ${item === null ? 'empty' : 'a list or map'}`);
  });
}

function splitWords(input: string, text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  const end = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === ' ' || c === '\t') {
      end();
      i++;
    } else if (c === '\\') {
      if (next === undefined) throw new ConfigurationError(`input '${input}': the command ends with a backslash`);
      if (next !== '\n') {
        word += next;
        inWord = true;
      }
      i += 2;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new ConfigurationError(`input '${input}': a ' quote is not closed`);
      word += text.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined) throw new ConfigurationError(`input '${input}': a " quote is not closed`);
        if (d === '"') break;
        if (d === '\\' && text[i + 1] !== undefined && '$`"\\\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`') {
          throw shellConstruct(input, d === '$' && text[i + 1] === '(' ? '$(' : d, `${SHELL_CHARS[d]} inside "…"`);
        }
        word += d;
        i++;
      }
      i++;
    } else {
      const pair = next === undefined ? '' : c + next;
      if (SHELL_PAIRS[pair]) throw shellConstruct(input, pair, SHELL_PAIRS[pair]);
      if (SHELL_CHARS[c]) throw shellConstruct(input, c, SHELL_CHARS[c]);
      if (!inWord && SHELL_WORD_START[c]) throw shellConstruct(input, c, SHELL_WORD_START[c]);
      word += c;
      inWord = true;
      i++;
    }
  }
  end();
  const assignment = words[0] === undefined ? null : /^[A-Za-z_][A-Za-z0-9_]*=/.exec(words[0]);
  if (assignment) throw shellConstruct(input, assignment[0], 'an environment assignment before the program');
  return words;
}

/** An argument array for people and logs: words quoted where a shell would need it. */
export function commandLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Plans

export interface ToolPlan {
  tool: ExternalTool;
  /** Applies the pending migrations. */
  up: string[];
  /** Undoes what this run applied, where that needs no state from before the run (knex: migrate:rollback). Prefer `downFor`. */
  down?: string[];
  /** Lists migrations for dry-run; read it with `pending`. */
  status?: string[];
  /** Exit codes of `status` that still carry an answer (prisma migrate status exits 1 when migrations are pending). */
  statusExitCodes?: number[];
  /** The migration state: run it before `up` and again after it; `downFor` and `pending` read its output. */
  snapshot?: string[];
  /** The command that undoes what this run applied, from `snapshot`'s output before and after `up`; undefined when this run recorded nothing. */
  downFor?(before: string, after: string): string[] | undefined;
  /** The pending migrations, oldest first, from `status`'s output (and `snapshot`'s, which alembic needs). */
  pending?(status: string, snapshot?: string): string[];
  /** The complete environment for the tool: the runner's without its PG* variables, then DATABASE_URL and PG*. */
  env: Record<string, string>;
  /** What on-failure: down does with this tool, or why it cannot. */
  describeDown: string;
}

export interface ToolPlanOptions {
  /** The `migrations-dir` input, relative to `cwd` (DEFAULT_MIGRATIONS_DIR when not given). */
  migrationsDir: string;
  conn: PgConnection;
  /** The parsed `command` input: replaces the tool's `up`. */
  command?: string[];
  /** Where the tools run: the user's project. */
  cwd: string;
}

const NPX = ['npx', '--no-install'];
const KNEXFILES = ['knexfile.js', 'knexfile.cjs', 'knexfile.mjs', 'knexfile.ts', 'knexfile.cts', 'knexfile.mts'];
const NO_DOWN = 'restore the backup taken before the run to undo it';

export function toolPlan(tool: ExternalTool, o: ToolPlanOptions): ToolPlan {
  const env = toolEnv(o.conn);
  const dir = o.migrationsDir.trim() || DEFAULT_MIGRATIONS_DIR;
  const given = path.normalize(dir).replace(/\/+$/, '') !== DEFAULT_MIGRATIONS_DIR;
  let plan: ToolPlan;
  switch (tool) {
    case 'knex':
      plan = knexPlan(o, dir, given, env);
      break;
    case 'alembic':
      plan = alembicPlan(o, dir, given, env);
      break;
    case 'prisma':
      plan = prismaPlan(o, dir, given, env);
      break;
    case 'supabase':
      plan = supabasePlan(o, dir, given, env);
      break;
    case 'command':
      if (!o.command?.length) throw new ConfigurationError(`input 'command' is required when 'tool' is command`);
      plan = { tool, up: [...o.command], env, describeDown: `a custom command has no down migration: ${NO_DOWN}` };
      break;
    default:
      throw new ConfigurationError(`input 'tool': expected one of ${EXTERNAL_TOOLS.join(', ')}, got '${String(tool)}'`);
  }
  if (o.command?.length && tool !== 'command') plan.up = [...o.command];
  return plan;
}

/** The runner's environment without its PG* variables, plus DATABASE_URL (full, secret) and PG* for this database. */
export function toolEnv(conn: PgConnection): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(conn.env)) if (v !== undefined && !k.startsWith('PG')) env[k] = v;
  const url = new URL(conn.secretUrl);
  // postgresql:// is the spelling every tool takes (SQLAlchemy refuses postgres://).
  env.DATABASE_URL = conn.secretUrl.replace(/^postgres:/, 'postgresql:');
  env.PGHOST = conn.host.replace(/^\[(.*)\]$/, '$1');
  env.PGPORT = String(conn.port);
  if (conn.user) env.PGUSER = conn.user;
  env.PGDATABASE = conn.database;
  const password = conn.password || url.searchParams.get('password') || '';
  if (password) env.PGPASSWORD = password;
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  env.PGAPPNAME = conn.env.PGAPPNAME ?? 'opskit';
  return env;
}

/** The database URL for a command line: no password, not even as a query parameter. */
function argvUrl(conn: PgConnection): string {
  const url = new URL(conn.libpqUrl);
  url.password = '';
  url.searchParams.delete('password');
  return url.toString();
}

/** A path argument that cannot be read as an option. */
function pathArg(p: string): string {
  return p.startsWith('-') ? `./${p}` : p;
}

function knexPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  const knexfile = KNEXFILES.find((f) => isFile(path.join(o.cwd, f)));
  const config = knexfile
    ? ['--knexfile', knexfile, ...(given ? ['--migrations-directory', pathArg(dir)] : [])]
    : ['--client', 'pg', '--connection', argvUrl(o.conn), '--migrations-directory', pathArg(dir)];
  const knex = (command: string) => [...NPX, 'knex', command, ...config];
  const down = knex('migrate:rollback');
  return {
    tool: 'knex',
    up: knex('migrate:latest'),
    down,
    status: knex('migrate:list'),
    snapshot: knex('migrate:list'),
    downFor(before, after) {
      const done = new Set(parseKnexList(before).completed);
      return parseKnexList(after).completed.some((m) => !done.has(m)) ? [...down] : undefined;
    },
    pending: (status) => parseKnexList(status).pending,
    env,
    describeDown:
      'knex migrate:rollback rolls back the newest batch, the one this run recorded; run only when this run ' +
      'completed a migration (knex runs a batch in one transaction unless a migration opts out, so a failed run ' +
      'usually records nothing). A migration that failed half-way outside a transaction is not undone: ' +
      NO_DOWN,
  };
}

function alembicPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  const ini = path.join(dir, 'alembic.ini');
  const config = given && isFile(path.resolve(o.cwd, ini)) ? ['-c', pathArg(ini)] : [];
  const program = findOnPath('alembic', env.PATH) ? ['alembic'] : ['python3', '-m', 'alembic'];
  const alembic = (...args: string[]) => [...program, ...config, ...args];
  // Keep __pycache__ out of the user's checkout.
  if (env.PYTHONDONTWRITEBYTECODE === undefined) env.PYTHONDONTWRITEBYTECODE = '1';
  return {
    tool: 'alembic',
    up: alembic('upgrade', 'head'),
    status: alembic('history'),
    snapshot: alembic('current'),
    downFor(before, after) {
      const was = parseAlembicCurrentAll(before);
      const now = parseAlembicCurrentAll(after);
      if (was.length === now.length && was.every((r) => now.includes(r))) return undefined;
      if (was.length > 1) {
        throw new ExternalError(
          `alembic was at several revisions before the run (${was.join(', ')}): one downgrade cannot return there; ${NO_DOWN}`,
        );
      }
      return alembic('downgrade', was[0] ?? 'base');
    },
    pending: (status, snapshot) => alembicPending(parseAlembicHistory(status), parseAlembicCurrentAll(snapshot ?? '')),
    env,
    describeDown:
      'alembic downgrade to the revision the database was at before the run (base when it had none); a revision ' +
      'that failed half-way outside its transaction is not undone: ' +
      NO_DOWN,
  };
}

function prismaPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  let schema: string[] = [];
  if (given) {
    const file = path.join(path.dirname(dir), 'schema.prisma');
    if (!isFile(path.resolve(o.cwd, file))) {
      throw new ConfigurationError(
        `input 'migrations-dir': prisma keeps its migrations beside its schema, and there is no ${file}; ` +
          'leave migrations-dir unset to let prisma find its schema (prisma/schema.prisma or prisma.config.ts)',
      );
    }
    schema = ['--schema', pathArg(file)];
  }
  const prisma = (...args: string[]) => [...NPX, 'prisma', 'migrate', ...args, ...schema];
  return {
    tool: 'prisma',
    up: prisma('deploy'),
    status: prisma('status'),
    statusExitCodes: [0, 1],
    pending: (status) => parsePrismaStatus(status).pending,
    env,
    describeDown: `prisma has no down migrations (prisma migrate deploy only goes forward): ${NO_DOWN}`,
  };
}

function supabasePlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  let workdir: string[] = [];
  if (given) {
    const normal = path.normalize(dir).replace(/\/+$/, '');
    if (!/(^|\/)supabase\/migrations$/.test(normal)) {
      throw new ConfigurationError(
        `input 'migrations-dir': the supabase CLI reads <project>/supabase/migrations; give a path that ends in ` +
          `supabase/migrations or leave it unset, got '${dir}'`,
      );
    }
    const project = path.dirname(path.dirname(normal));
    if (project !== '.') workdir = ['--workdir', pathArg(project)];
  }
  const url = argvUrl(o.conn);
  return {
    tool: 'supabase',
    up: ['supabase', 'db', 'push', '--db-url', url, '--yes', ...workdir],
    status: ['supabase', 'migration', 'list', '--db-url', url, ...workdir],
    pending: (status) => parseSupabaseMigrationList(status).pending,
    env,
    describeDown: `supabase has no down migrations: ${NO_DOWN}`,
  };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsers of what the tools print

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function lines(stdout: string): string[] {
  return stdout
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trim());
}

function unreadable(what: string, stdout: string): ExternalError {
  const tail = lines(stdout).filter(Boolean).slice(-4).join(' | ');
  return new ExternalError(`cannot read the output of ${what}${tail ? `: ${tail}` : ' (it printed nothing)'}`);
}

export interface KnexList {
  completed: string[];
  pending: string[];
}

/** `knex migrate:list` → completed and pending migration files, in knex's order. */
export function parseKnexList(stdout: string): KnexList {
  const out: KnexList = { completed: [], pending: [] };
  const expected: Partial<Record<keyof KnexList, number>> = {};
  let section: keyof KnexList | undefined;
  for (const line of lines(stdout)) {
    let m: RegExpExecArray | null;
    if ((m = /^Found (\d+) (Completed|Pending) Migration file/i.exec(line))) {
      section = m[2]!.toLowerCase() as keyof KnexList;
      expected[section] = Number(m[1]);
    } else if ((m = /^No (Completed|Pending) Migration files Found/i.exec(line))) {
      section = undefined;
      expected[m[1]!.toLowerCase() as keyof KnexList] = 0;
    } else if (section && line) {
      out[section].push(line);
    }
  }
  if (expected.completed === undefined || expected.pending === undefined) throw unreadable('knex migrate:list', stdout);
  if (out.completed.length !== expected.completed || out.pending.length !== expected.pending) {
    throw unreadable('knex migrate:list (the counts do not match the files listed)', stdout);
  }
  return out;
}

const LOG_LINE = /^(INFO|WARNING|WARN|DEBUG|ERROR|CRITICAL)\b/;

/** `alembic current` → every revision the database is at (none for an empty database; several with branches). */
export function parseAlembicCurrentAll(stdout: string): string[] {
  const revs: string[] = [];
  for (const line of lines(stdout)) {
    if (!line || LOG_LINE.test(line)) continue;
    const m = /^([A-Za-z0-9_][\w.-]*)((?: \([^)]*\))*)$/.exec(line);
    if (m && !revs.includes(m[1]!)) revs.push(m[1]!);
  }
  return revs;
}

/** `alembic current` → the revision the database is at, undefined when it has none. Several (branches) is an error. */
export function parseAlembicCurrent(stdout: string): string | undefined {
  const revs = parseAlembicCurrentAll(stdout);
  if (revs.length > 1) throw new ExternalError(`alembic reports several current revisions: ${revs.join(', ')}`);
  return revs[0];
}

export interface AlembicRevision {
  revision: string;
  /** Empty for a first revision; two or more for a merge. */
  downRevisions: string[];
  head: boolean;
  message: string;
}

/** `alembic history` (not verbose) → revisions, newest first as alembic prints them. */
export function parseAlembicHistory(stdout: string): AlembicRevision[] {
  const out: AlembicRevision[] = [];
  for (const line of lines(stdout)) {
    if (LOG_LINE.test(line)) continue;
    const arrow = line.indexOf(' -> ');
    if (arrow < 0) continue;
    // `<down>[ (<depends on>)] -> <rev>[ (<labels>)][ (head)][ (branchpoint)]…[, <message>]`
    const down = line.slice(0, arrow).replace(/ \([^)]*\)$/, '');
    const m = /^([^\s,]+)((?: \([^)]*\))*)(?:, (.*))?$/.exec(line.slice(arrow + 4));
    if (!m) continue;
    out.push({
      revision: m[1]!,
      downRevisions: down === '<base>' ? [] : down.split(', ').map((r) => r.trim()),
      head: /\((?:effective )?head\)/.test(m[2]!),
      message: m[3] ?? '',
    });
  }
  if (out.length === 0 && lines(stdout).some((l) => l && !LOG_LINE.test(l))) {
    throw unreadable('alembic history', stdout);
  }
  return out;
}

/** The revisions not yet applied, oldest first: every revision that is not the current one or its ancestor. */
export function alembicPending(history: readonly AlembicRevision[], current: readonly string[]): string[] {
  const byRev = new Map(history.map((r) => [r.revision, r]));
  const applied = new Set<string>();
  const stack = [...current];
  while (stack.length) {
    const rev = stack.pop()!;
    if (applied.has(rev)) continue;
    const entry = byRev.get(rev);
    if (!entry)
      throw new ExternalError(`the database is at alembic revision ${rev}, which is not in the migration scripts`);
    applied.add(rev);
    stack.push(...entry.downRevisions);
  }
  return history
    .filter((r) => !applied.has(r.revision))
    .map((r) => r.revision)
    .reverse();
}

/** `prisma migrate status` → pending migration names; `upToDate` when prisma says so. */
export function parsePrismaStatus(stdout: string): { pending: string[]; upToDate: boolean } {
  const all = lines(stdout);
  if (all.some((l) => /^Database schema is up to date/i.test(l))) return { pending: [], upToDate: true };
  const start = all.findIndex((l) => /^Following migrations? ha(?:ve|s) not yet been applied:?/i.test(l));
  if (start < 0) throw unreadable('prisma migrate status', stdout);
  const pending: string[] = [];
  for (const line of all.slice(start + 1)) {
    if (!line) {
      if (pending.length) break;
      continue;
    }
    if (/^To apply migrations/i.test(line)) break;
    pending.push(line);
  }
  return { pending, upToDate: false };
}

/** `supabase migration list` (a Local | Remote | Time table) → versions applied remotely and pending (local only). */
export function parseSupabaseMigrationList(stdout: string): { applied: string[]; pending: string[] } {
  const applied: string[] = [];
  const pending: string[] = [];
  let header = false;
  for (const line of lines(stdout)) {
    if (!line.includes('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    if (/^local$/i.test(cells[0] ?? '') && /^remote$/i.test(cells[1] ?? '')) {
      header = true;
      continue;
    }
    if (!header || cells.every((c) => /^-*$/.test(c))) continue;
    const [local = '', remote = ''] = cells;
    if (remote) applied.push(remote);
    else if (local) pending.push(local);
  }
  if (!header) throw unreadable('supabase migration list', stdout);
  return { applied, pending };
}
