/**
 * Shared helpers for the benchmarks: the Node 24 binary, timed child processes, medians.
 * Plain JavaScript ESM so that `node bench/run.js` works on Node 20 without a TypeScript loader.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
