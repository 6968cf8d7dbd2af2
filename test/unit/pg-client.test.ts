import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Installer,
  type PgClient,
  type RunResult,
  type Runner,
  compareVersions,
  defaultRunner,
  defaultSearchDirs,
  findPgClients,
  parsePgClientSpec,
  parsePgVersion,
  resolvePgClient,
} from '../../src/postgres/client.js';
import {
  type CacheLike,
  type OsInfo,
  PGDG_KEY_URL,
  aptInstallPlan,
  cacheKey,
  cachePaths,
  createInstaller,
  detectOs,
  parseOsRelease,
} from '../../src/postgres/install.js';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { memoryLogger, silentLogger } from '../../src/logger.js';
import { tempDir } from '../harness/tmp.js';

interface Call {
  cmd: string;
  args: string[];
  opts?: { env?: Record<string, string>; input?: string };
}

/**
 * Records every call. `--version` of a file in `canned` gets the canned text; anything under
 * `realUnder` runs for real (the shell scripts below); `handle` answers everything else.
 */
function fakeRunner(
  options: {
    canned?: Record<string, string>;
    realUnder?: string;
    handle?: (call: Call) => Promise<RunResult | undefined> | RunResult | undefined;
  } = {},
): Runner & { calls: Call[] } {
  const calls: Call[] = [];
  const run: Runner = async (cmd, args, opts) => {
    const call = { cmd, args, ...(opts ? { opts } : {}) };
    calls.push(call);
    const canned = options.canned?.[cmd];
    if (canned !== undefined && args[0] === '--version') return { code: 0, stdout: canned, stderr: '' };
    if (options.realUnder && cmd.startsWith(options.realUnder)) return defaultRunner(cmd, args, opts);
    const handled = await options.handle?.(call);
    return handled ?? { code: 127, stdout: '', stderr: `fake runner: no answer for ${cmd}` };
  };
  return Object.assign(run, { calls });
}

/** A real executable that prints a pg_dump-style version line (or nothing, or one that needs a lib dir). */
async function fakeTool(file: string, version: string | undefined, options: { needsLib?: string } = {}) {
  await mkdir(path.dirname(file), { recursive: true });
  const tool = path.basename(file);
  const line = version === undefined ? 'echo "not postgres"' : `echo "${tool} (PostgreSQL) ${version}"`;
  const body = options.needsLib
    ? `case ":$LD_LIBRARY_PATH:" in *":${options.needsLib}:"*) ${line} ;; *) echo "libpq.so.5: version LIBPQ_18 not found" >&2; exit 127 ;; esac`
    : line;
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
}

async function fakeClientDir(binDir: string, version: string, options: { needsLib?: string } = {}) {
  for (const tool of ['pg_dump', 'pg_restore', 'psql', 'pg_dumpall']) {
    await fakeTool(path.join(binDir, tool), version, options);
  }
}

let tmp: { path: string; cleanup(): Promise<void> };
let root: string;
beforeAll(async () => {
  tmp = await tempDir('opskit-pg-client-');
  root = await realpath(tmp.path);
});
afterAll(async () => tmp.cleanup());

describe('parsePgVersion', () => {
  it.each([
    ['pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)', 15, '15.18'],
    ['pg_dump (PostgreSQL) 18beta1', 18, '18beta1'],
    ['pg_dump (PostgreSQL) 9.6.24', 9, '9.6.24'],
    ['pg_restore (PostgreSQL) 17.6 (Ubuntu 17.6-1.pgdg24.04+1)\n', 17, '17.6'],
    ['pg_dump (PostgreSQL) 19devel', 19, '19devel'],
  ])('reads %p', (text, major, version) => {
    expect(parsePgVersion(text)).toEqual({ major, version });
  });

  it.each(['', 'pg_dump: command not found', 'mysqldump  Ver 10.19'])('rejects %p', (text) => {
    expect(parsePgVersion(text)).toBeUndefined();
  });

  it('orders versions: releases after their betas, minors numerically, 9.6 below 10', () => {
    const sorted = ['9.6.24', '18beta1', '15.2', '18.1', '15.18', '18rc1', '18.0', '10.23'].sort(compareVersions);
    expect(sorted).toEqual(['9.6.24', '10.23', '15.2', '15.18', '18beta1', '18rc1', '18.0', '18.1']);
  });
});

