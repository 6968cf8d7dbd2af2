/**
 * Run 3 of `npm run demo`: a release promoted from staging to production, then production's database put back with
 * the app stopped (issue #18: promote.yml, blue-green-release.yml, and rollback.yml's clean restore).
 *
 * 1. promote.yml phase stage: the release's commit is deployed to a staging service (the Render simulator) and
 *    smoke-tested (the deploy checklist: `runChecklist`).
 * 2. promote.yml phase promote: staging's deploy has been live for the soak (shortened for the demo), no incident
 *    for staging since it went live (the GitHub simulator's issues), and staging passes its smoke tests again. The
 *    commit promoted is the one Render says staging ran, never one typed in.
 * 3. Production, blue-green (blue-green-release.yml): pre-release backup, then deploy-command puts the release on
 *    the idle colour, the smoke checks ask that colour directly, and only then does nginx move traffic to it; the
 *    smoke test then goes through nginx (`runChecklist` with the switch readied by `releasePreparer`). Without
 *    nginx, the commit is a Render deploy of production instead, as runs 1-2 do.
 * 4. A clean restore of production's database from that backup, with the Render service suspended around it and
 *    resumed after (`suspendedDuring` around db-restore's `restore`, mode clean), row counts compared.
 *
 * Every step is the library code its action or workflow runs; this file only wires the demo's servers to it and
 * prints what happened. Whatever it starts is registered with the demo's cleanup (`onCleanup`, `startApp`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackupResult } from '../src/backup/backup.js';
import { locateBackup, parseBackupRef } from '../src/backup/locate.js';
import { restore, type RestoreResult } from '../src/backup/restore.js';
import { formatRestoreSummary } from '../src/backup/restore-summary.js';
import { type ChecklistOptions, type ChecklistResult, runChecklist } from '../src/checklist/run.js';
import { formatChecklistSummary } from '../src/checklist/summary.js';
import { suspendedDuring } from '../src/checklist/stop-app.js';
import type { ChecklistItem } from '../src/checklist/types.js';
import { errorMessage } from '../src/errors.js';
import { createGitHubClient } from '../src/github/client.js';
import { parseIncidentOptions } from '../src/incident/config.js';
import { recordIncident } from '../src/incident/incident.js';
import { Inputs } from '../src/inputs.js';
import type { Logger } from '../src/logger.js';
import { NginxProvider } from '../src/nginx/provider.js';
import { resolvePgClient } from '../src/postgres/client.js';
import type { PgConnection } from '../src/postgres/connection.js';
import type { RenderClient } from '../src/render/client.js';
import { type RenderResult, runRender } from '../src/render/deploy.js';
import { fitSummary, headline, table } from '../src/markdown/blocks.js';
import { parseSmokeOptions } from '../src/smoke/config.js';
import { runSmokeTests } from '../src/smoke/run.js';
import type { SmokeOptions } from '../src/smoke/types.js';
import type { Host } from '../src/ssh/host.js';
import { parseS3Settings } from '../src/storage/destination.js';
import { parseBlueGreenConfig, switchOptions } from '../src/switch/config.js';
import { HttpProbe } from '../src/switch/health.js';
import { releasePreparer } from '../src/switch/release.js';
import { formatSwitchSummary } from '../src/switch/summary.js';
import { type Colour, type PrepareTarget, otherColour } from '../src/switch/types.js';
import type { GitHubSim } from '../test/harness/github-sim.js';
import { json, startHttpServer } from '../test/harness/http-server.js';
import type { NginxServer } from '../test/harness/nginx.js';
import { type PgServer, rowCounts } from '../test/harness/postgres.js';
import type { RenderSim } from '../test/harness/render-sim.js';
import { demoChecklist, nginxInputs, renderInputs } from './checklist.js';

/** The deploy-command the idle colour gets (a plain Node script: run by the host as a separate program). */
const DEPLOY_SCRIPT = fileURLToPath(new URL('../../../demo/deploy-colour.js', import.meta.url));
/** promote.yml's default soak is 24h; the demo waits this long instead. */
const DEMO_SOAK_MS = 3_000;
const SOAK_LABEL = '3s';
/** The accident the restore puts right: products above this id are deleted on production. */
const KEEP_PRODUCTS = 30_000;

