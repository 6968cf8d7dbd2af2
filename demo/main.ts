/**
 * `npm run demo`: the whole deploy checklist live on this machine, without Render, a cloud bucket or GitHub.
 *
 * Starts PostgreSQL, s3rver (the backup bucket), the Render and GitHub simulators and a small sample app, then
 * runs the root action's checklist (its inputs, parseChecklistConfig and checklistSteps: ./checklist.ts) twice: a good release (all green) and a bad release whose smoke
 * test fails (rolled back, incident issue opened in the GitHub simulator). When nginx is installed the app runs
 * as two colours (blue, green) behind a real nginx on loopback, and the checklist switches traffic to the
 * colour that got the release (the blue-green-switch library) before the smoke test, which goes through nginx;
 * the bad release's traffic is switched back. A third run (./promote.ts) promotes 1.1.0 from a staging service to
 * production through a blue-green release (deploy to the idle colour, smoke it, switch), then restores production's
 * database clean with the Render service suspended and resumed. Everything it starts is stopped and every temp
 * dir removed at the end, on an error and on Ctrl-C (SIGINT/SIGTERM exit 130).
 *
 * Flags: `--quiet` (or OPSKIT_DEMO_QUIET=1) prints plain lines instead of a live progress line.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChecklistOptions, type ChecklistResult, runChecklist } from '../src/checklist/run.js';
import { formatChecklistSummary } from '../src/checklist/summary.js';
import type { ChecklistItem } from '../src/checklist/types.js';
import { errorMessage } from '../src/errors.js';
import { runContextFromEnv } from '../src/github/context.js';
import { Inputs } from '../src/inputs.js';
import type { Logger } from '../src/logger.js';
import { NginxProvider } from '../src/nginx/provider.js';
import { findPgClients, resolvePgClient } from '../src/postgres/client.js';
import { parsePgUrl } from '../src/postgres/connection.js';
import { RenderClient } from '../src/render/client.js';
import { LocalHost } from '../src/ssh/host.js';
import { parseBlueGreenConfig, switchOptions } from '../src/switch/config.js';
import { HttpProbe } from '../src/switch/health.js';
import { type Colour, otherColour } from '../src/switch/types.js';
import { startGitHubSim } from '../test/harness/github-sim.js';
import { json, startHttpServer } from '../test/harness/http-server.js';
import { NGINX, startNginx } from '../test/harness/nginx.js';
import { newestSystemBinDir, type PgServer, startPostgres } from '../test/harness/postgres.js';
import { startRenderSim } from '../test/harness/render-sim.js';
import { startS3 } from '../test/harness/s3.js';
import { tempDir } from '../test/harness/tmp.js';
import { backupInputs, demoChecklist, nginxInputs, renderInputs } from './checklist.js';
import { promotionRun } from './promote.js';

/** The repository root (this file is build/demo/demo/main.js once compiled). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Render's OpenAPI spec, vendored (specs/README.md). */
const RENDER_SPEC = path.join(ROOT, 'specs', 'render-openapi.json');
const OUTPUT_DIR = path.join(ROOT, 'demo-output');
const EMBEDDED_MAJOR = 18;

const quiet = process.argv.includes('--quiet') || process.env.OPSKIT_DEMO_QUIET === '1';
const live = !quiet && Boolean(process.stdout.isTTY);

/** A sentence for the person running the demo, instead of a stack trace. */
class DemoError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Output

const out = (line = '') => process.stdout.write(`${line}\n`);

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A live status line on stderr (spinner, elapsed time, bytes) when stdout is a TTY; plain lines otherwise. */
class Progress {
  private timer?: NodeJS.Timeout;
  private label = '';
  private started = 0;
  private bytes?: number;
  private frame = 0;

  start(label: string): void {
    this.stop();
    this.label = label;
    this.started = performance.now();
    this.bytes = undefined;
    if (!live) {
      out(`  … ${label}`);
      return;
    }
    this.timer = setInterval(() => this.draw(), 100);
    this.draw();
  }

  setBytes(bytes: number): void {
    this.bytes = bytes;
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      process.stderr.write('\r\x1b[K');
    }
  }

  private draw(): void {
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    const s = ((performance.now() - this.started) / 1000).toFixed(1);
    const bytes = this.bytes === undefined ? '' : ` — ${formatBytes(this.bytes)} written`;
    process.stderr.write(`\r\x1b[K  ${frames[this.frame++ % frames.length]} ${this.label} ${s}s${bytes}`);
  }
}

const progress = new Progress();

