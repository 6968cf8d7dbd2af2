/**
 * Installing postgresql-client-<major> from the PostgreSQL apt repository (PGDG, apt.postgresql.org)
 * on Debian/Ubuntu, with a cache so later runs skip apt.
 *
 * Approach (one, deterministic, no shell): the manual steps from https://wiki.postgresql.org/wiki/Apt
 * rather than postgresql-common's apt.postgresql.org.sh (absent on most images, runs a full
 * `apt-get update`, and its behaviour changes with the installed postgresql-common version):
 *
 * 1. `apt-get install ca-certificates curl` (no-op on runners, which have both; gnupg is not needed
 *    because apt reads ASCII-armoured `.asc` keys given in Signed-By since apt 1.4).
 * 2. The PGDG key into `/etc/apt/keyrings/pgdg.asc`, the admin-local keyring directory that
 *    sources.list(5) recommends (no package-owned file is touched).
 * 3. `/etc/apt/sources.list.d/pgdg.sources` (deb822, the file name postgresql-common's script also
 *    writes, so re-running either one replaces rather than duplicates) with Signed-By that key.
 *    A legacy `pgdg.list` is removed first, as that script does: the same repository with another
 *    Signed-By makes every apt command fail ("Conflicting values set for option Signed-By").
 * 4. `apt-get update` of that one source only (Dir::Etc::SourceList + SourceParts=-, lists of
 *    other sources kept): seconds instead of a full update.
 * 5. `apt-get install postgresql-client-<major>`.
 * An `apt-get install` step that fails (empty or stale lists in a bare container) is retried once
 * after a full `apt-get update`. Not root → every command is prefixed with `sudo -n` (never prompt).
 *
 * Cache: @actions/cache restores as the runner user, so it cannot write under root-owned /usr/lib.
 * What is cached is therefore a private, user-owned copy made after the apt install:
 * `<toolRoot>/opskit-pg-client/<major>/bin` (the package's /usr/lib/postgresql/<major>/bin) and
 * `…/lib/libpq.so.5` (the system libpq the apt install brought, ≥ <major>: PGDG clients need a libpq
 * at least as new as themselves, and a fresh runner's libpq5 is older). The rest of what the tools
 * link (libc, libssl, zlib, lz4, zstd) is the distribution's, which the key pins with the codename
 * and architecture. After a restore the tools run with LD_LIBRARY_PATH=<that lib> (see
 * PgClient.env, set by client.ts for any `<root>/bin` + `<root>/lib/libpq.so.5` layout), and the
 * restored copy is checked by running `pg_dump --version` before it is used.
 */
