/**
 * `npm run demo`: the whole deploy checklist live on this machine, without Render, a cloud bucket or GitHub.
 *
 * Starts PostgreSQL, s3rver (the backup bucket), the Render and GitHub simulators and a small sample app, then
 * runs the checklist twice through `runChecklist`: a good release (all green) and a bad release whose smoke
 * test fails (rolled back, incident issue opened in the GitHub simulator). Everything it starts is stopped and
 * every temp dir removed at the end, on an error and on Ctrl-C (SIGINT/SIGTERM exit 130).
 *
 * Flags: `--quiet` (or OPSKIT_DEMO_QUIET=1) prints plain lines instead of a live progress line.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCompression } from '../src/backup/compression.js';
import { checklistIncident } from '../src/checklist/incident.js';
import { type ChecklistResult, runChecklist } from '../src/checklist/run.js';
import { renderChecklistSummary } from '../src/checklist/summary.js';
import type { ChecklistItem } from '../src/checklist/types.js';
import { errorMessage } from '../src/errors.js';
import { runContextFromEnv } from '../src/github/context.js';
import { Inputs } from '../src/inputs.js';
import type { Logger } from '../src/logger.js';
import { findPgClients, resolvePgClient } from '../src/postgres/client.js';
import { parsePgUrl } from '../src/postgres/connection.js';
import { RenderClient } from '../src/render/client.js';
import { parseSmokeOptions } from '../src/smoke/config.js';
import { createS3Store, type S3Store } from '../src/storage/s3.js';
import { startGitHubSim } from '../test/harness/github-sim.js';
import { json, startHttpServer } from '../test/harness/http-server.js';
import { newestSystemBinDir, type PgServer, startPostgres } from '../test/harness/postgres.js';
import { startRenderSim } from '../test/harness/render-sim.js';
import { startS3 } from '../test/harness/s3.js';
import { tempDir } from '../test/harness/tmp.js';

/** The repository root (this file is build/demo/demo/main.js once compiled). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RENDER_SPEC = path.resolve(ROOT, '..', 'shared', 'specs', 'render-openapi.json');
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
    const bytes = this.bytes === undefined ? '' : ` — ${formatBytes(this.bytes)} dumped`;
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
    // Newest first: the app and simulators before the servers their temp dirs belong to.
    for (const { name, fn } of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`demo: could not stop ${name}: ${errorMessage(err)}\n`);
      }
    }
    cleanups.length = 0;
  })());
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
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
// The demo

async function main(): Promise<number> {
  const t0 = performance.now();
  out('opskit demo — the deploy checklist, live, on this machine (no Render, no cloud bucket, no GitHub)');
  out();
  if (!existsSync(RENDER_SPEC))
    throw new DemoError(`The Render OpenAPI spec the simulator validates against is missing: ${RENDER_SPEC}.`);

  progress.start('Starting PostgreSQL, s3rver, the Render and GitHub simulators');
  const work = await tempDir('opskit-demo-');
  onCleanup('the demo temp dir', work.cleanup);
  // Each stop is registered before its server is up, so that Ctrl-C during start-up waits for it and stops it.
  const [pg, s3, render, github] = await Promise.all([
    tracked('PostgreSQL', startDatabase()),
    tracked('s3rver', startS3({ bucket: 'opskit-demo' })),
    tracked('the Render simulator', startRenderSim({ specPath: RENDER_SPEC })),
    tracked('the GitHub simulator', startGitHubSim({ owner: 'acme', name: 'shop' })),
  ]);

  // The sample app: /health reports its version and its database. The Render simulator only tracks deploys, so
  // the demo swaps the running release when a deploy (or a rollback) goes live.
  const releases: Record<string, { database: 'healthy' | 'unhealthy' }> = {
    '1.0.0': { database: 'healthy' },
    '1.1.0': { database: 'healthy' },
    '1.2.0': { database: 'unhealthy' },
  };
  let running = '1.0.0';
  const app = await startHttpServer((req, res) => {
    if (req.url !== '/health') return json(res, 404, { error: 'not found' });
    const { database } = releases[running]!;
    const healthy = database === 'healthy';
    json(res, healthy ? 200 : 503, {
      status: healthy ? 'healthy' : 'degraded',
      version: running,
      checks: { database },
    });
  });
  onCleanup('the sample app', () => app.close());
  progress.stop();
  const ready = ((performance.now() - t0) / 1000).toFixed(1);
  out(`Started in ${ready}s:`);
  out(`  PostgreSQL ${pg.major} on 127.0.0.1:${pg.port}`);
  out(`  s3rver (S3 API) on ${s3.endpoint}, bucket ${s3.bucket}`);
  out(`  Render API simulator on ${render.baseUrl}`);
  out(`  GitHub API simulator on ${github.url} (repository ${github.repo.owner}/${github.repo.name})`);
  out(`  sample app on ${app.url} (GET /health)`);
  out(
    existsSync('/usr/sbin/nginx') || existsSync('/usr/bin/nginx')
      ? '  blue-green step skipped: nginx is installed, but the blue-green switch is not wired into the demo yet'
      : '  blue-green step skipped: install nginx to see it',
  );
  out();

  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    "CREATE TABLE products (id serial PRIMARY KEY, name text, price_cents int); INSERT INTO products (name, price_cents) SELECT 'product ' || g, g % 9000 + 100 FROM generate_series(1, 50000) g;",
    'shop',
  );
  const migrationsDir = path.join(work.path, 'migrations');
  await mkdir(migrationsDir, { recursive: true });

  const store: S3Store = createS3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    logger,
  });
  onCleanup('the S3 client', () => store.close());
  const service = render.addService({ name: 'shop-web', url: app.url });
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
    out(`━━ Run ${n}: release ${version} (running now: ${running}) ━━`);
    await writeFile(path.join(migrationsDir, migration.file), migration.sql);
    const previous = running;
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
    const smokeInputs: Record<string, string> = {
      checks: `- name: health\n  url: ${app.url}/health\n  expect-json:\n    $.version: ${version}\n    $.checks.*: healthy`,
      timeout: '4s',
      'retry-interval': '500ms',
      'request-timeout': '2s',
    };
    const smoke = parseSmokeOptions(new Inputs((name) => smokeInputs[name] ?? ''));

    const result: ChecklistResult = await runChecklist({
      logger,
      database: {
        conn,
        backupTo: { store, prefix: 'backups/' },
        compression: resolveCompression('auto'),
        resolveClient: (serverMajor) => resolvePgClient({ kind: 'auto' }, serverMajor, { logger }),
        tempDir: work.path,
        migrations: {
          tool: 'sql',
          migrationsDir,
          cwd: work.path,
          onFailure: 'restore',
          dryRun: false,
          lint: 'error',
          allowDestructive: false,
          allowOutOfOrder: false,
          lockTimeoutMs: 5_000,
          waitForLockMs: 30_000,
          appliedBy: 'opskit-demo',
        },
        onProgress: (bytes) => progress.setBytes(bytes),
      },
      deploy: {
        client: renderClient,
        serviceId: service.id,
        commit: version.replace(/\./g, '') + 'abc1234',
        timeoutMs: 60_000,
      },
      smoke,
      incident: checklistIncident({
        token: github.token,
        run,
        environment: 'production',
        severity: 'P2',
        logger,
        secrets,
      }),
      onItem: (item, phase) => {
        if (phase === 'start') return progress.start(item.title);
        progress.stop();
        if (item.id === 'deploy' && item.state === 'passed') running = version;
        if (item.id === 'rollback' && item.state === 'passed') running = previous;
        out(`  ${itemLine(item)}`);
      },
    });
    progress.stop();

    out();
    out(
      `Checklist of run ${n}: ${result.ok ? 'PASSED' : `FAILED at ${result.failedStep}`} in ${result.durationSeconds}s`,
    );
    for (const item of result.items) out(`  ${itemLine(item)}`);
    if (result.backup) out(`  backup: ${result.backup.uri} (in s3rver, ${s3.endpoint})`);
    out(`  app now running: ${running}`);
    await mkdir(OUTPUT_DIR, { recursive: true });
    const file = path.join(OUTPUT_DIR, `run-${n}.md`);
    await writeFile(file, renderChecklistSummary(result));
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

  const rolledBack = bad.items.some((i) => i.id === 'rollback' && i.state === 'passed');
  const asExpected = good.ok && !bad.ok && bad.failedStep === 'smoke' && rolledBack && Boolean(bad.incidentUrl);
  out(
    asExpected
      ? `Demo finished in ${((performance.now() - t0) / 1000).toFixed(1)}s: the good release went live, the bad one was rolled back and an incident issue was opened.`
      : 'Demo finished, but not as expected: see the checklists above.',
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