function icon(item: ChecklistItem): string {
  return item.state === 'passed' ? '✅' : item.state === 'failed' ? '❌' : item.state === 'skipped' ? '⏭️ ' : '➖';
}

function itemLine(item: ChecklistItem): string {
  const time = item.seconds === undefined ? '' : ` (${item.seconds}s)`;
  return `${icon(item)} ${item.title}${time}${item.detail ? ` — ${item.detail}` : ''}`;
}

/** Library messages: kept quiet unless they are warnings or errors. */
const logger: Logger = {
  debug() {},
  info() {},
  warning: (m) => out(`  ⚠ ${m}`),
  error: (m) => out(`  ✖ ${m}`),
};

// ---------------------------------------------------------------------------------------------------------------
// Cleanup (normal end, error, SIGINT/SIGTERM)

const cleanups: { name: string; fn: () => Promise<unknown> | unknown }[] = [];
let cleaning: Promise<void> | undefined;

function onCleanup(name: string, fn: () => Promise<unknown> | unknown): void {
  cleanups.push({ name, fn });
}

/** `server` once it has started; the cleanup waits for a start still under way, then stops it. */
function tracked<T extends { stop(): Promise<void> }>(name: string, server: Promise<T>): Promise<T> {
  onCleanup(name, async () => (await server.catch(() => undefined))?.stop());
  return server;
}

function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    progress.stop();
    // Newest first: the app and simulators before the servers their temp dirs belong to. One registered while the
    // cleanup runs (a start that was under way) is taken too.
    for (let next = cleanups.pop(); next; next = cleanups.pop()) {
      try {
        await next.fn();
      } catch (err) {
        process.stderr.write(`demo: could not stop ${next.name}: ${errorMessage(err)}\n`);
      }
    }
  })());
}

