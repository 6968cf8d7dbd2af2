/**
 * rollback.yml replaces the database with the app stopped (guide 000 "Database Recovery", 002 "Scenario 1"): the
 * Render service is suspended, or the caller's maintenance command runs, before the restore, and resumed after it,
 * also when the restore fails. Run through the workflow-expansion harness: the Render jobs through the deploy-render
 * bundle against the Render simulator, the maintenance jobs' run: steps with bash.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { condition } from '../scripts/runner/expressions.js';
import { runAction } from './harness/action.js';
import { startGitHubSim } from './harness/github-sim.js';
import { startNotifySim } from './harness/notify-sim.js';
import { type PgServer, startPostgres } from './harness/postgres.js';
import { type RenderSim, startRenderSim } from './harness/render-sim.js';
import { tempDir } from './harness/tmp.js';
import { type ExpandedJob, expandWorkflow, findJob, runJob } from './harness/workflow.js';

let render: RenderSim;
let dir: { path: string; cleanup(): Promise<void> };
beforeAll(async () => {
  [render, dir] = await Promise.all([startRenderSim({ timeScale: 0.1 }), tempDir('opskit-rollback-wf-')]);
});
afterAll(async () => {
  await render?.stop();
  await dir?.cleanup();
});

type Result = 'success' | 'failure' | 'skipped' | 'cancelled';

/** The job as the runner sees it once the jobs it needs ended with these results. */
function after(job: ExpandedJob, results: Record<string, Result>): ExpandedJob {
  const needs = Object.fromEntries(job.needs.map((n) => [n, { result: results[n] ?? 'success', outputs: {} }]));
  return { ...job, context: { ...job.context, needs } };
}

const runs = (job: ExpandedJob, status: 'success' | 'failure' = 'success') =>
  condition(job.if, { ...job.context, status });

async function expand(inputs: Record<string, unknown>) {
  const expanded = await expandWorkflow('.github/workflows/rollback.yml', {
    inputs: {
      environment: 'production',
      'rollback-app': false,
      'restore-database': true,
      'backup-source': 's3://backups/production/latest',
      confirm: 'shop',
      ...inputs,
    },
    secrets: { RENDER_API_KEY: render.apiKey, DATABASE_URL: 'postgres://u:p@127.0.0.1/shop' },
  });
  expect(expanded.problems).toEqual([]);
  return expanded;
}

describe('rollback.yml with restore-database', () => {
  const outcomes: ['works' | 'fails', 'success' | 'failure'][] = [
    ['works', 'success'],
    ['fails', 'failure'],
  ];
  it.each(outcomes)(
    'suspends the Render service before the restore and resumes it when the restore %s',
    async (_w, db) => {
      const service = render.addService({ name: `shop-restore-${db}` });
      const expanded = await expand({ service: service.id });
      const apiUrl = { 'deploy-render': { 'api-url': render.baseUrl } };

      const stop = after(findJob(expanded, 'stop-app'), { approve: 'success', app: 'skipped' });
      expect(runs(stop)).toBe(true);
      const [suspend] = await runJob(stop, { endpoints: apiUrl });
      expect(suspend!.run!.code).toBe(0);
      expect(render.service(service.id).suspended).toBe(true);

      const database = after(findJob(expanded, 'database'), {
        approve: 'success',
        app: 'skipped',
        'stop-app': 'success',
        'maintenance-on': 'skipped',
      });
      expect(runs(database)).toBe(true);

      const start = after(findJob(expanded, 'start-app'), { 'stop-app': 'success', database: db });
      expect(runs(start, db)).toBe(true);
      const [resume] = await runJob(start, { endpoints: apiUrl });
      expect(resume!.run!.code).toBe(0);
      expect(render.service(service.id).suspended).toBe(false);
      expect(render.violations).toEqual([]);

      // The incident job follows a failed restore, and the smoke tests do not run after one.
      const incident = after(findJob(expanded, 'incident'), { database: db, check: 'success', approve: 'success' });
      expect(runs(incident, db)).toBe(db === 'failure');
    },
    60_000,
  );

  it('does not restore when the app could not be stopped, and starts it again all the same', async () => {
    const expanded = await expand({ service: 'srv-missing1' });
    const database = after(findJob(expanded, 'database'), { 'stop-app': 'failure', 'maintenance-on': 'skipped' });
    expect(runs(database, 'failure')).toBe(false);
    const start = after(findJob(expanded, 'start-app'), { 'stop-app': 'failure', database: 'skipped' });
    expect(runs(start, 'failure')).toBe(true);
  });

  it('runs maintenance-command before and resume-command after the restore, in jobs without secrets', async () => {
    const on = path.join(dir.path, 'maintenance-on');
    const off = path.join(dir.path, 'maintenance-off');
    const expanded = await expand({
      'upstream-file': '/etc/nginx/conf.d/app-upstream.conf',
      'maintenance-command': `touch ${on}`,
      'resume-command': `test -f ${on} && touch ${off}`,
    });
    expect(findJob(expanded, 'stop-app').if).toBeDefined();
    expect(runs(after(findJob(expanded, 'stop-app'), {}))).toBe(false); // no Render service behind nginx

    const maintenanceOn = after(findJob(expanded, 'maintenance-on'), { approve: 'success', app: 'skipped' });
    expect(runs(maintenanceOn)).toBe(true);
    const [step] = await runJob(maintenanceOn, { runShell: true });
    expect(step!.shell!.code).toBe(0);
    expect(existsSync(on)).toBe(true);

    const maintenanceOff = after(findJob(expanded, 'maintenance-off'), {
      'maintenance-on': 'success',
      database: 'failure',
    });
    expect(runs(maintenanceOff, 'failure')).toBe(true);
    const [resume] = await runJob(maintenanceOff, { runShell: true });
    expect(resume!.shell!.code).toBe(0);
    expect(existsSync(off)).toBe(true);
    for (const id of ['maintenance-on', 'maintenance-off']) {
      const text = JSON.stringify(findJob(expanded, id).steps);
      expect(text).not.toMatch(/secrets\./);
    }
    expect(readFileSync(path.join(process.cwd(), '.github/workflows/rollback.yml'), 'utf8')).toMatch(
      /stop-app-during-restore:\n\s+description:/,
    );
  }, 60_000);

  it('leaves the app running with stop-app-during-restore: false', async () => {
    const expanded = await expand({ service: 'srv-keep1', 'stop-app-during-restore': false });
    expect(runs(after(findJob(expanded, 'stop-app'), { approve: 'success', app: 'skipped' }))).toBe(false);
    const start = after(findJob(expanded, 'start-app'), { 'stop-app': 'skipped', database: 'success' });
    expect(runs(start)).toBe(false);
  });
});

