/**
 * A real nginx on loopback with a temp prefix (config, pid, logs and temp paths all inside it), whose
 * `location /` proxies to `upstream app` defined in an included file: the file blue-green-switch owns.
 * Plus backends that answer with their colour, whose health can be turned off and which can be killed.
 * `stop()` ends nginx (its workers too) and removes the temp dir.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { runProcess, startProcess, type Started } from './process.js';
import { tempDir } from './tmp.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxServer {
  prefix: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The included upstream file (`<prefix>/conf.d/app-upstream.conf`). */
  upstreamFile: string;
  /** `nginx … -t` and `nginx … -s reload` for this instance, as command lines for the action's inputs. */
  testCommand: string;
  reloadCommand: string;
  /** The same, as argument arrays. */
  args: string[];
  errorLog(): Promise<string>;
  readUpstream(): Promise<string>;
  /** Ends nginx (SIGQUIT, then SIGTERM/SIGKILL) and removes the prefix; safe to call twice. */
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** The upstream file's first content (default: `upstream app` with `servers`). */
  upstream?: string;
  servers?: string[];
  workers?: number;
}

export async function startNginx(options: NginxOptions = {}): Promise<NginxServer> {
  const tmp = await tempDir('opskit-nginx-');
  const prefix = tmp.path;
  const conf = path.join(prefix, 'nginx.conf');
  const confD = path.join(prefix, 'conf.d');
  const upstreamFile = path.join(confD, 'app-upstream.conf');
  const errorLog = path.join(prefix, 'logs', 'error.log');
  await mkdir(confD, { recursive: true });
  await mkdir(path.join(prefix, 'logs'), { recursive: true });
  await mkdir(path.join(prefix, 'tmp'), { recursive: true });
  const initial =
    options.upstream ?? `upstream app {\n${(options.servers ?? []).map((s) => `    server ${s};\n`).join('')}}\n`;
  await writeFile(upstreamFile, initial);
  const args = ['-e', errorLog, '-p', prefix, '-c', conf];
  let server: Started | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(conf, nginxConf(prefix, port, options.workers ?? 2));
      server = startProcess(NGINX, [...args, '-g', 'daemon off;'], { cwd: prefix });
      const started = server;
      const exited = new Promise<false>((resolve) => started.child.once('exit', () => resolve(false)));
      const ready = await Promise.race([waitForPort(port).then(() => true), exited]);
      if (ready) {
        let stopped: Promise<void> | undefined;
        return {
          prefix,
          port,
          url: `http://127.0.0.1:${port}`,
          upstreamFile,
          testCommand: [NGINX, ...args, '-t'].join(' '),
          reloadCommand: [NGINX, ...args, '-s', 'reload'].join(' '),
          args,
          errorLog: () => readFile(errorLog, 'utf8').catch(() => ''),
          readUpstream: () => readFile(upstreamFile, 'utf8'),
          stop: () =>
            (stopped ??= (async () => {
              const workers = await childPids(started.child.pid);
              await started.stop('SIGQUIT');
              await killLeftovers(workers);
              await tmp.cleanup();
            })()),
        };
      }
      const log = await readFile(errorLog, 'utf8').catch(() => '');
      if (attempt < 3 && /Address already in use/i.test(log + started.output())) continue;
      throw new Error(`nginx exited before listening:\n${started.output()}\n${log}`);
    }
  } catch (error) {
    await server?.stop();
    await tmp.cleanup();
    throw error;
  }
}

function nginxConf(prefix: string, port: number, workers: number): string {
  const p = (name: string) => path.join(prefix, name);
  return `# opskit test nginx (temp prefix ${prefix})
worker_processes ${workers};
pid ${p('nginx.pid')};
error_log ${p('logs/error.log')} notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${p('tmp/body')};
    proxy_temp_path ${p('tmp/proxy')};
    fastcgi_temp_path ${p('tmp/fastcgi')};
    uwsgi_temp_path ${p('tmp/uwsgi')};
    scgi_temp_path ${p('tmp/scgi')};
    include ${p('conf.d')}/*.conf;
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 2s;
        }
    }
}
`;
}

async function childPids(pid: number | undefined): Promise<number[]> {
  if (!pid) return [];
  const r = await runProcess('pgrep', ['-P', String(pid)]);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** A master stopped by SIGKILL (after 5 s) leaves its workers behind: end them too. */
async function killLeftovers(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 0);
    } catch {
      continue; // gone
    }
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('nginx')) process.kill(pid, 'SIGKILL');
  }
}

