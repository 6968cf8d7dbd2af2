/**
 * The keys an RDB file holds, per database: the file is loaded by a throwaway `redis-server` on loopback (no
 * persistence, a free port, the file's own folder), which is asked `INFO keyspace` and stopped. A backup records
 * these counts in its manifest (what the archive holds, not what the server held a moment before its snapshot), and
 * a restore compares them. Without redis-server installed there is nothing to count with: undefined.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { findOnPath } from '../util/path.js';
import { runTool } from '../util/child.js';
import { sleep } from '../util/time.js';

const LOAD_TIMEOUT_MS = 120_000;

export async function countRdbKeys(file: string): Promise<Record<string, number> | undefined> {
  if (!findOnPath('redis-server') || !findOnPath('redis-cli')) return undefined;
  const port = await freePort();
  const server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      path.dirname(file),
      '--dbfilename',
      path.basename(file),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + LOAD_TIMEOUT_MS;
    for (;;) {
      // PING answers LOADING while the file is read, and fails until the port is open.
      const pong = await runTool('redis-cli', ['-p', String(port), 'PING']).catch(() => '');
      if (pong.trim() === 'PONG') break;
      if (server.exitCode !== null) throw new Error(`redis-server could not load ${path.basename(file)}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not load ${path.basename(file)} within 2 minutes`);
      await sleep(50);
    }
    const info = await runTool('redis-cli', ['-p', String(port), 'INFO', 'keyspace']);
    const keys: Record<string, number> = {};
    for (const m of info.matchAll(/^(db\d+):keys=(\d+)/gm)) keys[m[1]!] = Number(m[2]);
    return keys;
  } finally {
    await stop(server);
  }
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
