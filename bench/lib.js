/**
 * Shared helpers for the benchmarks: the Node 24 binary, timed child processes, medians.
 * Plain JavaScript ESM so that `node bench/run.js` works on Node 20 without a TypeScript loader.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let memo;

/**
 * Path of a Node 24 binary, resolved like test/harness/node24.ts: OPSKIT_NODE24, else the path cached in
 * node_modules/.cache/opskit/node24-path, else `npx -y node@24 -p process.execPath` (not written back:
 * the cache belongs to the test harness).
 */
export function node24() {
  if (memo) return memo;
  let found = process.env.OPSKIT_NODE24;
  const cacheFile = path.join(root, 'node_modules/.cache/opskit/node24-path');
  if (!found && existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim();
    if (existsSync(cached)) found = cached;
  }
  if (!found) {
    found = execFileSync('npx', ['-y', 'node@24', '-p', 'process.execPath'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  }
  const version = execFileSync(found, ['--version'], { encoding: 'utf8' }).trim();
  if (!/^v24\./.test(version)) throw new Error(`${found} is ${version}, not Node 24`);
  return (memo = { path: found, version });
}

/**
 * A private copy of a bundle's directory (`dist/<action>/`, its chunks included) under `work`: a rebuild of dist/
 * during a bench run (others may build meanwhile) cannot remove it half-way or mix two versions in one run.
 * Returns the copy's index.js and the first 12 hex digits of its sha256.
 */
export async function privateBundle(work, file) {
  const copy = path.join(work, 'bundles', path.basename(path.dirname(file)));
  await cp(path.dirname(file), copy, { recursive: true });
  const copied = path.join(copy, 'index.js');
  return { path: copied, sha256: createHash('sha256').update(readFileSync(copied)).digest('hex').slice(0, 12) };
}

/** process.env without anything an Actions runner would inject (INPUT_*, GITHUB_*, RUNNER_*), plus `extra`. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(INPUT_|GITHUB_|RUNNER_|ACTIONS_)/i.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Runs a process asynchronously (the event loop stays free, so a server in this process keeps answering)
 * and measures its wall time from spawn to exit.
 */
export function timedRun(command, args, { env, cwd, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const started = performance.now();
    let wallMs;
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', () => (wallMs = performance.now() - started));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, wallMs, stdout, stderr });
    });
  });
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const ms = (v) => `${Math.round(v)} ms`;
export const ratio = (v) => `${v.toFixed(2)}×`;

/** A Markdown table (also readable as plain text in a terminal). */
export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** True when `importMetaUrl` is the script Node was started with. */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes, ports, /proc sampling and clean-up on signals (used by bench/db-backup.js)

/**
 * Runs a process to completion and collects its output; never rejects for a non-zero exit (look at `code`).
 * `input` is written to stdin (stdin is closed otherwise).
 */
