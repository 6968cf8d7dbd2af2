/**
 * blue-green-switch under load: a real nginx (temp prefix, loopback) in front of two local backends that
 * answer with their colour, wrk driving traffic through nginx for the whole of a `10,50,100` switch run by the
 * real bundle (dist/blue-green-switch/index.js under Node 24). Reports requests a second, non-2xx answers,
 * socket errors and the switch's wall time (and what it took beyond the bake time).
 *
 * Cases, each run RUNS times, interleaved:
 *   (a) wrk, a new connection per request (`Connection: close`): what any client sees from the switch itself.
 *   (b) wrk, keep-alive: nginx closes its old workers' idle client connections on every reload, and wrk (unlike
 *       browsers and curl) does not retry a request that fails on such a connection; its "read" errors count them.
 *
 * Run alone: node bench/blue-green.js [--runs N] [--json]. Needs nginx and wrk (Debian: nginx-light, wrk).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, isMain, median, node24, root, table } from './lib.js';

export const NGINX = '/usr/sbin/nginx';
export const WRK = '/usr/bin/wrk';
export const BUNDLE = path.join(root, 'dist/blue-green-switch/index.js');
export const STEPS = '10,50,100';
export const BAKE_S = 3;
export const RUNS = 3;
export const WRK_THREADS = 2;
export const WRK_CONNECTIONS = 16;

export const CASES = [
  { id: 'a', label: 'wrk, new connection per request', keepAlive: false },
  { id: 'b', label: 'wrk, keep-alive (no retry)', keepAlive: true },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const open = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

async function startBackend(colour) {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"healthy"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${colour}\n`);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

/** nginx with a temp prefix; `upstream app` lives in conf.d/app-upstream.conf (the file the action owns). */
async function startNginx(blueServer) {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-nginx-'));
  for (const d of ['conf.d', 'logs', 'tmp']) await mkdir(path.join(prefix, d));
  const port = await freePort();
  const p = (n) => path.join(prefix, n);
  const upstreamFile = p('conf.d/app-upstream.conf');
  await writeFile(upstreamFile, `upstream app {\n    server ${blueServer};\n}\n`);
  await writeFile(
    p('nginx.conf'),
    `worker_processes 2;
pid ${p('nginx.pid')};
error_log ${p('logs/error.log')} notice;
events { worker_connections 4096; }
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
        }
    }
}
`,
  );
  const args = ['-e', p('logs/error.log'), '-p', prefix, '-c', p('nginx.conf')];
  const child = spawn(NGINX, [...args, '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitForPort(port);
  return {
    url: `http://127.0.0.1:${port}/`,
    upstreamFile,
    testCommand: [NGINX, ...args, '-t'].join(' '),
    reloadCommand: [NGINX, ...args, '-s', 'reload'].join(' '),
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/** wrk until stopped (SIGINT makes it print its report); parses that report. */
function startWrk(url, keepAlive) {
  const args = ['-t', String(WRK_THREADS), '-c', String(WRK_CONNECTIONS), '-d', '600s'];
  if (!keepAlive) args.push('-H', 'Connection: close');
  const child = spawn(WRK, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const closed = new Promise((resolve) => child.once('close', resolve));
  return {
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
      return parseWrk(out);
    },
  };
}

export function parseWrk(text) {
  const num = (re) => Number(re.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const requests = num(/(\d+) requests in/);
  const seconds = Number(/requests in ([\d.]+)(ms|s|m)/.exec(text)?.[1] ?? 0);
  const unit = /requests in [\d.]+(ms|s|m)/.exec(text)?.[1];
  return {
    requests,
    seconds: unit === 'ms' ? seconds / 1000 : unit === 'm' ? seconds * 60 : seconds,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    connectErrors: socket ? Number(socket[1]) : 0,
    readErrors: socket ? Number(socket[2]) : 0,
    writeErrors: socket ? Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
    raw: text,
  };
}

async function runSwitch(nginx, blue, green, to) {
  const work = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-bg-'));
  const outputFile = path.join(work, 'output');
  await writeFile(outputFile, '');
  await writeFile(path.join(work, 'summary.md'), '');
  const inputs = {
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    to,
    steps: STEPS,
    'bake-time': `${BAKE_S}s`,
    'health-successes': '2',
    'verify-url': nginx.url,
    'verify-expect': to,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
  };
  const env = cleanEnv({
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'),
    RUNNER_TEMP: work,
  });
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  const child = spawn(node24().path, [BUNDLE], { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.once('close', resolve));
  const wallMs = performance.now() - started;
  const outputs = await readFile(outputFile, 'utf8');
  await rm(work, { recursive: true, force: true });
  if (code !== 0) throw new Error(`the switch to ${to} failed (${code}):\n${out}`);
  return { wallMs, outputs };
}

export async function benchBlueGreen({ runs = RUNS, log = () => {} } = {}) {
  for (const tool of [NGINX, WRK, BUNDLE]) if (!existsSync(tool)) throw new Error(`${tool} is missing`);
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const nginx = await startNginx(blue.server);
  const results = CASES.map((c) => ({ ...c, runs: [] }));
  let to = 'green';
  try {
    for (let round = 1; round <= runs; round++) {
      for (const c of results) {
        log(`round ${round}/${runs}: (${c.id}) ${c.label}: switching to ${to} (${STEPS}, bake ${BAKE_S}s)`);
        const wrk = startWrk(nginx.url, c.keepAlive);
        await new Promise((r) => setTimeout(r, 500)); // wrk at full speed before the switch starts
        const sw = await runSwitch(nginx, blue, green, to);
        await new Promise((r) => setTimeout(r, 500));
        const stats = await wrk.stop();
        c.runs.push({ ...stats, raw: undefined, switchMs: sw.wallMs, to });
        log(
          `  ${Math.round(stats.rps)} req/s, ${stats.requests} requests, non-2xx ${stats.non2xx}, ` +
            `socket errors connect ${stats.connectErrors} read ${stats.readErrors} write ${stats.writeErrors} timeout ${stats.timeouts}, ` +
            `switch ${Math.round(sw.wallMs)} ms`,
        );
        to = to === 'green' ? 'blue' : 'green';
      }
    }
  } finally {
    await nginx.stop();
    await blue.close();
    await green.close();
  }
  const bakeMs = 3 * BAKE_S * 1000;
  return {
    steps: STEPS,
    bakeSeconds: BAKE_S,
    cases: results.map((c) => {
      const sum = (k) => c.runs.reduce((a, r) => a + r[k], 0);
      return {
        id: c.id,
        label: c.label,
        runs: c.runs,
        medianRps: median(c.runs.map((r) => r.rps)),
        requests: sum('requests'),
        non2xx: sum('non2xx'),
        errors: sum('connectErrors') + sum('readErrors') + sum('writeErrors') + sum('timeouts'),
        readErrors: sum('readErrors'),
        medianSwitchMs: median(c.runs.map((r) => r.switchMs)),
        medianOverheadMs: median(c.runs.map((r) => r.switchMs)) - bakeMs,
      };
    }),
  };
}

export function blueGreenTable(result) {
  return table(
    [
      'case',
      'median req/s',
      'requests (all runs)',
      'non-2xx',
      'socket errors',
      'median switch time',
      'beyond the bakes',
    ],
    result.cases.map((c) => [
      `(${c.id}) ${c.label}`,
      String(Math.round(c.medianRps)),
      String(c.requests),
      String(c.non2xx),
      c.errors === c.readErrors ? `${c.errors}${c.errors ? ' (read)' : ''}` : String(c.errors),
      `${(c.medianSwitchMs / 1000).toFixed(1)} s`,
      `${(c.medianOverheadMs / 1000).toFixed(1)} s`,
    ]),
  );
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : RUNS;
  const result = await benchBlueGreen({ runs, log: (m) => console.error(m) });
  if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `blue-green-switch ${result.steps} (bake ${result.bakeSeconds}s each) under wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS}, Node ${node24().version}, ${os.cpus().length} CPUs\n`,
    );
    console.log(blueGreenTable(result));
  }
}