/** A sample app of the demo (demo/main.ts): what /health reports is its `release` and `commit`. */
export interface DemoApp {
  name: string;
  release: string;
  commit?: string;
  /** `127.0.0.1:<port>` and `http://127.0.0.1:<port>` */
  server: string;
  url: string;
}

export interface PromotionDemo {
  /** The run's number and the release promoted (1.1.0). */
  n: number;
  version: string;
  /** The commit the release is built from, deployed to staging. */
  commit: string;
  /** The app with all of production's traffic now: a colour behind nginx, or the one app. */
  live: string;
  /** Production's apps (blue and green with nginx, else one). */
  apps: DemoApp[];
  /** Starts a sample app (registered with the demo's cleanup). */
  startApp(name: string, release: string): Promise<DemoApp>;
  onCleanup(name: string, fn: () => Promise<unknown> | unknown): void;
  render: RenderSim;
  renderClient: RenderClient;
  /** Production's Render service (the one suspended while its database is restored). */
  productionServiceId: string;
  github: GitHubSim;
  nginx?: NginxServer;
  host: Host;
  pg: PgServer;
  /** Production's database. */
  conn: PgConnection;
  /** The root action's inputs for production's pre-release backup (database-url, backup-destination, S3). */
  backupInputs: Record<string, string>;
  tempDir: string;
  outputDir: string;
  logger: Logger;
  out(line?: string): void;
  progress: { start(label: string): void; stop(): void; setBytes(bytes: number): void };
  /** Ctrl-C: the step running is cancelled where the library can (backup, restore), and nothing more is printed. */
  signal?: AbortSignal;
}

export interface PromotionResult {
  ok: boolean;
  /** The app with all of production's traffic after the run. */
  live: string;
}

type Step = Pick<ChecklistItem, 'title' | 'state' | 'seconds' | 'detail'> & { phase?: string };

function icon(s: Step): string {
  return s.state === 'passed' ? '✅' : s.state === 'failed' ? '❌' : s.state === 'skipped' ? '⏭️ ' : '➖';
}

