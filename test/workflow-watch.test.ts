/**
 * watch.yml, the daily watch, through the workflow-expansion harness: its checks run through the bundles against a
 * real HTTPS app (a certificate valid for 5 days), a backup folder made by db-backup from a real PostgreSQL, and the
 * GitHub simulator; each finding opens its own incident, and a later watch that finds it cleared resolves it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { condition } from '../scripts/runner/expressions.js';
import { runAction } from './harness/action.js';
import { type GitHubSim, startGitHubSim, githubRunEnv } from './harness/github-sim.js';
import { json, selfSignedCert, startHttpServer, type TestServer } from './harness/http-server.js';
import { type PgServer, startPostgres } from './harness/postgres.js';
import { tempDir } from './harness/tmp.js';
import { type ExpandedJob, expandWorkflow, findJob, runJob, runJobWithOutputs } from './harness/workflow.js';

let gh: GitHubSim;
let pg: PgServer;
let app: TestServer;
let cert: Awaited<ReturnType<typeof selfSignedCert>>;
let dir: { path: string; cleanup(): Promise<void> };
let healthy = true;

beforeAll(async () => {
  [gh, pg, cert, dir] = await Promise.all([
    startGitHubSim(),
    startPostgres(),
    selfSignedCert(5),
    tempDir('opskit-watch-'),
  ]);
  app = await startHttpServer(
    (_req, res) => (healthy ? json(res, 200, { status: 'healthy' }) : json(res, 503, { status: 'down' })),
    cert,
  );
  const backup = await runAction('db-backup', { 'database-url': pg.url('postgres'), destination: dir.path });
  if (backup.code !== 0) throw new Error(backup.stdout);
}, 120_000);
afterAll(async () => {
  await Promise.all([gh?.stop(), pg?.stop(), app?.close()]);
  await cert?.cleanup();
  await dir?.cleanup();
});

const env = () => ({
  NODE_EXTRA_CA_CERTS: cert.certFile,
  ...githubRunEnv(gh),
  GITHUB_WORKFLOW: 'Daily watch',
});

async function watch(inputs: Record<string, unknown>) {
  const expanded = await expandWorkflow('.github/workflows/watch.yml', {
    inputs: {
      'base-url': app.url,
      'smoke-timeout': '3s',
      'backup-source': `${dir.path}/latest`,
      ...inputs,
    },
    github: { token: gh.token },
  });
  expect(expanded.problems).toEqual([]);
  const checks = await runJobWithOutputs(findJob(expanded, 'checks'), { env: env() });
  const backupJob = findJob(expanded, 'backup');
  const backup = condition(backupJob.if, backupJob.context)
    ? await runJobWithOutputs(backupJob, { env: env() })
    : { outputs: { backup: '' }, result: 'skipped' as const };
  expect(checks.result).toBe('success'); // continue-on-error: a finding does not fail the job
  const incidents: ExpandedJob = findJob(expanded, 'incidents');
  const needs = {
    checks: { result: 'success', outputs: checks.outputs },
    backup: { result: backup.result, outputs: backup.outputs },
  };
  const steps = await runJob({ ...incidents, context: { ...incidents.context, needs } }, { env: env() });
  for (const s of steps)
    if (s.run) expect({ step: s.step.name, code: s.run.code }).toEqual({ step: s.step.name, code: 0 });
  return {
    findings: { ...checks.outputs, ...backup.outputs },
    ran: steps.filter((s) => s.status === 'ran').map((s) => s.step.name),
  };
}

const openIssues = (suffix: string) =>
  gh.issues.filter(
    (i) => i.state === 'open' && (i.body ?? '').includes(encodeURIComponent(`watch / production / ${suffix}`)),
  );

describe('watch.yml', () => {
  it('opens one incident per finding, and resolves each when a later watch finds it cleared', async () => {
    healthy = false;
    const bad = await watch({ 'tls-min-days': '30', 'backup-max-age': '1s' });
    expect(bad.findings).toEqual({ smoke: 'failure', tls: 'failure', backup: 'failure' });
    expect(bad.ran).toEqual([
      'Smoke checks failing',
      'Certificate about to expire',
      'Backup stale or missing',
      'Incidents past their response target',
    ]);
    expect(openIssues('smoke')).toHaveLength(1);
    expect(openIssues('tls')).toHaveLength(1);
    expect(openIssues('backup')).toHaveLength(1);
    expect(openIssues('tls')[0]!.title).toBe('[P2] production: TLS certificate expires within 30 days');

    healthy = true;
    const good = await watch({ 'tls-min-days': '3', 'backup-max-age': '26h' });
    expect(good.findings).toEqual({ smoke: 'success', tls: 'success', backup: 'success' });
    expect(good.ran).toEqual([
      'Smoke checks pass again',
      'Certificate renewed',
      'Backups fresh again',
      'Incidents past their response target',
    ]);
    for (const f of ['smoke', 'tls', 'backup']) expect(openIssues(f)).toHaveLength(0);
    expect(gh.violations).toEqual([]);
  }, 180_000);

  it('skips the certificate with tls-min-days 0 and the backup without backup-source', async () => {
    const r = await watch({ 'tls-min-days': '0', 'backup-source': '' });
    expect(r.findings).toEqual({ smoke: 'success', tls: 'skipped', backup: '' });
    expect(r.ran).toEqual(['Smoke checks pass again', 'Incidents past their response target']);
  }, 120_000);
});