import { copyFile, cp, mkdir, readFile, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { type Installer, type Runner, clientAtPath, defaultToolRoot } from './client.js';

export interface OsInfo {
  /** VERSION_CODENAME from /etc/os-release: `bookworm`, `jammy`, `noble`. */
  codename: string;
  /** `dpkg --print-architecture`: `amd64`, `arm64`. */
  arch: string;
  /** Running as root; otherwise commands are prefixed with `sudo -n`. */
  root: boolean;
}

export interface PlanCommand {
  cmd: string;
  args: string[];
  /** Written to the command's stdin. */
  input?: string;
  /** Extra environment (only set when running as root; with sudo it is passed through `env`). */
  env?: Record<string, string>;
  /** An apt-get install: retried once after a full `apt-get update` if it fails. */
  retryAfterUpdate?: boolean;
}

export interface AptPlan {
  commands: PlanCommand[];
  /** The full `apt-get update` run before retrying a failed apt-get install. */
  fullUpdate: PlanCommand;
  /** Where the package puts the tools. */
  binDir: string;
}

export const PGDG_KEY_URL = 'https://www.postgresql.org/media/keys/ACCC4CF8.asc';
export const PGDG_KEYRING = '/etc/apt/keyrings/pgdg.asc';
export const PGDG_SOURCES = '/etc/apt/sources.list.d/pgdg.sources';
export const PGDG_LEGACY_LIST = '/etc/apt/sources.list.d/pgdg.list';
/** Bump when what is cached (layout, contents) changes, so old entries are not restored. */
export const PG_CLIENT_CACHE_SCHEME = 'v1';

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

/** The exact commands that install postgresql-client-<major> from PGDG (see the module comment). */
export function aptInstallPlan(major: number, osInfo: OsInfo): AptPlan {
  if (!Number.isInteger(major) || major < 1) throw new Error(`aptInstallPlan: bad major version ${major}`);
  if (!/^[a-z][a-z0-9-]*$/.test(osInfo.codename)) {
    throw new ConfigurationError(
      `cannot install the PostgreSQL client: unexpected distribution codename '${osInfo.codename}'`,
    );
  }
  if (!/^[a-z0-9-]+$/.test(osInfo.arch)) {
    throw new ConfigurationError(`cannot install the PostgreSQL client: unexpected architecture '${osInfo.arch}'`);
  }
  const aptGet = (...args: string[]): PlanCommand => ({ cmd: 'apt-get', args, env: APT_ENV });
  const sources = [
    'Types: deb',
    'URIs: https://apt.postgresql.org/pub/repos/apt',
    `Suites: ${osInfo.codename}-pgdg`,
    'Components: main',
    `Architectures: ${osInfo.arch}`,
    `Signed-By: ${PGDG_KEYRING}`,
    '',
  ].join('\n');
  const steps: PlanCommand[] = [
    {
      ...aptGet('install', '-y', '--no-install-recommends', 'ca-certificates', 'curl'),
      retryAfterUpdate: true,
    },
    { cmd: 'install', args: ['-d', '-m', '0755', path.posix.dirname(PGDG_KEYRING)] },
    { cmd: 'curl', args: ['-fsSL', '--retry', '3', '-o', PGDG_KEYRING, PGDG_KEY_URL] },
    { cmd: 'rm', args: ['-f', PGDG_LEGACY_LIST] },
    { cmd: 'tee', args: [PGDG_SOURCES], input: sources },
    aptGet(
      'update',
      '-o',
      `Dir::Etc::SourceList=${PGDG_SOURCES}`,
      '-o',
      'Dir::Etc::SourceParts=-',
      '-o',
      'APT::Get::List-Cleanup=0',
    ),
    {
      ...aptGet('install', '-y', '--no-install-recommends', `postgresql-client-${major}`),
      retryAfterUpdate: true,
    },
  ];
  const privileged = (c: PlanCommand): PlanCommand => {
    if (osInfo.root) return c;
    const { env, ...rest } = c;
    const envArgs = env ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : [];
    return { ...rest, cmd: 'sudo', args: ['-n', ...envArgs, c.cmd, ...c.args] };
  };
  return {
    commands: steps.map(privileged),
    fullUpdate: privileged(aptGet('update')),
    binDir: `/usr/lib/postgresql/${major}/bin`,
  };
}

/** dpkg architecture → the name runners use (`runner.arch`, Node's process.arch). */
const RUNNER_ARCH: Record<string, string> = {
  amd64: 'x64',
  arm64: 'arm64',
  i386: 'x86',
  armhf: 'arm',
  ppc64el: 'ppc64',
  s390x: 's390x',
};

/** dpkg architecture → multiarch triplet (where libpq.so.5 lives under /usr/lib). */
const TRIPLET: Record<string, string> = {
  amd64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  i386: 'i386-linux-gnu',
  armhf: 'arm-linux-gnueabihf',
  ppc64el: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
};

/** `opskit-pg-client-18-bookworm-x64-v1`. The codename pins the distribution (they are unique across Debian and Ubuntu). */
export function cacheKey(
  major: number,
  osInfo: Pick<OsInfo, 'codename' | 'arch'>,
  scheme: string = PG_CLIENT_CACHE_SCHEME,
): string {
  return `opskit-pg-client-${major}-${osInfo.codename}-${RUNNER_ARCH[osInfo.arch] ?? osInfo.arch}-${scheme}`;
}

/** Where private copies live (client.ts searches the same place): $RUNNER_TOOL_CACHE, else ~/.cache. */
export { defaultToolRoot };

/** The directories to cache for one major: `<toolRoot>/opskit-pg-client/<major>` (bin/ and lib/). */
export function cachePaths(major: number, toolRoot: string = defaultToolRoot()): string[] {
  return [path.join(toolRoot, 'opskit-pg-client', String(major))];
}

/** The part of @actions/cache the installer needs; the action adapts restoreCache/saveCache to it. */
export interface CacheLike {
  /** The key restored, or undefined on a miss. */
  restore(paths: string[], key: string): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<void>;
}

export interface InstallerOptions {
  run: Runner;
  os: OsInfo;
  logger: Logger;
  cache?: CacheLike;
  /** Parent of the cached private copies. Default defaultToolRoot(). */
  toolRoot?: string;
  /** Prefix for the system paths read after apt (/usr/lib/...). Tests only; default ''. */
  fsRoot?: string;
  cacheScheme?: string;
}

/**
 * Cache restore (and check that the restored pg_dump runs and is that major), else the apt plan,
 * then a private copy saved to the cache. A copy already present from an earlier step of the same
 * job is used without touching the cache. Cache errors are warnings; apt errors are thrown.
 */
export function createInstaller(options: InstallerOptions): Installer {
  const { run, logger, cache } = options;
  const fsRoot = options.fsRoot ?? '';
  const toolRoot = options.toolRoot ?? defaultToolRoot();

  const works = async (binDir: string, major: number): Promise<boolean> => {
    try {
      const client = await clientAtPath(binDir, 'pg-client', { run, platform: 'linux' });
      if (client.major === major) return true;
      logger.debug(`pg-client: ${binDir} has pg_dump ${client.version}, not ${major}`);
    } catch (err) {
      logger.debug(`pg-client: ${binDir} is not usable: ${errorMessage(err)}`);
    }
    return false;
  };

  return {
    async install(major: number): Promise<string> {
      const paths = cachePaths(major, toolRoot);
      const toolDir = paths[0]!;
      const toolBin = path.join(toolDir, 'bin');
      const key = cacheKey(major, options.os, options.cacheScheme);

      if (await works(toolBin, major)) {
        logger.info(`Using postgresql-client-${major} already installed in ${toolDir}`);
        return toolBin;
      }

      if (cache) {
        let hit: string | undefined;
        try {
          hit = await cache.restore(paths, key);
        } catch (err) {
          logger.warning(`Restoring the postgresql-client-${major} cache failed: ${errorMessage(err)}`);
        }
        if (hit !== undefined) {
          if (await works(toolBin, major)) {
            logger.info(`Restored postgresql-client-${major} from the cache (${hit})`);
            return toolBin;
          }
          logger.warning(`The cached postgresql-client-${major} (${hit}) does not run here; installing it with apt`);
        } else {
          logger.info(`No cached postgresql-client-${major} (${key}); installing it with apt`);
        }
      }

      const plan = aptInstallPlan(major, options.os);
      await runPlan(plan, run, logger);
      const sysBin = fsRoot + plan.binDir;
      if (!(await works(sysBin, major))) {
        throw new ExternalError(
          `apt installed postgresql-client-${major} but ${sysBin}/pg_dump does not report version ${major}`,
        );
      }

      if (cache) {
        try {
          await makePrivateCopy(sysBin, toolDir, options.os.arch, fsRoot);
          if (!(await works(toolBin, major))) throw new Error(`the copy in ${toolDir} does not run`);
          await cache.save(paths, key);
          logger.info(`Cached postgresql-client-${major} as ${key}`);
        } catch (err) {
          logger.warning(
            `Caching postgresql-client-${major} failed (the next run installs it again): ${errorMessage(err)}`,
          );
        }
      }
      return sysBin;
    },
  };
}

/** Runs the plan's commands in order; a failed apt-get install is retried once after a full update. */
export async function runPlan(plan: AptPlan, run: Runner, logger: Logger): Promise<void> {
  let updated = false;
  for (const command of plan.commands) {
    let result = await runCommand(command, run, logger);
    if (result.code !== 0 && command.retryAfterUpdate && !updated) {
      logger.info(`${display(command)} failed; refreshing all apt lists and retrying`);
      updated = true;
      const update = await runCommand(plan.fullUpdate, run, logger);
      if (update.code !== 0) throw commandError(plan.fullUpdate, update);
      result = await runCommand(command, run, logger);
    }
    if (result.code !== 0) throw commandError(command, result);
  }
}

async function runCommand(command: PlanCommand, run: Runner, logger: Logger) {
  logger.info(`$ ${display(command)}`);
  const opts = {
    ...(command.env ? { env: command.env } : {}),
    ...(command.input !== undefined ? { input: command.input } : {}),
  };
  const result = await run(command.cmd, command.args, Object.keys(opts).length ? opts : undefined);
  if (result.stdout.trim()) logger.debug(result.stdout.trimEnd());
  return result;
}

function commandError(command: PlanCommand, result: { code: number; stdout: string; stderr: string }) {
  const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
  return new ExternalError(`\`${display(command)}\` exited with code ${result.code}${tail ? `: ${tail}` : ''}`);
}

function display(command: PlanCommand): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [command.cmd, ...command.args].map(quote).join(' ');
}

