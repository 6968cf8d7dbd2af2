/**
 * promote.yml through the workflow-expansion harness: the starter's push stages, its schedule and dispatch promote;
 * the soak job runs through the bundles against the Render and GitHub simulators and a real HTTP app, and production
 * gets exactly the commit staging ran, or nothing when staging did not soak, had an incident, or fails its checks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type GitHubSim, startGitHubSim, githubRunEnv } from './harness/github-sim.js';
import { json, startHttpServer, type TestServer } from './harness/http-server.js';
import { type RenderSim, startRenderSim } from './harness/render-sim.js';
import { condition, interpolate } from '../scripts/runner/expressions.js';
import { expandWorkflow, findJob, runJob, type StepRun } from './harness/workflow.js';
import { runAction } from './harness/action.js';

let render: RenderSim;
let gh: GitHubSim;
let staging: TestServer;
let healthy = true;

beforeAll(async () => {
  [render, gh] = await Promise.all([startRenderSim({ timeScale: 0.1 }), startGitHubSim()]);
  staging = await startHttpServer((_req, res) =>
    healthy ? json(res, 200, { status: 'healthy' }) : json(res, 503, { status: 'degraded' }),
  );
}, 60_000);
afterAll(async () => {
  await Promise.all([render?.stop(), gh?.stop(), staging?.close()]);
});

const ghEnv = () => ({
  ...githubRunEnv(gh),
  GITHUB_RUN_ID: '77',
  GITHUB_WORKFLOW: 'Promote to production',
});

async function promote(
  inputs: Record<string, unknown>,
): Promise<{ steps: StepRun[]; productionRuns: boolean; productionWith: Record<string, unknown> }> {
  const expanded = await expandWorkflow('.github/workflows/promote.yml', {
    inputs: {
      phase: 'promote',
      'staging-service': inputs['staging-service'],
      'production-service': 'srv-production1',
      'staging-base-url': staging.url,
      'production-base-url': 'https://shop.example.com',
      ...inputs,
    },
    secrets: { RENDER_API_KEY: render.apiKey },
    github: { token: gh.token },
  });
  expect(expanded.problems).toEqual([]);
  const soaked = findJob(expanded, 'soaked');
  expect(condition(soaked.if, soaked.context)).toBe(true);
  const steps = await runJob(soaked, {
    endpoints: { 'deploy-render': { 'api-url': render.baseUrl } },
    env: ghEnv(),
    runShell: true,
  });
  const failed = steps.some((s) => (s.run && s.run.code !== 0) || (s.shell && s.shell.code !== 0));
  const staged = steps.find((s) => s.step.id === 'staging')?.run?.outputs ?? {};
  // The production job, evaluated with what the soak job produced.
  const production = findJob(expanded, 'production');
  const needs = {
    soaked: { result: failed ? 'failure' : 'success', outputs: { commit: staged.commit, image: staged.image } },
  };
  const context = { ...production.context, needs };
  return {
    steps,
    productionRuns: condition(production.if, context),
    productionWith: Object.fromEntries(
      Object.entries(productionWith(expanded.doc)).map(([k, v]) => [k, interpolate(v, context)]),
    ),
  };
}

/** The production job's `with:` as written, to evaluate with the soak job's outputs. */
function productionWith(doc: Record<string, unknown>): Record<string, unknown> {
  const jobs = doc.jobs as Record<string, { with?: Record<string, unknown> }>;
  return jobs.production!.with!;
}

describe('promote.yml', () => {
  it('stages on push and promotes on a schedule or a dispatch (the starter)', async () => {
    for (const [event, phase] of [
      ['push', 'stage'],
      ['schedule', 'promote'],
      ['workflow_dispatch', 'promote'],
    ] as const) {
      const expanded = await expandWorkflow('workflows-templates/promote.yml', {
        github: { event_name: event, sha: 'a'.repeat(40) },
        secrets: { RENDER_API_KEY: 'k' },
      });
      expect(expanded.problems).toEqual([]);
      const job = findJob(expanded, 'promote');
      expect(job.call!.inputs.phase).toBe(phase);
      const stage = findJob(expanded, 'promote/stage');
      expect(condition(stage.if, stage.context)).toBe(phase === 'stage');
    }
  });

  it('promotes the commit staging ran once it has soaked, with no incident and healthy smoke tests', async () => {
    const service = render.addService({ name: 'shop-staging-ok' }); // live for an hour
    const live = render.service(service.id).deploys[0] as { commit: { id: string } };
    const r = await promote({ 'staging-service': service.id, 'staging-deploy-id': service.liveDeployId, soak: '30m' });
    for (const s of r.steps)
      if (s.run)
        expect({ step: s.step.name, code: s.run.code, out: s.run.stdout.slice(-300) }).toMatchObject({ code: 0 });
    expect(r.steps.map((s) => s.status)).toEqual(['ran', 'ran', 'ran', 'ran']);
    expect(r.productionRuns).toBe(true);
    expect(r.productionWith.commit).toBe(live.commit.id);
    expect(r.productionWith['image-url']).toBe('');
    expect(render.violations).toEqual([]);
    expect(gh.violations).toEqual([]);
  }, 120_000);

  it('does not promote a deploy that has not soaked yet', async () => {
    const service = render.addService({ name: 'shop-staging-young' });
    const r = await promote({ 'staging-service': service.id, soak: '2h' });
    const status = r.steps.find((s) => s.step.id === 'staging')!.run!;
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/less than live-for 2h00m00s/);
    expect(r.steps.slice(2).map((s) => s.status)).toEqual(['skipped', 'skipped']);
    expect(r.productionRuns).toBe(false);
  }, 120_000);

  it('does not promote while staging has an incident', async () => {
    const service = render.addService({ name: 'shop-staging-incident' });
    const opened = await runAction(
      'post-incident-issue',
      { 'incident-key': 'deploy / staging', environment: 'staging' },
      { env: ghEnv(), githubToken: gh.token },
    );
    expect(opened.code).toBe(0);
    const r = await promote({ 'staging-service': service.id, soak: '30m' });
    const check = r.steps[2]!.run!;
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/incident 'deploy \/ staging' was not quiet: incident #\d+ is open/);
    expect(r.productionRuns).toBe(false);
  }, 120_000);

  it('does not promote when staging fails its smoke tests again', async () => {
    const service = render.addService({ name: 'shop-staging-sick' });
    healthy = false;
    try {
      const r = await promote({
        'staging-service': service.id,
        soak: '30m',
        'staging-environment': 'staging-2',
        'smoke-timeout': '3s',
      });
      expect(r.steps[3]!.run!.code).toBe(1);
      expect(r.productionRuns).toBe(false);
    } finally {
      healthy = true;
    }
  }, 60_000);

  it('refuses a commit or image given to the promote phase: production only gets what staging ran', async () => {
    const service = render.addService({ name: 'shop-staging-guard' });
    const r = await promote({ 'staging-service': service.id, soak: '30m', commit: 'b'.repeat(40) });
    expect(r.steps[0]!.shell!.code).toBe(1);
    expect(r.steps[0]!.shell!.stdout).toContain('phase promote deploys what staging ran');
    expect(r.steps.slice(1).every((s) => s.status === 'skipped')).toBe(true);
    expect(r.productionRuns).toBe(false);
  }, 60_000);
});