/** Aborted on SIGINT/SIGTERM: what is still running stops (run 3's restore) and prints nothing more. */
const interrupted = new AbortController();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted.abort();
    progress.stop();
    process.stderr.write(`\ndemo: ${signal} received, stopping everything it started…\n`);
    const force = setTimeout(() => process.exit(130), 30_000);
    void cleanup().finally(() => {
      clearTimeout(force);
      process.exit(130);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: the system server when installed, else the embedded one (PG 18) when pg_dump can dump it.

async function startDatabase(): Promise<PgServer> {
  let system = true;
  try {
    newestSystemBinDir();
  } catch {
    system = false;
  }
  if (!system) {
    const clients = await findPgClients({ logger });
    const newest = clients[0];
    if (!newest || newest.major < EMBEDDED_MAJOR) {
      throw new DemoError(
        newest
          ? `The demo needs PostgreSQL: install the postgresql package (server and client), or pg_dump ${EMBEDDED_MAJOR} or newer (postgresql-client-${EMBEDDED_MAJOR}) for the embedded server — the pg_dump found is ${newest.version}, which cannot dump PostgreSQL ${EMBEDDED_MAJOR}.`
          : `The demo needs PostgreSQL: install the postgresql package (e.g. apt-get install postgresql, brew install postgresql), or at least pg_dump ${EMBEDDED_MAJOR} or newer (postgresql-client-${EMBEDDED_MAJOR}) to use the embedded server.`,
      );
    }
  }
  return startPostgres({ version: system ? 'system' : 'embedded' });
}

// ---------------------------------------------------------------------------------------------------------------
// The sample app: `/health` reports its release's version and database (503 when unhealthy), `/livez` only that the
// process is up (the blue-green health gate), `/` answers `<name> <version>` (the switch's verify-expect). The
// Render simulator only tracks deploys, so the demo puts a release on an app when its deploy (or rollback) is live.

const RELEASES: Record<string, { database: 'healthy' | 'unhealthy' }> = {
  '1.0.0': { database: 'healthy' },
  '1.1.0': { database: 'healthy' },
  '1.2.0': { database: 'unhealthy' },
};

interface SampleApp {
  /** `blue`, `green`, or `app` without nginx. */
  name: string;
  release: string;
  /** The commit its release was built from, once a deploy said (run 3). */
  commit?: string;
  /** `127.0.0.1:<port>` and `http://127.0.0.1:<port>` */
  server: string;
  url: string;
  stop(): Promise<void>;
}

async function startSampleApp(name: string, release: string): Promise<SampleApp> {
  const colour = name === 'blue' || name === 'green' ? { colour: name } : {};
  const app: SampleApp = { name, release, server: '', url: '', stop: async () => {} };
  const server = await startHttpServer((req, res) => {
    const version = app.release;
    if (req.url === '/livez') return json(res, 200, { status: 'alive', ...colour, version });
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(`${name} ${version}\n`);
    }
    if (req.url !== '/health') return json(res, 404, { error: 'not found' });
    const { database } = RELEASES[version]!;
    const healthy = database === 'healthy';
    json(res, healthy ? 200 : 503, {
      status: healthy ? 'healthy' : 'degraded',
      ...colour,
      version,
      ...(app.commit ? { commit: app.commit } : {}),
      checks: { database },
    });
  });
  Object.assign(app, { server: `127.0.0.1:${server.port}`, url: server.url, stop: server.close });
  return app;
}

// ---------------------------------------------------------------------------------------------------------------
// The demo

async function main(): Promise<number> {
  const t0 = performance.now();
  out('opskit demo — the deploy checklist, live, on this machine (no Render, no cloud bucket, no GitHub)');
  out();
  if (!existsSync(RENDER_SPEC))
    throw new DemoError(`The Render OpenAPI spec the simulator validates against is missing: ${RENDER_SPEC}.`);

  // Blue-green when nginx is installed: the app as two colours behind a real nginx (the tests' harness: temp
  // prefix, loopback); without it, one app that each deploy replaces.
  const blueGreen = existsSync(NGINX);
  // The temp dir exists, and is registered for cleanup, before anything is announced: a Ctrl-C at the first line
  // cannot come while it is being made (it would be made after the cleanup ran, and left behind).
  const work = await tempDir('opskit-demo-');
  onCleanup('the demo temp dir', work.cleanup);
  progress.start(`Starting PostgreSQL, s3rver, the Render and GitHub simulators${blueGreen ? ' and nginx' : ''}`);
  const apps = await Promise.all(
    (blueGreen ? ['blue', 'green'] : ['app']).map((name) => tracked(`the ${name} app`, startSampleApp(name, '1.0.0'))),
  );
  // Each stop is registered before its server is up, so that Ctrl-C during start-up waits for it and stops it.
  const [pg, s3, render, github, nginx] = await Promise.all([
    tracked('PostgreSQL', startDatabase()),
    tracked('s3rver', startS3({ bucket: 'opskit-demo' })),
    tracked('the Render simulator', startRenderSim({ specPath: RENDER_SPEC })),
    tracked('the GitHub simulator', startGitHubSim({ owner: 'acme', name: 'shop' })),
    // A hand-written upstream naming blue's server: blue is live.
    blueGreen ? tracked('nginx', startNginx({ servers: [apps[0]!.server] })) : undefined,
  ]);
  const app = (name: string) => apps.find((a) => a.name === name)!;
  /** The colour with all traffic (blue-green), else the one app. */
  let live = apps[0]!.name;

  progress.stop();
  const ready = ((performance.now() - t0) / 1000).toFixed(1);
  out(`Started in ${ready}s:`);
  out(`  PostgreSQL ${pg.major} on 127.0.0.1:${pg.port}`);
  out(`  s3rver (S3 API) on ${s3.endpoint}, bucket ${s3.bucket}`);
  out(`  Render API simulator on ${render.baseUrl}`);
  out(`  GitHub API simulator on ${github.url} (repository ${github.repo.owner}/${github.repo.name})`);
  if (nginx) {
    out(`  sample app, blue on ${app('blue').url} and green on ${app('green').url} (GET /health, /livez, /), 1.0.0`);
    out(`  nginx on ${nginx.url}: blue has all traffic (upstream file ${nginx.upstreamFile})`);
  } else {
    out(`  sample app on ${apps[0]!.url} (GET /health)`);
    out(
      '  blue-green switch skipped: nginx is not installed (to see it: apt-get install nginx-light, then run the demo again)',
    );
  }
  out();

  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    "CREATE TABLE products (id serial PRIMARY KEY, name text, price_cents int); INSERT INTO products (name, price_cents) SELECT 'product ' || g, g % 9000 + 100 FROM generate_series(1, 50000) g;",
    'shop',
  );
  const migrationsDir = path.join(work.path, 'migrations');
  await mkdir(migrationsDir, { recursive: true });

  const service = render.addService({ name: 'shop-web', url: (nginx ?? apps[0]!).url });
  const host = new LocalHost();
  onCleanup('the nginx host', () => host.close());
  const renderClient = new RenderClient({ baseUrl: render.baseUrl, apiKey: render.apiKey, logger });
  const conn = parsePgUrl('database-url', pg.url('shop'));
  try {
    await resolvePgClient({ kind: 'auto' }, pg.major, { logger });
  } catch (err) {
    throw new DemoError(
      `No pg_dump can back up this PostgreSQL ${pg.major} server: install postgresql-client-${pg.major} or newer (${errorMessage(err)}).`,
    );
  }
  const secrets = [pg.password, render.apiKey, github.token];

  const release = async (n: number, version: string, migration: { file: string; sql: string }) => {
    const previous = app(live).release;
    // The deploy goes to the idle colour (blue-green), else replaces the one app.
    const target = nginx ? app(otherColour(live as Colour)) : apps[0]!;
    out(`━━ Run ${n}: release ${version} (running now: ${previous}${nginx ? ` on ${live}` : ''}) ━━`);
    await writeFile(path.join(migrationsDir, migration.file), migration.sql);
    if (nginx)
      out(
        `  the deploy goes to ${target.name} (idle); the smoke test asks nginx for ${target.name} ${version} (${nginx.url}/health)`,
      );
    render.scriptDeploy(service.id, {
      statuses: [
        { status: 'build_in_progress', ms: 1500 },
        { status: 'update_in_progress', ms: 800 },
        { status: 'live', ms: 100 },
      ],
    });
    const seededRun = github.seedRun({
      workflowName: 'deploy',
      jobs: [{ name: 'deploy', conclusion: 'failure', steps: [{ name: 'checklist', conclusion: 'failure' }] }],
    });
    const run = runContextFromEnv({
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: github.serverUrl,
      GITHUB_REPOSITORY: `${github.repo.owner}/${github.repo.name}`,
      GITHUB_RUN_ID: String(seededRun.runId),
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_JOB: 'deploy',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_ACTOR: 'octocat',
      GITHUB_EVENT_NAME: 'push',
    });
    // Through nginx when there is one: the smoke test sees what users see.
    const smokeChecks = `- name: health\n  url: ${(nginx ?? target).url}/health\n  expect-json:\n${nginx ? `    $.colour: ${target.name}\n` : ''}    $.version: ${version}\n    $.checks.*: healthy`;
    // The blue-green-switch action's own inputs, parsed by its parser: the idle colour takes all traffic once its
    // /livez answers, and nginx must then answer as the new release.
    let blueGreenSwitch: ChecklistOptions['switch'];
    if (nginx) {
      const switchInputs: Record<string, string> = {
        ...nginxInputs(nginx, { blue: app('blue').server, green: app('green').server }),
        'health-path': '/livez',
        'health-successes': '2',
        'health-timeout': '10s',
        'bake-time': '1s',
        'verify-url': `${nginx.url}/`,
        'verify-expect': `${target.name} ${version}`,
      };
      const config = parseBlueGreenConfig(new Inputs((name) => switchInputs[name] ?? ''));
      blueGreenSwitch = {
        options: switchOptions(config, `opskit demo, run ${n} (pid ${process.pid})`),
        deps: {
          provider: new NginxProvider(host, { ...config.nginx, servers: config.servers }, logger),
          probe: new HttpProbe(),
          logger,
        },
      };
    }

    // The root action's inputs, as a deploy workflow's step would give them.
    const inputs: Record<string, string> = {
      ...backupInputs(pg.url('shop'), s3, 'backups/'),
      'migrations-dir': 'migrations',
      ...renderInputs(render, service.id, version.replace(/\./g, '') + 'abc1234'),
      'smoke-checks': smokeChecks,
      'smoke-timeout': '4s',
      'github-token': github.token,
      severity: 'P2',
      environment: 'production',
    };
    const result: ChecklistResult = await runChecklist(
      demoChecklist({
        inputs,
        logger,
        workDir: work.path,
        run,
        secrets,
        signal: interrupted.signal,
        switch: blueGreenSwitch,
        onProgress: (bytes) => progress.setBytes(bytes),
        onItem: (item, phase) => {
          if (phase === 'start') return progress.start(item.title);
          progress.stop();
          if (item.id === 'deploy' && item.state === 'passed') target.release = version;
          if (item.id === 'rollback' && item.state === 'passed') target.release = previous;
          out(`  ${itemLine(item)}`);
        },
      }),
    );
    progress.stop();

    out();
    out(
      `Checklist of run ${n}: ${result.ok ? 'PASSED' : `FAILED at ${result.failedStep}`} in ${result.durationSeconds}s`,
    );
    for (const item of result.items) out(`  ${itemLine(item)}`);
    if (result.backup) out(`  backup: ${result.backup.uri} (in s3rver, ${s3.endpoint})`);
    if (nginx) {
      const moved = result.switch;
      live = (result.switchBack ?? moved)?.now?.live ?? live;
      const idle = app(otherColour(live as Colour));
      let traffic: string;
      if (result.switchBack)
        traffic = result.switchBack.ok
          ? `moved to ${moved!.to} (${version}), where the smoke test failed, so it moved back: ${live} has all of it again`
          : `moved to ${moved!.to} (${version}); moving it back after the failed smoke test failed too (see above)`;
      else if (moved?.ok) traffic = `${live} has all of it, through nginx`;
      else if (moved) traffic = `the switch failed (see above): ${live} has all of it`;
      else traffic = `not moved (the checklist stopped before the switch): ${live} keeps all of it`;
      out(`  traffic: ${traffic}; ${idle.name} is idle on ${idle.release}`);
    }
    out(`  app now running: ${app(live).release}${nginx ? ` (${live}, behind nginx ${nginx.url})` : ''}`);
    await mkdir(OUTPUT_DIR, { recursive: true });
    const file = path.join(OUTPUT_DIR, `run-${n}.md`);
    await writeFile(file, formatChecklistSummary(result));
    out(`  job summary: ${path.relative(process.cwd(), file) || file}`);
    out();
    return result;
  };

  // The migration lint's own view of `shop` decides what is safe; both are additive.
  const good = await release(1, '1.1.0', {
    file: '001_reviews.sql',
    sql: 'CREATE TABLE reviews (id serial PRIMARY KEY, product_id int REFERENCES products(id), stars int);\n',
  });
  const bad = await release(2, '1.2.0', {
    file: '002_wishlists.sql',
    sql: 'CREATE TABLE wishlists (id serial PRIMARY KEY, product_id int REFERENCES products(id));\n',
  });

  const issue = github.issues[0];
  if (issue) {
    out(`Incident issue #${issue.number} opened in the GitHub simulator (${issue.html_url}):`);
    out(`  title: ${issue.title}`);
    const body = (issue.body ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('<!--'));
    for (const line of body.slice(0, 12)) out(`  │ ${line}`);
    if (body.length > 12) out(`  │ … (${body.length - 12} more lines)`);
    out();
  }

  // Run 3: 1.1.0 promoted from staging to production (blue-green), then a clean restore with the service suspended.
  const promotion = await promotionRun({
    n: 3,
    version: '1.1.0',
    commit: '110abc1234',
    live,
    apps,
    startApp: (name, release) => tracked(`the ${name} app`, startSampleApp(name, release)),
    onCleanup,
    render,
    renderClient,
    productionServiceId: service.id,
    github,
    nginx,
    host,
    pg,
    conn,
    backupInputs: backupInputs(pg.url('shop'), s3, 'backups/'),
    tempDir: work.path,
    outputDir: OUTPUT_DIR,
    logger,
    out,
    progress,
    signal: interrupted.signal,
  });
  live = promotion.live;
  // Ctrl-C during run 3: the cleanup under way ends the demo (exit 130); no verdict on a run that was cut short.
  if (interrupted.signal.aborted) return 130;

  const rolledBack = bad.items.some((i) => i.id === 'rollback' && i.state === 'passed');
  const switched = !nginx || (good.switch?.ok === true && bad.switchBack?.ok === true);
  const asExpected =
    good.ok &&
    !bad.ok &&
    bad.failedStep === 'smoke' &&
    rolledBack &&
    switched &&
    Boolean(bad.incidentUrl) &&
    promotion.ok;
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  out(
    !asExpected
      ? 'Demo finished, but not as expected: see the checklists above.'
      : nginx
        ? `Demo finished in ${seconds}s: the good release went live through a blue-green switch, the bad one's traffic was switched back, its deploy rolled back and an incident issue was opened; 1.1.0 was promoted from staging through a blue-green release and production's database restored clean with the service suspended.`
        : `Demo finished in ${seconds}s: the good release went live, the bad one was rolled back and an incident issue was opened; 1.1.0 was promoted from staging and production's database restored clean with the service suspended.`,
  );
  const violations = [...render.violations, ...github.violations];
  if (violations.length) out(`Simulator spec violations: ${violations.join('; ')}`);
  return asExpected ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  progress.stop();
  const sentence = err instanceof DemoError ? err.message : `The demo failed: ${errorMessage(err)}`;
  process.stderr.write(`${sentence}\n`);
  if (!(err instanceof DemoError) && process.env.OPSKIT_DEMO_DEBUG) console.error(err);
} finally {
  await cleanup();
}
process.exit(code);
