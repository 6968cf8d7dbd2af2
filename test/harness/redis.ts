/**
 * A real redis-server on loopback for tests: free port, random password, no persistence, a temp dir as its
 * working dir; `stop()` ends it and removes the temp dir.
 */
import { randomBytes } from 'node:crypto';
import { freePort, waitForPort } from './ports.js';
import { runProcess, startProcess, type Started } from './process.js';
import { tempDir } from './tmp.js';

export interface RedisServer {
  /** `redis://:<password>@127.0.0.1:<port>/0` */
  url: string;
  port: number;
  password: string;
  /** The server's working dir (where SAVE/BGSAVE would write dump.rdb); removed by stop(). */
  dir: string;
  /** Ends the server (SIGTERM, then SIGKILL after 5 s) and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const tmp = await tempDir('opskit-redis-');
  const password = randomBytes(18).toString('hex');
  let server: Started | undefined;
  try {
    // freePort() hands over a port another process may grab first: retry with a fresh one when bind fails.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      server = startProcess(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--requirepass',
          password,
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          tmp.path,
          '--daemonize',
          'no',
        ],
        { cwd: tmp.path },
      );
      const started = server;
      const exited = new Promise<false>((resolve) => started.child.once('exit', () => resolve(false)));
      const spawnFailed = new Promise<Error>((resolve) => started.child.once('error', resolve));
      const ready = await Promise.race([waitForPort(port).then(() => true), exited, spawnFailed]);
      if (ready instanceof Error) throw new Error(`could not run redis-server: ${ready.message}`);
      if (ready) {
        const stop = once(async () => {
          await started.stop();
          await tmp.cleanup();
        });
        return { url: `redis://:${password}@127.0.0.1:${port}/0`, port, password, dir: tmp.path, stop };
      }
      if (attempt < 3 && /Address already in use/i.test(started.output())) continue;
      throw new Error(`redis-server exited before listening:\n${started.output()}`);
    }
  } catch (error) {
    await server?.stop();
    await tmp.cleanup();
    throw error;
  }
}

/**
 * Runs `redis-cli <args>` against `server` (password via REDISCLI_AUTH, not argv) and returns its stdout
 * without the final newline. Throws when the command fails, error replies included (`redis-cli -e`).
 */
export async function redisCli(server: Pick<RedisServer, 'port' | 'password'>, ...args: string[]): Promise<string> {
  const r = await runProcess('redis-cli', ['-e', '-h', '127.0.0.1', '-p', String(server.port), ...args], {
    env: { ...process.env, REDISCLI_AUTH: server.password },
  });
  if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')} failed (${r.code}): ${(r.stderr + r.stdout).trim()}`);
  return r.stdout.replace(/\n$/, '');
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}