function stepLine(s: Step): string {
  return `${icon(s)} ${s.title}${s.seconds === undefined ? '' : ` (${s.seconds}s)`}${s.detail ? ` — ${s.detail}` : ''}`;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The smoke-test action's inputs, parsed by its parser, as the demo's other runs do. */
function smokeOptions(checks: string, timeout = '5s'): SmokeOptions {
  const inputs: Record<string, string> = { checks, timeout, 'retry-interval': '500ms', 'request-timeout': '2s' };
  return parseSmokeOptions(new Inputs((name) => inputs[name] ?? ''));
}

/** One /health check: the release, its commit (and colour), every dependency healthy. */
function healthCheck(url: string, version: string, commit: string, colour?: string, indent = ''): string {
  return [
    `- name: health`,
    `  url: ${url}`,
    `  expect-json:`,
    ...(colour ? [`    $.colour: ${colour}`] : []),
    `    $.version: ${version}`,
    `    $.commit: ${commit}`,
    `    $.checks.*: healthy`,
  ]
    .map((l) => indent + l)
    .join('\n');
}

export async function promotionRun(d: PromotionDemo): Promise<PromotionResult> {
  const { logger, render, nginx, signal } = d;
  // Once the demo is interrupted its cleanup is stopping the servers: what fails after that is not news.
  const out = (line?: string) => {
    if (!signal?.aborted) d.out(line);
  };
  const progress = {
    start: (label: string) => {
      if (!signal?.aborted) d.progress.start(label);
    },
    stop: () => d.progress.stop(),
    setBytes: (bytes: number) => d.progress.setBytes(bytes),
  };
  const t0 = performance.now();
  const steps: Step[] = [];
  /** Where the steps being run belong, for the job summary's table. */
  let phase = 'staging';
  const summaries: string[] = [];
  let live = d.live;
  const liveApp = () => d.apps.find((a) => a.name === live)!;

  /** A step of this run: progress while it runs, its line when it ends. Never throws. */
  const step = async (title: string, fn: (s: Step) => Promise<boolean>): Promise<boolean> => {
    const s: Step = { title, state: 'not-run', phase };
    steps.push(s);
    progress.start(title);
    const started = performance.now();
    try {
      s.state = (await fn(s)) ? 'passed' : 'failed';
    } catch (err) {
      s.state = 'failed';
      s.detail = errorMessage(err);
    }
    s.seconds = seconds(performance.now() - started);
    progress.stop();
    out(`  ${stepLine(s)}`);
    return s.state === 'passed';
  };
  /** The items of a checklist run, printed as they end, and kept for the summary. */
  const onItem =
    (extra?: (item: ChecklistItem) => void): ChecklistOptions['onItem'] =>
    (item, when) => {
      if (when === 'start') return progress.start(item.title);
      progress.stop();
      extra?.(item);
      steps.push({ ...item, phase });
      out(`  ${stepLine(item)}`);
    };
  const renderCall = {
    client: d.renderClient,
    clearCache: false,
    wait: true,
    timeoutMs: 60_000,
    cancelOnTimeout: false,
    rollbackOnFailure: false,
    resumeIfSuspended: false,
    supersededIsFailure: false,
    logger,
  };

  out(
    `━━ Run ${d.n}: promote ${d.version} from staging to production (production runs ${liveApp().release}${nginx ? ` on ${live}` : ''}) ━━`,
  );

  // ---- 1. promote.yml phase stage: the commit to staging (deploy, smoke test).
  const stagingApp = await d.startApp('staging', '1.0.0');
  const staging = render.addService({ name: 'shop-staging', url: stagingApp.url });
  out(
    `  promote.yml, phase stage: ${d.version} (commit ${d.commit}) to staging, Render service shop-staging (${staging.id}), app on ${stagingApp.url}`,
  );
  render.scriptDeploy(staging.id, {
    statuses: [
      { status: 'build_in_progress', ms: 1000 },
      { status: 'update_in_progress', ms: 500 },
      { status: 'live', ms: 100 },
    ],
  });
  const stagingChecks = healthCheck(`${stagingApp.url}/health`, d.version, d.commit);
  const staged: ChecklistResult = await runChecklist(
    demoChecklist({
      inputs: {
        ...renderInputs(d.render, staging.id, d.commit),
        'smoke-checks': stagingChecks,
        'smoke-timeout': '5s',
        environment: 'staging',
      },
      logger,
      workDir: d.tempDir,
      signal,
      onItem: onItem((item) => {
        if (item.id === 'deploy' && item.state === 'passed') {
          stagingApp.release = d.version;
          stagingApp.commit = d.commit;
        }
      }),
    }),
  );
  summaries.push(`### Staging (promote.yml phase stage)\n\n${formatChecklistSummary(staged)}`);

  // ---- 2. promote.yml phase promote: soaked, no staging incident, smoke tests pass again; what staging ran.
  let promoted: { commit: string; deployId: string } | undefined;
  phase = 'promote checks';
  if (staged.ok && !signal?.aborted) {
    out(
      `  promote.yml, phase promote: staging must have soaked and stayed healthy (soak shortened to ${SOAK_LABEL} for the demo; promote.yml's default is 24h, checked by a later scheduled or dispatched run, not a sleeping job)`,
    );
    const soakCheck = () =>
      runRender({
        ...renderCall,
        service: { id: staging.id },
        action: 'status',
        deployId: staged.deploy?.deployId,
        liveForMs: DEMO_SOAK_MS,
      });
    let status: RenderResult = await soakCheck();
    if (!status.ok && status.status === 'live') {
      out(`  ⏸  not promoted yet: ${status.message}; the next promote run checks again`);
      const finished = Date.parse(status.deploy?.finishedAt ?? '');
      await sleep(Math.max(0, (Number.isNaN(finished) ? Date.now() : finished) + DEMO_SOAK_MS - Date.now()) + 200);
    }
    const soaked = await step('Staging soaked', async (s) => {
      status = await soakCheck();
      s.detail = status.message;
      return status.ok;
    });
    const quiet =
      soaked &&
      (await step('No staging incident since it went live', async (s) => {
        const since = status.deploy?.finishedAt ?? new Date().toISOString();
        const inputs: Record<string, string> = {
          'github-token': d.github.token,
          status: 'check',
          'incident-key': 'deploy / staging',
          since,
        };
        const { token, options } = await parseIncidentOptions(
          new Inputs((name) => inputs[name] ?? ''),
          {
            GITHUB_API_URL: d.github.url,
            GITHUB_SERVER_URL: d.github.serverUrl,
            GITHUB_REPOSITORY: `${d.github.repo.owner}/${d.github.repo.name}`,
            GITHUB_WORKFLOW: 'promote',
            GITHUB_JOB: 'soaked',
          },
          d.tempDir,
        );
        const github = createGitHubClient({ token, baseUrl: options.run.apiUrl, logger });
        const result = await recordIncident(options, { github, logger });
        const findings = result.findings ?? [];
        const others = d.github.issues.filter((i) => i.state === 'open').length;
        s.detail = findings.length
          ? `incident '${options.key}' was not quiet: ${findings.join('; ')}`
          : `incident '${options.key}' since ${since}: none (${others} open incident issue${others === 1 ? '' : 's'} in the GitHub simulator, none for staging)`;
        return findings.length === 0;
      }));
    const healthy =
      quiet &&
      (await step('Staging passes its smoke tests again', async (s) => {
        const report = await runSmokeTests(smokeOptions(stagingChecks), logger);
        const failed = report.checks.filter((c) => !c.passed);
        s.detail = failed.length
          ? failed.map((c) => `${c.name}: ${c.reason}`).join('; ')
          : `${report.checks.length} checks healthy (${stagingApp.url}/health: ${d.version}, commit ${d.commit})`;
        return report.passed;
      }));
    // Production gets what staging ran, as Render reports it: never a commit typed in at promotion time.
    if (healthy)
      await step('Promoting what staging ran', async (s) => {
        const commit = status.deploy?.commit?.id;
        if (!commit || !status.deployId) {
          s.detail = `${status.message}: Render reports no commit for it, so there is nothing to promote`;
          return false;
        }
        promoted = { commit, deployId: status.deployId };
        s.detail = `commit ${commit} of staging's live deploy ${status.deployId} (read from Render); production's one approval: given (a reviewer of the production environment; automatic in the demo)`;
        return true;
      });
  }

  // ---- 3. Production: pre-release backup, then the blue-green release (or a Render deploy without nginx).
  let production: ChecklistResult | undefined;
  phase = 'production';
  if (promoted && !signal?.aborted) {
    const commit = promoted.commit;
    if (nginx) {
      const idle = otherColour(live as Colour);
      const app = (name: string) => d.apps.find((a) => a.name === name)!;
      // The colours' host agent: deploy-colour.js, run by the switch as a separate program, asks it to put the
      // release on a colour (the sample apps live in the demo's process).
      const starting = startHttpServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://agent.invalid');
        const [colour, version, built] = ['colour', 'version', 'commit'].map((k) => url.searchParams.get(k) ?? '');
        const target = d.apps.find((a) => a.name === colour);
        if (req.method !== 'POST' || url.pathname !== '/deploy' || !target || !version || !built)
          return json(res, 400, { error: 'POST /deploy?colour=&version=&commit=' });
        const was = `${target.release}${target.commit ? ` (commit ${target.commit})` : ''}`;
        target.release = version;
        target.commit = built;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${colour} restarted on ${version} (commit ${built}) at ${target.server}, was ${was}\n`);
      });
      d.onCleanup('the colours agent', async () => (await starting.catch(() => undefined))?.close());
      const agent = await starting;
      out(
        `  production, blue-green (blue-green-release.yml): ${d.version} (commit ${commit}) to ${idle} (idle), its smoke checks asked of ${idle} directly, then nginx moves traffic; the smoke test then goes through nginx (${nginx.url}/health)`,
      );
      const switchInputs: Record<string, string> = {
        ...nginxInputs(nginx, { blue: app('blue').server, green: app('green').server }),
        'deploy-command': `'${process.execPath}' '${DEPLOY_SCRIPT}' ${agent.url} --commit ${commit}`,
        'command-timeout': '30s',
        version: d.version,
        'smoke-checks': healthCheck('/health', d.version, commit, idle),
        'smoke-timeout': '5s',
        'health-path': '/livez',
        'health-successes': '2',
        'health-timeout': '10s',
        'bake-time': '1s',
        'verify-url': `${nginx.url}/`,
        'verify-expect': `${idle} ${d.version}`,
      };
      const config = parseBlueGreenConfig(new Inputs((name) => switchInputs[name] ?? ''));
      const release = releasePreparer({
        host: d.host,
        ...config.release,
        logger,
        deployRecordFile: `${config.nginx.file}.deployed`,
      });
      // The release as blue-green-switch runs it (deploy-command, then the idle colour's smoke checks), its two
      // parts printed as steps of their own once it is done, before the health gate and the switch.
      const prepare: PrepareTarget = async (colour, servers, cancel) => {
        progress.start(`Deploying ${d.version} to ${colour} (idle), then its smoke checks`);
        const report = await release(colour, servers, cancel);
        progress.stop();
        const deploy = report.deploy;
        const deployStep: Step = {
          phase,
          title: `Deployed to the idle colour (${colour})`,
          state: deploy?.ok ? 'passed' : 'failed',
          seconds: deploy ? seconds(deploy.durationMs) : undefined,
          detail: deploy?.ok
            ? `deploy-command with OPSKIT_VERSION=${d.version}: ${deploy.output.split('\n').pop()}`
            : report.reason,
        };
        steps.push(deployStep);
        out(`  ${stepLine(deployStep)}`);
        if (report.smoke) {
          const failed = report.smoke.checks.filter((c) => !c.passed);
          const smokeStep: Step = {
            phase,
            title: `Idle colour smoke-tested (${colour}, directly, no traffic)`,
            state: report.smoke.ok ? 'passed' : 'failed',
            seconds: seconds(report.smoke.durationMs),
            detail: failed.length
              ? failed.map((c) => `${c.name}: ${c.reason ?? 'failed'}`).join('; ')
              : `${report.smoke.checks.map((c) => c.name).join(', ')}: ${d.version}, commit ${commit}`,
          };
          steps.push(smokeStep);
          out(`  ${stepLine(smokeStep)}`);
        }
        progress.start(`Health gate on ${colour}, then traffic to ${colour} through nginx`);
        return report;
      };
      production = await runChecklist(
        demoChecklist({
          inputs: {
            ...d.backupInputs,
            'smoke-checks': healthCheck(`${nginx.url}/health`, d.version, commit, idle),
            'smoke-timeout': '5s',
          },
          logger,
          workDir: d.tempDir,
          signal,
          onProgress: (bytes) => progress.setBytes(bytes),
          switch: {
            options: switchOptions(config, `opskit demo, run ${d.n} (pid ${process.pid})`),
            deps: {
              provider: new NginxProvider(d.host, { ...config.nginx, servers: config.servers }, logger),
              probe: new HttpProbe(),
              logger,
              signal,
              prepare,
            },
          },
          onItem: onItem(),
        }),
      );
      live = (production.switchBack ?? production.switch)?.now?.live ?? live;
    } else {
      const app = d.apps[0]!;
      out(
        `  production: blue-green release skipped: nginx is not installed (to see deploy-to-idle, smoke idle and the switch: apt-get install nginx-light, then run the demo again); commit ${commit} is deployed to production's Render service instead`,
      );
      render.scriptDeploy(d.productionServiceId, {
        statuses: [
          { status: 'build_in_progress', ms: 1000 },
          { status: 'update_in_progress', ms: 500 },
          { status: 'live', ms: 100 },
        ],
      });
      production = await runChecklist(
        demoChecklist({
          inputs: {
            ...d.backupInputs,
            ...renderInputs(d.render, d.productionServiceId, commit),
            'smoke-checks': healthCheck(`${app.url}/health`, d.version, commit),
            'smoke-timeout': '5s',
          },
          logger,
          workDir: d.tempDir,
          signal,
          onProgress: (bytes) => progress.setBytes(bytes),
          onItem: onItem((item) => {
            if (item.id === 'deploy' && item.state === 'passed') {
              app.release = d.version;
              app.commit = commit;
            }
          }),
        }),
      );
    }
    summaries.push(`### Production (promote.yml's production job)\n\n${formatChecklistSummary(production)}`);
    if (production.switch)
      summaries.push(`### Production: the blue-green release\n\n${formatSwitchSummary(production.switch)}`);
  }

  // ---- 4. A clean restore of production's database from the pre-release backup, the Render service suspended.
  let restored: RestoreResult | undefined;
  let countsMatch = false;
  let suspendSeen = false;
  let resumeSeen = false;
  const backup: BackupResult | undefined = production?.ok ? production.backup : undefined;
  if (backup && !signal?.aborted) {
    const db = d.conn.database;
    out(
      `  clean restore of production's database (rollback.yml, guide 002 "Scenario 1"): a bad data fix deletes products on production; it is put back from the pre-release backup with the app stopped`,
    );
    await d.pg.psql(`DELETE FROM products WHERE id > ${KEEP_PRODUCTS}`, db);
    const damaged = await rowCounts(d.pg, db);
    out(`  row counts now: ${describeCounts(damaged)}`);
    // As db-restore finds it: the backup's manifest URI as its source input, of production's database.
    const located = await locateBackup(
      parseBackupRef('source', backup.manifestUri, parseS3Settings(new Inputs((n) => d.backupInputs[n] ?? ''))),
      { tempDir: d.tempDir, logger },
      { database: db },
    );
    const serviceId = d.productionServiceId;
    const seen = (operationId: string, from: number) =>
      render.requests.find((r) => r.operationId === operationId && r.at >= from && r.path.includes(serviceId));
    const simulatorSays = () =>
      `the Render simulator reports shop-web ${render.service(serviceId).suspended ? 'suspended' : 'not suspended'}`;
    phase = 'restore';
    const print = (s: Step) => {
      steps.push({ ...s, phase });
      out(`  ${stepLine(s)}`);
    };
    const from = Date.now();
    let suspendPrinted = false;
    progress.start('Suspending the Render service');
    try {
      restored = await suspendedDuring(
        d.renderClient,
        serviceId,
        logger,
      )(async () => {
        progress.stop();
        const request = seen('suspend-service', from);
        suspendSeen = Boolean(request) && render.service(serviceId).suspended;
        suspendPrinted = true;
        print({
          title: 'Render service suspended',
          state: suspendSeen ? 'passed' : 'failed',
          detail: `${request ? `${request.method} ${request.path} → ${request.status}; ` : 'no suspend request; '}${simulatorSays()}`,
        });
        const s: Step = { title: 'Database restored clean', state: 'failed' };
        progress.start(`${s.title} (restored beside it, verified, swapped in)`);
        const started = performance.now();
        try {
          const r = await restore({
            backup: located,
            target: d.conn,
            mode: 'clean',
            confirm: db,
            preRestore: { store: located.store, prefix: `${located.prefix}pre-restore/` },
            jobs: 2,
            keys: { identities: [] },
            drill: false,
            resolveClient: (major) => resolvePgClient({ kind: 'auto' }, major, { logger }),
            tempDir: d.tempDir,
            logger,
            signal,
          });
          s.state = r.matchesManifest ? 'passed' : 'failed';
          s.detail =
            `${r.restoredFrom}: restored beside ${db}, ${r.tables} tables and ${r.rows} rows ` +
            `${r.matchesManifest ? 'match' : `differ from (${r.differences.slice(0, 3).join('; ')})`} the manifest, swapped in` +
            (r.preRestoreBackup ? `; ${db} as it was first backed up to ${r.preRestoreBackup.uri}` : '');
          return r;
        } catch (err) {
          s.detail = errorMessage(err);
          throw err;
        } finally {
          s.seconds = seconds(performance.now() - started);
          progress.stop();
          print(s);
          progress.start('Resuming the Render service');
        }
      });
    } catch (err) {
      progress.stop();
      // Put right by suspendedDuring (the service is resumed whatever happened); said here when it could not suspend.
      if (!suspendPrinted) print({ title: 'Render service suspended', state: 'failed', detail: errorMessage(err) });
    }
    progress.stop();
    const request = seen('resume-service', from);
    resumeSeen = suspendPrinted && Boolean(request) && !render.service(serviceId).suspended;
    print({
      title: 'Render service resumed',
      state: resumeSeen ? 'passed' : 'failed',
      detail: `${request ? `${request.method} ${request.path} → ${request.status}; ` : 'no resume request; '}${simulatorSays()}`,
    });
    if (restored) {
      const after = await rowCounts(d.pg, db);
      const manifest = backup.manifest.tables;
      const tables = [...new Set([...Object.keys(manifest), ...Object.keys(after)])].sort();
      countsMatch = tables.every((t) => manifest[t] === after[t]);
      out(`  row counts (before the restore → after, and the backup's manifest):`);
      for (const t of tables)
        out(
          `    ${manifest[t] === after[t] ? '✓' : '✗'} ${t}: ${damaged[t] ?? '—'} → ${after[t] ?? '—'} (backup: ${manifest[t] ?? '—'})`,
        );
      summaries.push(`### The clean restore\n\n${formatRestoreSummary(restored, false)}`);
    }
  }
  const restoredOk = Boolean(restored?.matchesManifest) && countsMatch && suspendSeen && resumeSeen;

  phase = 'production';
  let liveAfter = false;
  if (restoredOk && !signal?.aborted) {
    const app = liveApp();
    liveAfter = await step('Smoke tests pass after the restore', async (s) => {
      const url = `${(nginx ?? app).url}/health`;
      const report = await runSmokeTests(
        smokeOptions(healthCheck(url, d.version, promoted!.commit, nginx ? live : undefined)),
        logger,
      );
      const failed = report.checks.filter((c) => !c.passed);
      s.detail = failed.length
        ? failed.map((c) => `${c.name}: ${c.reason}`).join('; ')
        : `${url}: ${app.release}, commit ${app.commit}`;
      return report.passed;
    });
  }

  if (signal?.aborted) return { ok: false, live };
  const ok = Boolean(production?.ok) && restoredOk && liveAfter;
  const took = seconds(performance.now() - t0);
  out();
  out(
    `Run ${d.n}: ${ok ? `PROMOTED and RESTORED in ${took}s` : `FAILED after ${took}s (${steps.find((s) => s.state === 'failed')?.title ?? 'see above'})`}`,
  );
  if (promoted) out(`  promoted: commit ${promoted.commit}, the one staging's deploy ${promoted.deployId} ran`);
  if (nginx) {
    const idle = d.apps.find((a) => a.name === otherColour(live as Colour))!;
    out(
      `  traffic: ${live} has all of it, through nginx; ${idle.name} is idle on ${idle.release} (blue-green-release.yml mode retire stops it once its hold has passed, in a later run)`,
    );
  }
  const app = liveApp();
  out(
    `  app now running: ${app.release}${app.commit ? `, commit ${app.commit}` : ''}${nginx ? ` (${live}, behind nginx ${nginx.url})` : ''}`,
  );
  if (restored)
    out(
      `  database: ${restored.tables} tables, ${restored.rows} rows restored from ${restored.restoredFrom}, ${restored.matchesManifest ? 'matching' : 'NOT matching'} its manifest${restored.preRestoreBackup ? `; the database it replaced was backed up first to ${restored.preRestoreBackup.uri}` : ''}`,
    );
  await mkdir(d.outputDir, { recursive: true });
  const file = path.join(d.outputDir, `run-${d.n}.md`);
  const sentence = ok
    ? `${d.version} (commit ${promoted!.commit}) promoted from staging to production${nginx ? ' through a blue-green release' : ''}, and production's database restored clean with the service suspended`
    : `The promotion of ${d.version} failed at "${steps.find((s) => s.state === 'failed')?.title ?? 'an early step'}"`;
  const rows = steps.map((s) => [
    icon(s),
    s.phase ?? '',
    s.title,
    s.seconds === undefined ? '' : `${s.seconds}s`,
    s.detail ?? '',
  ]);
  await writeFile(
    file,
    fitSummary(
      `${headline(ok, sentence)}\n\n${table(['', 'Where', 'Step', 'Time', 'Detail'], rows)}\n\n${summaries.join('\n\n')}\n`,
    ),
  );
  out(`  job summary: ${path.relative(process.cwd(), file) || file}`);
  out();
  return { ok, live };
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
}