describe('parsePgClientSpec', () => {
  it('reads auto, empty, a major and absolute paths', () => {
    expect(parsePgClientSpec('pg-client', 'auto')).toEqual({ kind: 'auto' });
    expect(parsePgClientSpec('pg-client', ' AUTO ')).toEqual({ kind: 'auto' });
    expect(parsePgClientSpec('pg-client', '')).toEqual({ kind: 'auto' });
    expect(parsePgClientSpec('pg-client', '17')).toEqual({ kind: 'major', major: 17 });
    expect(parsePgClientSpec('pg-client', '/usr/lib/postgresql/17/bin/')).toEqual({
      kind: 'path',
      path: '/usr/lib/postgresql/17/bin/',
    });
    expect(parsePgClientSpec('pg-client', '/opt/pg/bin/pg_dump')).toEqual({
      kind: 'path',
      path: '/opt/pg/bin/pg_dump',
    });
    const home = parsePgClientSpec('pg-client', '~/pg/bin');
    expect(home.kind === 'path' && path.isAbsolute(home.path) && home.path.endsWith('/pg/bin')).toBe(true);
  });

  it.each(['9', '31', '0', '17.2', 'latest', 'v17', './bin', 'bin/pg_dump', 'pg_dump'])(
    'rejects %p naming the input',
    (raw) => {
      expect(() => parsePgClientSpec('pg-client', raw)).toThrow(ConfigurationError);
      expect(() => parsePgClientSpec('pg-client', raw)).toThrow(
        /^input 'pg-client': expected auto, a PostgreSQL major version from 10 to 30, or an absolute path/,
      );
    },
  );
});

describe('pg-bin-dir', () => {
  it('reads absolute directories, one per line, through pg-client specs of every kind', () => {
    expect(parsePgClientSpec('pg-client', 'auto', '/opt/pg/16/bin\n\n  /opt/pg/17/bin/ \n/opt/pg/16/bin')).toEqual({
      kind: 'auto',
      binDirs: ['/opt/pg/16/bin', '/opt/pg/17/bin/'],
    });
    expect(parsePgClientSpec('pg-client', '17', '/opt/pg/bin')).toEqual({
      kind: 'major',
      major: 17,
      binDirs: ['/opt/pg/bin'],
    });
    expect(parsePgClientSpec('pg-client', 'auto', '')).toEqual({ kind: 'auto' });
  });

  it.each(['bin', './node_modules/.bin', '/usr/lib/postgresql/*/bin'])('rejects %p naming the input', (raw) => {
    expect(() => parsePgClientSpec('pg-client', 'auto', raw)).toThrow(ConfigurationError);
    expect(() => parsePgClientSpec('pg-client', 'auto', raw)).toThrow(
      `input 'pg-bin-dir': expected absolute directories holding pg_dump, pg_restore and psql, one per line (opskit never takes them from PATH), got '${raw}'`,
    );
  });
});