describe('rollback.yml with migrate-to', () => {
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('rolls the schema back with the repository rollback/ SQL (guide 002), from the exact with: block', async () => {
    await pg.psql('CREATE DATABASE shop');
    const repo = path.join(dir.path, 'repo');
    mkdirSync(path.join(repo, 'migrations'), { recursive: true });
    mkdirSync(path.join(repo, 'rollback'), { recursive: true });
    writeFileSync(path.join(repo, 'migrations', '20250101_clients.sql'), 'CREATE TABLE clients (id int);\n');
    writeFileSync(path.join(repo, 'migrations', '20250115_add_jobs_table.sql'), 'CREATE TABLE jobs (id int);\n');
    writeFileSync(path.join(repo, 'rollback', '20250115_add_jobs_table.sql'), 'DROP TABLE IF EXISTS jobs;\n');
    const up = await runAction('migrate-with-backup', { 'database-url': pg.url('shop') }, { cwd: repo });
    expect(up.outputs.outcome).toBe('applied');

    const expanded = await expandWorkflow('.github/workflows/rollback.yml', {
      inputs: {
        environment: 'production',
        'rollback-app': false,
        'migrate-to': '20250101',
        'migrate-backup-destination': path.join(dir.path, 'pre-rollback'),
      },
      secrets: { DATABASE_URL: pg.url('shop') },
    });
    expect(expanded.problems).toEqual([]);
    const [check] = await runJob(findJob(expanded, 'check'), { runShell: true });
    expect(check!.shell!.code).toBe(0);
    const job = after(findJob(expanded, 'migrate-down'), { approve: 'success', app: 'skipped' });
    expect(runs(job)).toBe(true);
    const steps = await runJob(job, { cwd: repo });
    const migrate = steps.find((s) => s.step.id === 'migrate')!.run!;
    if (migrate.code !== 0) throw new Error(migrate.stdout);
    expect(migrate.outputs.outcome).toBe('rolled-back');
    expect(await pg.psql("SELECT to_regclass('jobs') IS NULL", 'shop')).toBe('t');
    expect(migrate.visible).not.toContain(pg.password);
  }, 120_000);

  it('refuses migrate-to together with restore-database in the check job', async () => {
    const expanded = await expand({ service: 'srv-x1', 'migrate-to': '1' });
    const [check] = await runJob(findJob(expanded, 'check'), { runShell: true });
    expect(check!.shell!.code).toBe(1);
    expect(check!.shell!.stdout).toContain('migrate-to and restore-database: choose one');
  });
});

describe('rollback.yml with notify-on-success', () => {
  it('tells Slack the rollback is complete, with the version now live, and stays quiet after a failure', async () => {
    const [gh, notify] = await Promise.all([startGitHubSim(), startNotifySim()]);
    try {
      const expanded = await expandWorkflow('.github/workflows/rollback.yml', {
        inputs: { environment: 'production', service: 'srv-shop1', 'notify-on-success': true, version: '1.1.0' },
        secrets: { RENDER_API_KEY: 'k', SLACK_WEBHOOK_URL: notify.slack.url },
        github: { token: gh.token },
      });
      expect(expanded.problems).toEqual([]);
      const ended = { check: 'success', approve: 'success', app: 'success', verify: 'success' } as const;
      const notifyJob = after(findJob(expanded, 'notify'), {
        ...ended,
        database: 'skipped',
        'migrate-down': 'skipped',
      });
      expect(runs(notifyJob)).toBe(true);
      expect(runs(after(findJob(expanded, 'notify'), { ...ended, verify: 'failure' }), 'failure')).toBe(false);
      const [step] = await runJob(notifyJob, {
        env: { GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: `${gh.repo.owner}/${gh.repo.name}` },
      });
      expect(step!.run!.code).toBe(0);
      const text = JSON.stringify(notify.slack.messages.at(-1));
      expect(text).toContain('ROLLBACK COMPLETE - production');
      expect(text).toContain('*Version now live:* 1.1.0');
      expect(notify.violations).toEqual([]);
    } finally {
      await Promise.all([gh.stop(), notify.stop()]);
    }
  }, 60_000);
});