export interface ColourBackend {
  colour: string;
  version: string;
  server: string;
  port: number;
  /** Answers of / and of /health. */
  requests: number;
  /** /health answers 503 while false. */
  setHealthy(healthy: boolean): void;
  /** Closes the listener and every connection (the process "dies"). */
  kill(): Promise<void>;
}

/** A backend whose `/` answers `<colour> <version>` and `/health` 200 `{"status":"healthy"}`. */
export async function startColourBackend(colour: string, version: string): Promise<ColourBackend> {
  let healthy = true;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (req.url === '/health') {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: healthy ? 'healthy' : 'unhealthy', colour }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-colour': colour });
    res.end(`${colour} ${version}\n`);
  });
  server.keepAliveTimeout = 65_000; // longer than nginx keeps idle upstream connections (60s)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    colour,
    version,
    server: `127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    setHealthy: (h) => void (healthy = h),
    kill: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

export interface LoadStats {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Keep-alive mode: requests retried on a new connection after a reused one failed before any answer. */
  retried: number;
  byColour: Record<string, number>;
  samples: string[];
  durationMs: number;
}

/**
 * A steady load through `url` at `rate` requests a second until `stop()`. `keepAlive: false` opens a
 * connection per request; `keepAlive: true` reuses connections and, like browsers and curl, retries a GET
 * once on a new connection when a reused one fails before any answer.
 */
export function startLoad(url: string, { rate, keepAlive }: { rate: number; keepAlive: boolean }) {
  const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 32 }) : undefined;
  const stats: LoadStats = {
    requests: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    retried: 0,
    byColour: {},
    samples: [],
    durationMs: 0,
  };
  const started = performance.now();
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const finish = () => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };
  const one = (fresh: boolean) => {
    inFlight++;
    const req = http.get(
      url,
      { agent: fresh || !agent ? false : agent, headers: fresh || !agent ? { connection: 'close' } : {} },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          stats.requests++;
          if (res.statusCode! >= 200 && res.statusCode! < 300) stats.ok++;
          else {
            stats.non2xx++;
            if (stats.samples.length < 5) stats.samples.push(`${res.statusCode} ${body.slice(0, 80)}`);
          }
          const colour = body.split(' ')[0] ?? '';
          stats.byColour[colour] = (stats.byColour[colour] ?? 0) + 1;
          finish();
        });
        res.on('error', (err) => {
          stats.requests++;
          stats.errors++;
          if (stats.samples.length < 5) stats.samples.push(`response: ${err.message}`);
          finish();
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10s')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!fresh && req.reusedSocket && ['ECONNRESET', 'EPIPE'].includes(err.code ?? '')) {
        stats.retried++;
        one(true);
      } else {
        stats.requests++;
        stats.errors++;
        if (stats.samples.length < 5) stats.samples.push(`${err.code ?? ''} ${err.message}`);
      }
      finish();
    });
  };
  let credit = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    credit += ((now - last) / 1000) * rate;
    last = now;
    for (; credit >= 1; credit--) one(false);
  }, 5);
  return {
    stats,
    async stop(): Promise<LoadStats> {
      clearInterval(timer);
      stats.durationMs = performance.now() - started;
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      agent?.destroy();
      return stats;
    },
  };
}

/**
 * `n` GETs of `url`, 20 at a time on keep-alive connections; the count of answers per colour (the body's
 * first word). Like a browser, a GET that fails on a reused connection (nginx closes idle ones when a
 * reload retires its workers) is retried once on a new connection.
 */
export async function sampleColours(url: string, n: number): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const counts: Record<string, number> = {};
  const get = (fresh: boolean) =>
    new Promise<string>((resolve, reject) => {
      const req = http.get(url, { agent: fresh ? false : agent }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 ? b : `status-${res.statusCode}`));
      });
      req.on('error', (err) => (!fresh && req.reusedSocket ? get(true).then(resolve, reject) : reject(err)));
    });
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const colour = (await get(false)).split(' ')[0]!.trim();
      counts[colour] = (counts[colour] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: 20 }, worker));
  } finally {
    agent.destroy();
  }
  return counts;
}