describe('defaultSearchDirs', () => {
  it('are the versioned install directories and the tool cache opskit installs to, never PATH', () => {
    const saved = process.env.RUNNER_TOOL_CACHE;
    process.env.RUNNER_TOOL_CACHE = '/opt/hostedtoolcache';
    try {
      expect(defaultSearchDirs('linux')).toEqual([
        '/usr/lib/postgresql/*/bin',
        '/opt/hostedtoolcache/opskit-pg-client/*/bin',
      ]);
      expect(cachePaths(17)).toEqual(['/opt/hostedtoolcache/opskit-pg-client/17']);
    } finally {
      if (saved === undefined) delete process.env.RUNNER_TOOL_CACHE;
      else process.env.RUNNER_TOOL_CACHE = saved;
    }
  });

  it('a pg_dump first on PATH is never run, even by a search with the defaults', async () => {
    const hostile = path.join(root, 'hostile/bin');
    const ran = path.join(root, 'hostile/ran');
    await mkdir(hostile, { recursive: true });
    await writeFile(
      path.join(hostile, 'pg_dump'),
      `#!/bin/sh\necho "$PGPASSWORD" > '${ran}'\necho "pg_dump (PostgreSQL) 99.0"\n`,
    );
    await chmod(path.join(hostile, 'pg_dump'), 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${hostile}:${saved ?? ''}`;
    try {
      const clients = await findPgClients({ platform: 'linux' });
      expect(clients.map((c) => c.binDir)).not.toContain(hostile);
      expect(existsSync(ran)).toBe(false);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('findPgClients', () => {
  let base: string;
  let searchDirs: string[];
  let binDirs: string[];
  beforeAll(async () => {
    base = path.join(root, 'find');
    const lib = path.join(base, 'usr/lib/postgresql');
    await fakeClientDir(path.join(lib, '15/bin'), '15.18 (Debian 15.18-0+deb12u1)');
    await fakeClientDir(path.join(lib, '17/bin'), '17.6 (Debian 17.6-1.pgdg120+1)');
    await fakeClientDir(path.join(lib, '18/bin'), '18.1 (Debian 18.1-1.pgdg120+2)');
    await mkdir(path.join(lib, '16'), { recursive: true }); // no bin: ignored
    // Named dirs (pg-bin-dir): a symlink to the 17 binary (same real file → one client), another 16.9, a Debian
    // pg_wrapper (skipped), a pg_dump that is not executable, one that is not PostgreSQL, an empty dir.
    await mkdir(path.join(base, 'local/bin'), { recursive: true });
    await symlink(path.join(lib, '17/bin/pg_dump'), path.join(base, 'local/bin/pg_dump'));
    await fakeClientDir(path.join(base, 'opt/pg16/bin'), '16.9');
    await fakeTool(path.join(base, 'share/postgresql-common/pg_wrapper'), '18.1');
    await mkdir(path.join(base, 'usr/bin'), { recursive: true });
    await symlink(path.join(base, 'share/postgresql-common/pg_wrapper'), path.join(base, 'usr/bin/pg_dump'));
    await fakeTool(path.join(base, 'noexec/pg_dump'), '19.0');
    await chmod(path.join(base, 'noexec/pg_dump'), 0o644);
    await fakeTool(path.join(base, 'impostor/pg_dump'), undefined);
    await mkdir(path.join(base, 'empty'), { recursive: true });
    searchDirs = [path.join(lib, '*/bin')];
    binDirs = ['local/bin', 'usr/bin', 'noexec', 'impostor', 'empty', 'opt/pg16/bin']
      .map((d) => path.join(base, d))
      .concat(['relative/bin', '']);
  });

  it('lists named and versioned-dir clients newest first, one per real binary, without wrappers', async () => {
    const run = fakeRunner({ realUnder: base });
    const clients = await findPgClients({ searchDirs, binDirs, run, platform: 'linux' });
    expect(clients.map((c) => [c.version, c.major, c.binDir])).toEqual([
      ['18.1', 18, path.join(base, 'usr/lib/postgresql/18/bin')],
      ['17.6', 17, path.join(base, 'usr/lib/postgresql/17/bin')], // the named dir's symlink, resolved
      ['16.9', 16, path.join(base, 'opt/pg16/bin')],
      ['15.18', 15, path.join(base, 'usr/lib/postgresql/15/bin')],
    ]);
    // --version ran once per real binary: the symlinked 17 was not asked twice, the wrapper never.
    const asked = run.calls.map((c) => c.cmd).sort();
    expect(asked).toEqual(
      [
        'impostor/pg_dump',
        'opt/pg16/bin/pg_dump',
        'usr/lib/postgresql/15/bin/pg_dump',
        'usr/lib/postgresql/17/bin/pg_dump',
        'usr/lib/postgresql/18/bin/pg_dump',
      ].map((f) => path.join(base, f)),
    );
    expect(run.calls.every((c) => c.args.join(' ') === '--version')).toBe(true);
    expect(clients[0]!.bin('pg_restore')).toBe(path.join(base, 'usr/lib/postgresql/18/bin/pg_restore'));
    expect(clients[0]!.env).toBeUndefined();
  });

  it('reads the versions a runner reports (canned output)', async () => {
    const run = fakeRunner({
      canned: {
        [path.join(base, 'usr/lib/postgresql/18/bin/pg_dump')]: 'pg_dump (PostgreSQL) 18beta1\n',
        [path.join(base, 'usr/lib/postgresql/15/bin/pg_dump')]: 'pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n',
        [path.join(base, 'usr/lib/postgresql/17/bin/pg_dump')]: 'pg_dump (PostgreSQL) 9.6.24\n',
      },
    });
    const clients = await findPgClients({ searchDirs, run, platform: 'linux' });
    expect(clients.map((c) => `${c.major}:${c.version}`)).toEqual(['18:18beta1', '15:15.18', '9:9.6.24']);
  });

  it('keeps the order of the named dirs between equal versions', async () => {
    const a = path.join(root, 'tie/a');
    const b = path.join(root, 'tie/b');
    await fakeClientDir(a, '16.9');
    await fakeClientDir(b, '16.9');
    const clients = await findPgClients({ searchDirs: [], binDirs: [b, a], platform: 'linux' });
    expect(clients.map((c) => c.binDir)).toEqual([b, a]);
  });

  it('finds no clients in empty places', async () => {
    const run = fakeRunner();
    expect(await findPgClients({ searchDirs: [path.join(root, 'nowhere/*/bin')], run })).toEqual([]);
    expect(run.calls).toEqual([]);
  });

  it('gives a client that carries its own libpq (bin + lib/libpq.so.5) LD_LIBRARY_PATH', async () => {
    const tree = path.join(root, 'private-tree');
    await fakeClientDir(path.join(tree, 'bin'), '18.1', { needsLib: path.join(tree, 'lib') });
    await mkdir(path.join(tree, 'lib'), { recursive: true });
    await writeFile(path.join(tree, 'lib/libpq.so.5'), 'not really a library');
    // Real exec: the script only prints its version when the lib dir is on LD_LIBRARY_PATH.
    const [client] = await findPgClients({ searchDirs: [], binDirs: [path.join(tree, 'bin')], platform: 'linux' });
    expect(client?.version).toBe('18.1');
    expect(client?.env?.LD_LIBRARY_PATH?.split(':')[0]).toBe(path.join(tree, 'lib'));
  });

  const realPgDump = '/usr/lib/postgresql/15/bin/pg_dump';
  (existsSync(realPgDump) ? it : it.skip)(
    'finds pg_dump 15 under /usr/lib/postgresql/15/bin on this machine',
    async () => {
      const clients = await findPgClients();
      const found = clients.find((c) => c.binDir === '/usr/lib/postgresql/15/bin');
      expect(found?.major).toBe(15);
      expect(found?.version).toMatch(/^15\.\d+$/);
      expect(found?.bin('pg_dump')).toBe(realPgDump);
      expect(clients.some((c) => c.binDir === '/usr/share/postgresql-common')).toBe(false); // wrapper skipped
    },
  );
});

describe('resolvePgClient', () => {
  let lib: string;
  let options: { searchDirs: string[]; binDirs: string[]; logger: typeof silentLogger; platform: NodeJS.Platform };
  beforeAll(async () => {
    lib = path.join(root, 'resolve/usr/lib/postgresql');
    await fakeClientDir(path.join(lib, '15/bin'), '15.18 (Debian 15.18-0+deb12u1)');
    await fakeClientDir(path.join(lib, '17/bin'), '17.2');
    await fakeClientDir(path.join(lib, '18/bin'), '18.1');
    await fakeClientDir(path.join(root, 'resolve/opt/17new/bin'), '17.6');
    options = {
      searchDirs: [path.join(lib, '*/bin')],
      binDirs: [path.join(root, 'resolve/opt/17new/bin')],
      logger: silentLogger,
      platform: 'linux',
    };
  });

  it.each([
    [10, '15.18'],
    [15, '15.18'],
    [16, '17.6'], // the closest major ≥ server, and its newest minor
    [17, '17.6'],
    [18, '18.1'],
  ])('auto picks the oldest client that can dump server %i', async (server, version) => {
    const client = await resolvePgClient({ kind: 'auto' }, server, options);
    expect(client.version).toBe(version);
  });

  it('a major spec takes exactly that major, even when an older one would do', async () => {
    const client = await resolvePgClient({ kind: 'major', major: 18 }, 15, options);
    expect([client.major, client.binDir]).toEqual([18, path.join(lib, '18/bin')]);
  });

  it('a major spec older than the server is refused up front', async () => {
    const err = await resolvePgClient({ kind: 'major', major: 15 }, 17, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(
      "input 'pg-client' asks for pg_dump 15 but PostgreSQL server is version 17; pg_dump cannot dump a newer server. Set pg-client to 17 or newer, or to auto.",
    );
  });

  it('a path spec takes a directory or the pg_dump binary', async () => {
    const dir = await resolvePgClient({ kind: 'path', path: path.join(lib, '17/bin') }, 16, options);
    expect([dir.version, dir.binDir]).toEqual(['17.2', path.join(lib, '17/bin')]);
    const bin = await resolvePgClient({ kind: 'path', path: path.join(lib, '15/bin/pg_dump') }, 15, options);
    expect([bin.version, bin.binDir, bin.bin('psql')]).toEqual([
      '15.18',
      path.join(lib, '15/bin'),
      path.join(lib, '15/bin/psql'),
    ]);
  });

  it('a path spec that does not fit is a ConfigurationError naming the input', async () => {
    const missing = path.join(root, 'resolve/nothing-here');
    await expect(resolvePgClient({ kind: 'path', path: missing }, 15, options)).rejects.toThrow(
      `input 'pg-client': expected a directory containing pg_dump, or the path of pg_dump; nothing exists at that path, got '${missing}'`,
    );
    await expect(resolvePgClient({ kind: 'path', path: path.join(root, 'resolve') }, 15, options)).rejects.toThrow(
      /there is no executable pg_dump in/,
    );
    await expect(resolvePgClient({ kind: 'path', path: path.join(lib, '15/bin') }, 18, options)).rejects.toThrow(
      `input 'pg-client' points at pg_dump 15.18 (${path.join(lib, '15/bin')}) but PostgreSQL server is version 18; pg_dump cannot dump a newer server.`,
    );
  });

  it('says in one sentence which versions clash and how to fix it when nothing fits', async () => {
    const only15 = { ...options, searchDirs: [path.join(lib, '15/bin')], binDirs: [] };
    const err = await resolvePgClient({ kind: 'auto' }, 18, only15).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    const message = (err as Error).message;
    expect(message).toContain('18');
    expect(message).toContain('15.18');
    expect(message).toContain('postgresql-client-18');
    expect(message).toBe(
      `PostgreSQL server is version 18 but the newest pg_dump found is 15.18 (${path.join(lib, '15/bin')}); pg_dump cannot dump a newer server. Install postgresql-client-18 (apt.postgresql.org) or set pg-client to a directory containing pg_dump 18 or newer.`,
    );
  });

  it('says where it looked when there is no pg_dump at all', async () => {
    const none = { ...options, searchDirs: [path.join(root, 'void/*/bin')], binDirs: [] };
    await expect(resolvePgClient({ kind: 'auto' }, 17, none)).rejects.toThrow(
      `PostgreSQL server is version 17 but no pg_dump was found in ${path.join(root, 'void/*/bin')} (PATH is not searched); pg_dump cannot dump a newer server. Install postgresql-client-17 (apt.postgresql.org)`,
    );
    await expect(resolvePgClient({ kind: 'major', major: 16 }, 15, options)).rejects.toThrow(
      /^input 'pg-client' asks for pg_dump 16 but no pg_dump 16 was found in .* \(PATH is not searched\) \(found: 18\.1 .*\)\. Install postgresql-client-16 \(apt\.postgresql\.org\) or set pg-client to a directory containing pg_dump 16\.$/,
    );
  });

  it('installs postgresql-client-<server major> when nothing fits and an installer is given', async () => {
    const installed = path.join(root, 'resolve/installed/19/bin');
    await fakeClientDir(installed, '19.0');
    const asked: number[] = [];
    const installer: Installer = { install: async (major) => (asked.push(major), installed) };
    const client = await resolvePgClient({ kind: 'auto' }, 19, { ...options, installer });
    expect(asked).toEqual([19]);
    expect([client.major, client.binDir]).toEqual([19, installed]);

    asked.length = 0;
    await expect(resolvePgClient({ kind: 'major', major: 16 }, 15, { ...options, installer })).rejects.toThrow(
      /asks for pg_dump 16 .*Installing postgresql-client-16 from apt\.postgresql\.org failed \(the installed pg_dump in .* is version 19\.0, not 16\)/,
    );
    expect(asked).toEqual([16]);
  });

  it('turns a failed install into the same clear error, keeping the cause and a warning', async () => {
    const logger = memoryLogger();
    const cause = new ExternalError('`sudo -n apt-get update` exited with code 100: Temporary failure resolving');
    const installer: Installer = { install: async () => Promise.reject(cause) };
    const only15 = { ...options, searchDirs: [path.join(lib, '15/bin')], binDirs: [], logger, installer };
    const err = (await resolvePgClient({ kind: 'auto' }, 19, only15).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.message).toBe(
      `PostgreSQL server is version 19 but the newest pg_dump found is 15.18 (${path.join(lib, '15/bin')}); pg_dump cannot dump a newer server. Installing postgresql-client-19 from apt.postgresql.org failed (${cause.message}); install it yourself or set pg-client to a directory containing pg_dump 19 or newer.`,
    );
    expect(err.cause).toBe(cause);
    expect(logger.lines).toContain(`warning: Installing postgresql-client-19 failed: ${cause.message}`);
  });

  it('for restores, looks for pg_restore against the archive’s pg_dump version', async () => {
    const only15 = { ...options, searchDirs: [path.join(lib, '15/bin')], binDirs: [] };
    const ok = await resolvePgClient({ kind: 'auto' }, 14, { ...only15, purpose: 'restore' });
    expect(ok.version).toBe('15.18');
    await expect(resolvePgClient({ kind: 'auto' }, 17, { ...only15, purpose: 'restore' })).rejects.toThrow(
      /^The archive was written by pg_dump 17 but the newest pg_restore found is 15\.18 .*; pg_restore cannot read an archive from a newer pg_dump\. Install postgresql-client-17/,
    );
  });
});

const bookworm: OsInfo = { codename: 'bookworm', arch: 'amd64', root: true };
const SOURCES = `Types: deb
URIs: https://apt.postgresql.org/pub/repos/apt
Suites: bookworm-pgdg
Components: main
Architectures: amd64
Signed-By: /etc/apt/keyrings/pgdg.asc
`;

describe('aptInstallPlan', () => {
  it('installs postgresql-client-18 on bookworm/amd64 as root', () => {
    const apt = { env: { DEBIAN_FRONTEND: 'noninteractive' } };
    expect(aptInstallPlan(18, bookworm)).toEqual({
      commands: [
        {
          cmd: 'apt-get',
          args: ['install', '-y', '--no-install-recommends', 'ca-certificates', 'curl'],
          ...apt,
          retryAfterUpdate: true,
        },
        { cmd: 'install', args: ['-d', '-m', '0755', '/etc/apt/keyrings'] },
        { cmd: 'curl', args: ['-fsSL', '--retry', '3', '-o', '/etc/apt/keyrings/pgdg.asc', PGDG_KEY_URL] },
        { cmd: 'rm', args: ['-f', '/etc/apt/sources.list.d/pgdg.list'] },
        { cmd: 'tee', args: ['/etc/apt/sources.list.d/pgdg.sources'], input: SOURCES },
        {
          cmd: 'apt-get',
          args: [
            'update',
            '-o',
            'Dir::Etc::SourceList=/etc/apt/sources.list.d/pgdg.sources',
            '-o',
            'Dir::Etc::SourceParts=-',
            '-o',
            'APT::Get::List-Cleanup=0',
          ],
          ...apt,
        },
        {
          cmd: 'apt-get',
          args: ['install', '-y', '--no-install-recommends', 'postgresql-client-18'],
          ...apt,
          retryAfterUpdate: true,
        },
      ],
      fullUpdate: { cmd: 'apt-get', args: ['update'], ...apt },
      binDir: '/usr/lib/postgresql/18/bin',
    });
    expect(PGDG_KEY_URL).toBe('https://www.postgresql.org/media/keys/ACCC4CF8.asc');
  });

  it('prefixes every command with sudo -n when not root, passing the apt environment through env', () => {
    const plan = aptInstallPlan(18, { ...bookworm, root: false });
    const lines = plan.commands.map((c) => [c.cmd, ...c.args].join(' '));
    expect(lines).toEqual([
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl',
      'sudo -n install -d -m 0755 /etc/apt/keyrings',
      `sudo -n curl -fsSL --retry 3 -o /etc/apt/keyrings/pgdg.asc ${PGDG_KEY_URL}`,
      'sudo -n rm -f /etc/apt/sources.list.d/pgdg.list',
      'sudo -n tee /etc/apt/sources.list.d/pgdg.sources',
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -o Dir::Etc::SourceList=/etc/apt/sources.list.d/pgdg.sources -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0',
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-client-18',
    ]);
    expect(plan.commands.every((c) => c.env === undefined)).toBe(true);
    expect(plan.commands[4]!.input).toBe(SOURCES);
    expect([plan.fullUpdate.cmd, ...plan.fullUpdate.args].join(' ')).toBe(
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update',
    );
  });

  it('writes the codename and architecture into the source and refuses odd ones', () => {
    const plan = aptInstallPlan(16, { codename: 'noble', arch: 'arm64', root: true });
    expect(plan.commands[4]!.input).toContain('Suites: noble-pgdg\n');
    expect(plan.commands[4]!.input).toContain('Architectures: arm64\n');
    expect(plan.commands[6]!.args.at(-1)).toBe('postgresql-client-16');
    expect(() => aptInstallPlan(18, { ...bookworm, codename: 'bookworm main\nX' })).toThrow(ConfigurationError);
    expect(() => aptInstallPlan(18, { ...bookworm, arch: '' })).toThrow(ConfigurationError);
  });
});

describe('cache key and paths', () => {
  it('names the major, codename, runner architecture and scheme', () => {
    expect(cacheKey(18, bookworm)).toBe('opskit-pg-client-18-bookworm-x64-v1');
    expect(cacheKey(17, { codename: 'noble', arch: 'arm64' })).toBe('opskit-pg-client-17-noble-arm64-v1');
    expect(cacheKey(18, bookworm, 'v2')).toBe('opskit-pg-client-18-bookworm-x64-v2');
  });

  it('caches one private, user-owned directory per major', () => {
    expect(cachePaths(18, '/opt/hostedtoolcache')).toEqual(['/opt/hostedtoolcache/opskit-pg-client/18']);
  });
});

describe('createInstaller', () => {
  /** A fake system: "apt-get install postgresql-client-N" creates the files the package would. */
  function aptSystem(fsRoot: string, version: string, options: { failFirstInstall?: boolean } = {}) {
    let failed = false;
    return fakeRunner({
      realUnder: root,
      handle: async ({ cmd, args }) => {
        const argv =
          cmd === 'sudo'
            ? args.slice(1).filter((a, i) => !(i === 0 && a === 'env') && !/^[A-Z_]+=/.test(a))
            : [cmd, ...args];
        const pkg = argv[0] === 'apt-get' && argv[1] === 'install' ? argv.at(-1) : undefined;
        const major = /^postgresql-client-(\d+)$/.exec(pkg ?? '')?.[1];
        if (major) {
          if (options.failFirstInstall && !failed) {
            failed = true;
            return { code: 100, stdout: '', stderr: 'E: Unable to locate package ' + pkg };
          }
          await fakeClientDir(path.join(fsRoot, `usr/lib/postgresql/${major}/bin`), version);
          const libDir = path.join(fsRoot, 'usr/lib/x86_64-linux-gnu');
          await mkdir(libDir, { recursive: true });
          await writeFile(path.join(libDir, `libpq.so.5.${major}`), `libpq ${version}`);
          await rm(path.join(libDir, 'libpq.so.5'), { force: true });
          await symlink(`libpq.so.5.${major}`, path.join(libDir, 'libpq.so.5'));
        }
        return { code: 0, stdout: '', stderr: '' };
      },
    });
  }

  /** Stores saved directories in memory-ish (a temp dir per key) and restores them. */
  function fakeCache(store: string): CacheLike & { log: string[] } {
    const log: string[] = [];
    return {
      log,
      async restore(paths, key) {
        log.push(`restore ${key} ${paths.join(',')}`);
        const saved = path.join(store, key);
        if (!existsSync(saved)) return undefined;
        await cp(saved, paths[0]!, { recursive: true });
        return key;
      },
      async save(paths, key) {
        log.push(`save ${key} ${paths.join(',')}`);
        await cp(paths[0]!, path.join(store, key), { recursive: true });
      },
    };
  }

  const systemCommands = (calls: Call[]) =>
    calls.filter((c) => !c.cmd.startsWith(root)).map((c) => [c.cmd, ...c.args].join(' '));

  it('on a cache miss runs the apt plan, then saves a private copy under the same key', async () => {
    const fsRoot = path.join(root, 'inst-miss/sys');
    const toolRoot = path.join(root, 'inst-miss/tools');
    const cache = fakeCache(path.join(root, 'inst-miss/store'));
    const run = aptSystem(fsRoot, '18.1 (Debian 18.1-1.pgdg120+2)');
    const installer = createInstaller({ run, os: bookworm, logger: silentLogger, cache, toolRoot, fsRoot });

    const binDir = await installer.install(18);

    expect(binDir).toBe(path.join(fsRoot, 'usr/lib/postgresql/18/bin'));
    const key = 'opskit-pg-client-18-bookworm-x64-v1';
    const toolDir = path.join(toolRoot, 'opskit-pg-client/18');
    expect(cache.log).toEqual([`restore ${key} ${toolDir}`, `save ${key} ${toolDir}`]);
    const plan = aptInstallPlan(18, bookworm);
    expect(systemCommands(run.calls)).toEqual(plan.commands.map((c) => [c.cmd, ...c.args].join(' ')));
    const tee = run.calls.find((c) => c.cmd === 'tee');
    expect(tee?.opts?.input).toBe(SOURCES);
    expect(run.calls.find((c) => c.cmd === 'apt-get')?.opts?.env).toEqual({ DEBIAN_FRONTEND: 'noninteractive' });
    // The private copy: the package's bin dir and the libpq it brought.
    expect(await readFile(path.join(toolDir, 'lib/libpq.so.5'), 'utf8')).toBe('libpq 18.1 (Debian 18.1-1.pgdg120+2)');
    expect(existsSync(path.join(toolDir, 'bin/pg_restore'))).toBe(true);
  });

  it('on a cache hit skips apt entirely and returns the restored copy, which runs with its libpq', async () => {
    const store = path.join(root, 'inst-hit/store');
    // Fill the cache the way a first run would.
    const first = createInstaller({
      run: aptSystem(path.join(root, 'inst-hit/sys1'), '18.1'),
      os: bookworm,
      logger: silentLogger,
      cache: fakeCache(store),
      toolRoot: path.join(root, 'inst-hit/tools1'),
      fsRoot: path.join(root, 'inst-hit/sys1'),
    });
    await first.install(18);

    // A fresh machine: same toolRoot layout, nothing installed.
    const toolRoot = path.join(root, 'inst-hit/tools2');
    const run = aptSystem(path.join(root, 'inst-hit/sys2'), '18.1');
    const cache = fakeCache(store);
    const logger = memoryLogger();
    const installer = createInstaller({
      run,
      os: bookworm,
      logger,
      cache,
      toolRoot,
      fsRoot: path.join(root, 'inst-hit/sys2'),
    });
    const binDir = await installer.install(18);

    const toolDir = path.join(toolRoot, 'opskit-pg-client/18');
    expect(binDir).toBe(path.join(toolDir, 'bin'));
    expect(cache.log).toEqual([`restore opskit-pg-client-18-bookworm-x64-v1 ${toolDir}`]);
    expect(systemCommands(run.calls)).toEqual([]);
    expect(run.calls.map((c) => c.cmd)).toEqual([path.join(toolDir, 'bin/pg_dump')]);
    expect(run.calls[0]!.opts?.env?.LD_LIBRARY_PATH?.split(':')[0]).toBe(path.join(toolDir, 'lib'));
    expect(logger.lines).toContain(
      'info: Restored postgresql-client-18 from the cache (opskit-pg-client-18-bookworm-x64-v1)',
    );

    // Through resolvePgClient, the client carries the environment its tools need.
    const client: PgClient = await resolvePgClient({ kind: 'auto' }, 18, {
      logger: silentLogger,
      searchDirs: [],
      installer,
      platform: 'linux',
    });
    expect([client.binDir, client.major]).toEqual([path.join(toolDir, 'bin'), 18]);
    expect(client.env?.LD_LIBRARY_PATH?.split(':')[0]).toBe(path.join(toolDir, 'lib'));
  });

  it('a restored copy of the wrong version is not used: apt runs', async () => {
    const toolRoot = path.join(root, 'inst-bad/tools');
    const fsRoot = path.join(root, 'inst-bad/sys');
    const store = path.join(root, 'inst-bad/store');
    const saved = path.join(store, 'opskit-pg-client-18-bookworm-x64-v1');
    await fakeClientDir(path.join(saved, 'bin'), '17.6');
    const cache = fakeCache(store);
    const run = aptSystem(fsRoot, '18.1');
    const logger = memoryLogger();
    const binDir = await createInstaller({ run, os: bookworm, logger, cache, toolRoot, fsRoot }).install(18);
    expect(binDir).toBe(path.join(fsRoot, 'usr/lib/postgresql/18/bin'));
    expect(systemCommands(run.calls)).toContain('apt-get install -y --no-install-recommends postgresql-client-18');
    expect(logger.lines.some((l) => l.startsWith('warning: The cached postgresql-client-18'))).toBe(true);
  });

  it('without a cache, installs with sudo and does not copy anything', async () => {
    const fsRoot = path.join(root, 'inst-nocache/sys');
    const toolRoot = path.join(root, 'inst-nocache/tools');
    const run = aptSystem(fsRoot, '17.6');
    const osInfo = { ...bookworm, root: false };
    const binDir = await createInstaller({ run, os: osInfo, logger: silentLogger, toolRoot, fsRoot }).install(17);
    expect(binDir).toBe(path.join(fsRoot, 'usr/lib/postgresql/17/bin'));
    expect(systemCommands(run.calls)).toEqual(
      aptInstallPlan(17, osInfo).commands.map((c) => [c.cmd, ...c.args].join(' ')),
    );
    expect(existsSync(toolRoot)).toBe(false);
  });

  it('retries a failed apt-get install once after a full apt-get update', async () => {
    const fsRoot = path.join(root, 'inst-retry/sys');
    const run = aptSystem(fsRoot, '18.1', { failFirstInstall: true });
    await createInstaller({
      run,
      os: bookworm,
      logger: silentLogger,
      fsRoot,
      toolRoot: path.join(root, 'inst-retry/t'),
    }).install(18);
    expect(systemCommands(run.calls).slice(-3)).toEqual([
      'apt-get install -y --no-install-recommends postgresql-client-18',
      'apt-get update',
      'apt-get install -y --no-install-recommends postgresql-client-18',
    ]);
  });

  it('reports a failed command with its exit code and output', async () => {
    const run = fakeRunner({
      handle: ({ cmd }) =>
        cmd === 'curl'
          ? { code: 6, stdout: '', stderr: 'curl: (6) Could not resolve host: www.postgresql.org' }
          : { code: 0, stdout: '', stderr: '' },
    });
    const installer = createInstaller({
      run,
      os: bookworm,
      logger: silentLogger,
      toolRoot: path.join(root, 'inst-fail'),
    });
    const err = await installer.install(18).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as Error).message).toBe(
      `\`curl -fsSL --retry 3 -o /etc/apt/keyrings/pgdg.asc ${PGDG_KEY_URL}\` exited with code 6: curl: (6) Could not resolve host: www.postgresql.org`,
    );
    expect(run.calls.some((c) => c.cmd === 'apt-get' && c.args[0] === 'update')).toBe(false);
  });
});