/** `<toolDir>/bin` ← the package's bin dir; `<toolDir>/lib/libpq.so.5` ← the system libpq. */
async function makePrivateCopy(sysBin: string, toolDir: string, arch: string, fsRoot: string): Promise<void> {
  const triplet = TRIPLET[arch];
  if (!triplet) throw new Error(`no known library directory for architecture ${arch}`);
  const libpq = await realpath(`${fsRoot}/usr/lib/${triplet}/libpq.so.5`);
  await rm(toolDir, { recursive: true, force: true });
  await mkdir(path.join(toolDir, 'lib'), { recursive: true });
  await cp(sysBin, path.join(toolDir, 'bin'), { recursive: true, dereference: true });
  await copyFile(libpq, path.join(toolDir, 'lib', 'libpq.so.5'));
}

/**
 * The codename (/etc/os-release VERSION_CODENAME, else UBUNTU_CODENAME), `dpkg --print-architecture`
 * and whether we are root. ConfigurationError when this is not a Debian-family system.
 */
export async function detectOs(run: Runner, options: { osReleasePath?: string; root?: boolean } = {}): Promise<OsInfo> {
  const why = (reason: string) =>
    new ConfigurationError(
      `cannot install the PostgreSQL client automatically: ${reason}; install postgresql-client yourself or set pg-client to a directory containing pg_dump`,
    );
  const file = options.osReleasePath ?? '/etc/os-release';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw why(`${file} cannot be read (apt installs need Debian or Ubuntu)`);
  }
  const fields = parseOsRelease(text);
  const codename = fields.VERSION_CODENAME || fields.UBUNTU_CODENAME;
  if (!codename) throw why(`${file} has no VERSION_CODENAME (apt installs need Debian or Ubuntu)`);
  const dpkg = await run('dpkg', ['--print-architecture']);
  const arch = dpkg.stdout.trim();
  if (dpkg.code !== 0 || !arch) throw why(`\`dpkg --print-architecture\` failed (apt installs need Debian or Ubuntu)`);
  return { codename, arch, root: options.root ?? process.getuid?.() === 0 };
}

/** KEY=value lines, values optionally quoted (os-release(5)). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!.trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    out[m[1]!] = value;
  }
  return out;
}
