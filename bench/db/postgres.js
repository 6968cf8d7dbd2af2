/** A throwaway PostgreSQL cluster for the db bench, as test/harness/postgres.ts starts it. */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, cleanupOnSignal, freePort, mustRun, procChildren, procStat, run } from '../lib.js';
import { isRoot, PG_USER } from './config.js';

function newestBinDir() {
  const base = '/usr/lib/postgresql';
  const dirs = existsSync(base)
    ? readdirSync(base)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a))
        .map((d) => path.join(base, d, 'bin'))
    : [];
  const dir = dirs.find((d) => existsSync(path.join(d, 'initdb')));
  if (!dir) throw new Error(`no PostgreSQL server: no ${base}/*/bin/initdb (apt-get install postgresql)`);
  return dir;
}

/** Settings for speed: the database is generated and thrown away; both sides of every comparison share them. */
function serverSettings(socketDir) {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    wal_level: 'minimal',
    max_wal_senders: '0',
    max_wal_size: '16GB',
    checkpoint_timeout: '1h',
    shared_buffers: '1GB',
    maintenance_work_mem: '512MB',
    work_mem: '64MB',
    autovacuum: 'off',
  };
}

export async function startPostgres({ log = () => {} } = {}) {
  const binDir = newestBinDir();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const pwFile = path.join(dir, 'pwfile');
  const password = randomBytes(18).toString('hex');
  const pgCtl = path.join(binDir, 'pg_ctl');
  const serverEnv = { ...cleanEnv(), LC_ALL: 'C' };
  const asServer = (command, args) =>
    isRoot()
      ? run('runuser', ['-u', 'postgres', '--', command, ...args], { cwd: dir, env: serverEnv })
      : run(command, args, { cwd: dir, env: serverEnv });
  let started = false;
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (started) {
        let r = await asServer(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
        if (r.code !== 0) r = await asServer(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        if (r.code !== 0 && (await asServer(pgCtl, ['-D', dataDir, 'status'])).code !== 3) {
          throw new Error(`pg_ctl stop failed (${dir} kept): ${r.stderr}`);
        }
        started = false;
      }
      await rm(dir, { recursive: true, force: true });
    })());
  const unregister = cleanupOnSignal(stop);
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (isRoot()) await mustRun('chown', ['-R', 'postgres:postgres', dir]);
    const init = await asServer(path.join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      PG_USER,
      `--pwfile=${pwFile}`,
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '-N',
    ]);
    await rm(pwFile, { force: true });
    if (init.code !== 0) throw new Error(`initdb failed (${init.code}): ${init.stderr || init.stdout}`);
    const major = Number((await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim());
    const settings = serverSettings(dir);
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = '${v}'\n`)
      .join('');
    await appendFile(path.join(dataDir, 'postgresql.conf'), `\n# opskit bench\n${conf}`);
    let port;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const r = await asServer(pgCtl, ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', 'start']);
      if (r.code === 0) break;
      const text = await readFile(logFile, 'utf8').catch(() => '');
      if (attempt < 3 && /could not bind|Address already in use/i.test(text)) continue;
      throw new Error(`pg_ctl start failed (${r.code}): ${r.stderr}\n${text}`);
    }
    started = true;
    const clientEnv = {};
    for (const [k, v] of Object.entries(cleanEnv())) if (!k.startsWith('PG')) clientEnv[k] = v;
    Object.assign(clientEnv, { PGPASSWORD: password, PGCONNECT_TIMEOUT: '10', LC_ALL: 'C' });
    const conn = ['-h', '127.0.0.1', '-p', String(port), '-U', PG_USER];
    const bin = (name) => path.join(binDir, name);
    const version = (await mustRun(bin('postgres'), ['--version'])).trim().replace(/^postgres \(PostgreSQL\) /, '');
    const server = {
      port,
      major,
      version,
      binDir,
      settings,
      bin,
      conn,
      clientEnv,
      url: (db = 'postgres') => `postgres://${PG_USER}:${password}@127.0.0.1:${port}/${db}`,
      psql: async (sql, db = 'postgres') =>
        (
          await mustRun(bin('psql'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', ...conn, '-d', db, '-f', '-'], {
            env: clientEnv,
            input: sql,
          })
        ).replace(/\n$/, ''),
      /** CPU seconds used so far by the server: the postmaster, its live children, and the children it reaped. */
      cpuSeconds() {
        const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        const own = procStat(pid);
        let total = own ? own.cpuSeconds + own.childCpuSeconds : 0;
        for (const child of procChildren(pid)) {
          const st = procStat(child);
          if (st) total += st.cpuSeconds + st.childCpuSeconds;
        }
        return total;
      },
      stop: async () => {
        await stop();
        unregister();
      },
    };
    log(`db: PostgreSQL ${version} on 127.0.0.1:${port} (${binDir})`);
    return server;
  } catch (err) {
    await stop().catch(() => undefined);
    unregister();
    throw err;
  }
}