describe('detectOs', () => {
  const dpkg = (arch: string) =>
    fakeRunner({
      handle: ({ cmd, args }) =>
        cmd === 'dpkg' && args[0] === '--print-architecture' ? { code: 0, stdout: `${arch}\n`, stderr: '' } : undefined,
    });

  it('reads the codename from os-release and the architecture from dpkg', async () => {
    const file = path.join(root, 'os-release-bookworm');
    await writeFile(
      file,
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
    );
    const run = dpkg('amd64');
    expect(await detectOs(run, { osReleasePath: file, root: false })).toEqual({
      codename: 'bookworm',
      arch: 'amd64',
      root: false,
    });
    expect(run.calls).toEqual([{ cmd: 'dpkg', args: ['--print-architecture'] }]);
  });

  it('falls back to UBUNTU_CODENAME and refuses non-Debian systems', async () => {
    const ubuntu = path.join(root, 'os-release-ubuntu');
    await writeFile(ubuntu, 'NAME="Ubuntu"\nUBUNTU_CODENAME=noble\n');
    expect((await detectOs(dpkg('arm64'), { osReleasePath: ubuntu, root: true })).codename).toBe('noble');
    const fedora = path.join(root, 'os-release-fedora');
    await writeFile(fedora, 'NAME="Fedora Linux"\nVERSION_ID=40\n');
    await expect(detectOs(dpkg('amd64'), { osReleasePath: fedora })).rejects.toThrow(ConfigurationError);
    await expect(detectOs(dpkg('amd64'), { osReleasePath: path.join(root, 'absent') })).rejects.toThrow(
      /cannot install the PostgreSQL client automatically/,
    );
    await expect(detectOs(fakeRunner(), { osReleasePath: ubuntu })).rejects.toThrow(/dpkg --print-architecture/);
  });

  it('parses quoted os-release values', () => {
    expect(parseOsRelease('A="x \\"y\\""\nB=\'z\'\n# c\nC=plain\n')).toEqual({ A: 'x "y"', B: 'z', C: 'plain' });
  });
});

describe('defaultRunner', () => {
  it('runs argument arrays without a shell, feeds stdin, merges env and reports start failures as 127', async () => {
    const echoed = await defaultRunner('printf', ['%s|', 'a b', '$HOME', ';rm -rf x']);
    expect(echoed).toEqual({ code: 0, stdout: 'a b|$HOME|;rm -rf x|', stderr: '' });
    expect((await defaultRunner('cat', [], { input: 'from stdin\n' })).stdout).toBe('from stdin\n');
    const env = await defaultRunner('sh', ['-c', 'echo "$OPSKIT_X:${PATH:+path}"'], { env: { OPSKIT_X: 'y' } });
    expect(env.stdout).toBe('y:path\n');
    expect((await defaultRunner('sh', ['-c', 'exit 3'])).code).toBe(3);
    const missing = await defaultRunner(path.join(root, 'no-such-binary'), []);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});