export function run(command, args, { env, cwd, input, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(command, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (input !== undefined) child.stdin.end(input);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Like run(), but throws (with stderr) unless the process exits 0; returns stdout. */
export async function mustRun(command, args, options = {}) {
  const r = await run(command, args, options);
  if (r.code !== 0) {
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.code ?? r.signal}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let ticks;
/** Clock ticks per second, the unit of the CPU times in /proc/<pid>/stat. */
export function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

function readProc(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat: comm, ppid, and CPU seconds of the process itself and of its reaped children. */
export function procStat(pid) {
  const text = readProc(`/proc/${pid}/stat`);
  if (!text) return undefined;
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const t = clockTicks();
  return {
    comm,
    ppid: Number(f[1]),
    cpuSeconds: (Number(f[11]) + Number(f[12])) / t,
    childCpuSeconds: (Number(f[13]) + Number(f[14])) / t,
  };
}

/** Direct children of a process (needs /proc/<pid>/task/<pid>/children, Linux 3.5+). */
export function procChildren(pid) {
  const text = readProc(`/proc/${pid}/task/${pid}/children`);
  return text ? text.trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

/** Peak resident set size (VmHWM) of a live process, in KiB. */
export function vmHwmKiB(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The command line of a live process as an argument array. */
export function procCmdline(pid) {
  const text = readProc(`/proc/${pid}/cmdline`);
  return text ? text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) : [];
}

export const GNU_TIME = '/usr/bin/time';

/**
 * Runs a process like timedRun() and watches it through /proc while it runs:
 * - `peakRssKiB`: the process's own peak RSS (VmHWM, polled every `intervalMs`; a high-water mark, so only
 *   growth in the last interval before exit could be missed);
 * - `children`: its direct children (pid, comm, argv, first and last time seen in ms since spawn, CPU seconds
 *   including their own reaped children), so the caller can tell the phases of a run apart;
 * - with GNU time installed the process runs under `/usr/bin/time`, which adds `time`: peak RSS of the
 *   largest process of the tree (`maxRssKiB`), and user+system CPU seconds of the whole tree (`cpuSeconds`).
 * `stdout: 'ignore'` drops the child's stdout instead of collecting it.
 */
export function sampledRun(command, args, { env, cwd, timeoutMs = 3_600_000, intervalMs = 100, stdout = 'pipe' } = {}) {
  const useTime = existsSync(GNU_TIME);
  const timeFile = path.join(os.tmpdir(), `opskit-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const argv = useTime ? ['-f', '%M %e %U %S', '-o', timeFile, command, ...args] : args;
  const unregister = cleanupOnSignal(() => rmSync(timeFile, { force: true }));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const started = performance.now();
    let wallMs;
    const child = spawn(useTime ? GNU_TIME : command, argv, { env, cwd, stdio: ['ignore', stdout, 'pipe'] });
    let target = useTime ? undefined : child.pid;
    let peakRssKiB;
    let targetCpu;
    const children = new Map();
    const sample = () => {
      if (target === undefined) target = procChildren(child.pid)[0];
      if (target === undefined) return;
      const hwm = vmHwmKiB(target);
      if (hwm !== undefined) peakRssKiB = Math.max(peakRssKiB ?? 0, hwm);
      const own = procStat(target);
      if (own) targetCpu = own.cpuSeconds;
      const now = performance.now() - started;
      for (const pid of procChildren(target)) {
        let c = children.get(pid);
        if (!c) {
          const argvOf = procCmdline(pid);
          c = { pid, comm: procStat(pid)?.comm ?? '?', argv: argvOf, firstMs: now, lastMs: now, cpuSeconds: 0 };
          children.set(pid, c);
        }
        c.lastMs = now;
        const st = procStat(pid);
        if (st) {
          // A child seen between fork and exec still shows the parent's name and arguments.
          if (st.comm !== c.comm || c.argv.length === 0) c.argv = procCmdline(pid);
          c.comm = st.comm;
          c.cpuSeconds = st.cpuSeconds + st.childCpuSeconds;
        }
      }
    };
    const poll = setInterval(sample, intervalMs);
    setImmediate(sample);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      clearInterval(poll);
      clearTimeout(timer);
      unregister();
      rmSync(timeFile, { force: true });
      reject(e);
    });
    child.on('exit', () => {
      wallMs = performance.now() - started;
      clearInterval(poll);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      unregister();
      let time;
      if (useTime) {
        const text = readProc(timeFile) ?? '';
        rmSync(timeFile, { force: true });
        // GNU time writes "Command exited with non-zero status N" first when the command failed.
        const m = /(\d+) ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(text.trim());
        if (m) time = { maxRssKiB: Number(m[1]), cpuSeconds: Number(m[3]) + Number(m[4]) };
      }
      resolve({
        code,
        signal,
        wallMs,
        stdout: out,
        stderr: err,
        peakRssKiB,
        targetCpuSeconds: targetCpu,
        children: [...children.values()],
        time,
      });
    });
  });
}

const cleanups = new Set();
let handlersInstalled = false;

/**
 * Registers `fn` to run when the bench is interrupted (SIGINT, SIGTERM, SIGHUP) before it removed it itself:
 * servers are stopped and temp dirs removed even then. Returns the function that unregisters it.
 * Normal and failing runs clean up through try/finally; this covers only the signals.
 */
export function cleanupOnSignal(fn) {
  cleanups.add(fn);
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(sig, async () => {
        console.error(`bench: ${sig}: cleaning up`);
        // The interrupted work fails as its servers go away: keep that from ending the process mid-clean-up.
        const quiet = () => undefined;
        process.on('uncaughtException', quiet);
        process.on('unhandledRejection', quiet);
        for (const f of [...cleanups].reverse())
          await Promise.resolve()
            .then(f)
            .catch(() => undefined);
        process.exit(130);
      });
    }
  }
  return () => cleanups.delete(fn);
}

/** Bytes as MiB with one decimal. */
export const mib = (bytes) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
