/**
 * The root action (the deploy checklist) end to end through its bundle: real PostgreSQL, the Render
 * and GitHub simulators (both validating against their vendors' OpenAPI specs), and a real HTTP app.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createS3Store } from '../../src/storage/s3.js';
import { emptyOutputs, runAction, type ActionRun } from '../harness/action.js';
import { type GitHubSim, startGitHubSim, githubRunEnv } from '../harness/github-sim.js';
import { json, startHttpServer, type TestServer } from '../harness/http-server.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { type RenderSim, startRenderSim } from '../harness/render-sim.js';
import { type S3Server, startS3 } from '../harness/s3.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let render: RenderSim;
let github: GitHubSim;
let app: TestServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let healthy = true;

beforeAll(async () => {
  [pg, render, github, dir] = await Promise.all([
    startPostgres(),
    startRenderSim(),
    startGitHubSim(),
    tempDir('opskit-checklist-'),
  ]);
  app = await startHttpServer((_req, res) =>
    healthy
      ? json(res, 200, { status: 'healthy', checks: { database: 'healthy' } })
      : json(res, 503, { status: 'degraded', checks: { database: 'unhealthy' } }),
  );
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(
    "CREATE TABLE products (id serial PRIMARY KEY, name text); INSERT INTO products (name) SELECT 'p' || g FROM generate_series(1, 2000) g;",
    'shop',
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), render?.stop(), github?.stop(), app?.close(), dir?.cleanup()]);
});

async function release(
  name: string,
  migration: string,
  version = name === 'good' ? '001' : '002',
): Promise<{ run: ActionRun; serviceId: string; liveBefore: string }> {
  const migrations = path.join(dir.path, name, 'migrations');
  mkdirSync(migrations, { recursive: true });
  writeFileSync(path.join(migrations, `${version}_${name}.sql`), migration);
  const service = render.addService({ name: `shop-${name}`, url: app.url });
  render.scriptDeploy(service.id, {
    statuses: [
      { status: 'build_in_progress', ms: 200 },
      { status: 'live', ms: 200 },
    ],
  });
  const run = seeded(
    await runAction(
      'checklist',
      {
        environment: 'production',
        'database-url': pg.url('shop'),
        'backup-destination': path.join(dir.path, name, 'backups'),
        'migrations-dir': migrations,
        'render-api-key': render.apiKey,
        'render-api-url': render.baseUrl,
        'render-service-id': service.id,
        'smoke-checks': `- name: health\n  url: ${app.url}/health\n  expect-json:\n    $.checks.*: healthy`,
        'smoke-timeout': '3s',
        'github-token': github.token,
      },
      { env: ghEnv() },
    ),
  );
  return { run, serviceId: service.id, liveBefore: service.liveDeployId };
}

function ghEnv(): Record<string, string> {
  const seededRun = github.seedRun({
    workflowName: 'deploy',
    jobs: [{ name: 'deploy', conclusion: 'failure', steps: [{ name: 'checklist', conclusion: 'failure' }] }],
  });
  return {
    ...githubRunEnv(github),
    GITHUB_RUN_ID: String(seededRun.runId),
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_JOB: 'deploy',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'push',
  };
}

function seeded(run: ActionRun): ActionRun {
  expect(run.visible).not.toContain(pg.password);
  expect(run.visible).not.toContain(render.apiKey);
  expect(run.visible).not.toContain(github.token);
  return run;
}

describe('the deploy checklist (root action)', () => {
  it('ticks every item for a good release', async () => {
    healthy = true;
    const { run } = await release(
      'good',
      'CREATE TABLE reviews (id serial PRIMARY KEY, product_id int REFERENCES products(id));\n',
    );
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs.outcome).toBe('passed');
    expect(run.outputs['backup-uri']).toMatch(/pre-deploy-shop-.*\.dump\.zst$/);
    for (const item of [
      'Backup completed and verified',
      'Migrations applied',
      'Deployed and live',
      'Smoke tests pass',
    ]) {
      expect(run.summary).toMatch(new RegExp(`\\| ✅ \\| ${item} \\|`));
    }
    expect(await pg.psql("SELECT to_regclass('reviews') IS NOT NULL", 'shop')).toBe('t');
    expect(github.issues).toHaveLength(0);
    expect(render.violations).toEqual([]);
    expect(github.violations).toEqual([]);
  }, 180_000);

  it('rolls back a release whose smoke test fails and opens an incident issue naming the failed item', async () => {
    healthy = false;
    const { run, serviceId, liveBefore } = await release('bad', 'CREATE TABLE wishlists (id serial PRIMARY KEY);\n');
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed');
    expect(run.outputs['failed-step']).toBe('smoke');
    expect(run.summary).toMatch(/\| ❌ \| Smoke tests pass \|/);
    expect(run.summary).toMatch(/\| ✅ \| Rolled back \|/);
    expect(render.rollbacksTriggered(serviceId)).toBe(1);
    expect(render.service(serviceId).liveDeployId).not.toBe(undefined);
    void liveBefore;
    expect(github.issues).toHaveLength(1);
    expect(run.outputs['incident-issue-url']).toBe(github.issues[0]!.html_url);
    expect(github.issues[0]!.body).toContain('$.checks.database');
    expect(render.violations).toEqual([]);
    expect(github.violations).toEqual([]);
  }, 180_000);
});

describe('the checklist backs up to S3 with the S3 inputs db-backup has', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('stores the pre-deploy backup in the bucket, credentials never shown', async () => {
    const run = seeded(
      await runAction('checklist', {
        'database-url': pg.url('shop'),
        'backup-destination': `s3://${s3.bucket}/pre-deploy`,
        's3-endpoint': s3.endpoint,
        's3-force-path-style': 'true',
        'aws-access-key-id': s3.accessKeyId,
        'aws-secret-access-key': s3.secretAccessKey,
      }),
    );
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs['backup-uri']).toMatch(
      new RegExp(`^s3://${s3.bucket}/pre-deploy/pre-deploy-shop-.*\\.dump\\.zst$`),
    );
    expect(run.visible).not.toContain(s3.secretAccessKey);
    // In the bucket: the archive and its manifest, written by the root action through the S3 store.
    const store = createS3Store({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const keys = (await store.list('pre-deploy/').finally(() => store.close())).map((o) => o.key);
    expect(keys.some((k) => /\.dump\.zst$/.test(k))).toBe(true);
    expect(keys.some((k) => k.endsWith('.manifest.json'))).toBe(true);
  }, 120_000);

  it('refuses the S3 inputs without a database-url, before anything runs', async () => {
    const run = await runAction('checklist', {
      'smoke-url': `${app.url}/health`,
      's3-endpoint': s3.endpoint,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("input 's3-endpoint' needs input 'database-url'");
  }, 60_000);
});

describe('the checklist puts the database back with the app stopped', () => {
  it('suspends the Render service while a failed migration is restored from the backup, then resumes it', async () => {
    healthy = true;
    const before = await pg.psql(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
      'shop',
    );
    const { run, serviceId } = await release(
      'broken',
      '-- opskit:no-transaction\nCREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n',
      '003',
    );
    expect(run.code).toBe(1);
    expect(run.outputs['failed-step']).toBe('migrate');
    expect(run.stdout).toContain(`suspending Render service ${serviceId} while the database is put back`);
    expect(run.stdout).toContain(`resumed Render service ${serviceId}`);
    const actions = render.requests
      .filter((r) => r.method === 'POST' && r.path.startsWith(`/v1/services/${serviceId}/`))
      .map((r) => r.path.split('/').pop());
    expect(actions).toEqual(['suspend', 'resume']);
    expect(render.service(serviceId).suspended).toBe(false);
    expect(render.deploysTriggered(serviceId)).toBe(0); // no deploy after a failed migration
    expect(await pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", 'shop')).toBe(
      before,
    );
    expect(render.violations).toEqual([]);
  }, 180_000);
});

describe('the checklist checks every input, whichever parts run', () => {
  it.each([
    [
      'an unknown severity without github-token',
      { severity: 'SEV1' },
      "input 'severity': expected one of P0, P1, P2, P3",
    ],
    [
      'a slack-webhook-url that is not a URL',
      { 'slack-webhook-url': 'hooks.slack.com/x' },
      "input 'slack-webhook-url'",
    ],
    [
      'a slack-webhook-url without github-token',
      { 'slack-webhook-url': 'https://hooks.slack.com/services/T0/B0/x' },
      "input 'slack-webhook-url' needs input 'github-token'",
    ],
    ['a bad compression without database-url', { compression: 'brotli' }, "input 'compression'"],
    [
      'migrations-dir without database-url',
      { 'migrations-dir': 'db' },
      "input 'migrations-dir' needs input 'database-url'",
    ],
    [
      'a deploy-timeout without a service',
      { 'deploy-timeout': '10m' },
      "input 'deploy-timeout' needs input 'render-service-id'",
    ],
    ['a bad commit', { 'render-service-id': 'srv-x1', 'render-api-key': 'k', commit: 'main' }, "input 'commit'"],
    ['a smoke-timeout in words', { 'smoke-timeout': 'soon' }, "input 'smoke-timeout'"],
  ])(
    'refuses %s before anything runs',
    async (_what, extra, message) => {
      const requests = render.requests.length + github.requests.length + app.requests.length;
      const run = await runAction('checklist', { 'smoke-url': `${app.url}/health`, ...extra });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`::error::checklist failed: ${message}`);
      expect(run.stdout).not.toContain('internal error');
      expect(render.requests.length + github.requests.length + app.requests.length).toBe(requests);
      expect(run.outputs).toEqual(emptyOutputs('checklist'));
    },
    60_000,
  );
});
