/**
 * deploy-render through the bundle against the Render simulator, which validates every request and
 * response against Render's OpenAPI spec (its violations must stay empty).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { runAction, type ActionRun } from '../harness/action.js';
import { type RenderSim, startRenderSim } from '../harness/render-sim.js';

let sim: RenderSim;
let n = 0;

beforeAll(async () => {
  sim = await startRenderSim();
}, 60_000);
afterAll(() => sim?.stop());
afterEach(() => {
  expect(sim.violations).toEqual([]);
});

function service(o: { image?: boolean; suspended?: boolean } = {}) {
  return sim.addService({ name: `web-${++n}`, url: `https://web-${n}.onrender.com`, ...o });
}

async function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  const run = await runAction('deploy-render', {
    'api-key': sim.apiKey,
    'api-url': sim.baseUrl,
    timeout: '20s',
    ...inputs,
  });
  expect(run.visible).not.toContain(sim.apiKey);
  return run;
}

const fast = (...statuses: string[]) => ({ statuses: statuses.map((status) => ({ status, ms: 150 })) });

describe('deploy-render', () => {
  it('deploys and waits until live', async () => {
    const s = service();
    sim.scriptDeploy(s.id, { ...fast('build_in_progress', 'update_in_progress', 'live'), commitId: 'abc1234def' });
    const run = await deploy({ 'service-id': s.id, commit: 'abc1234def' });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('live');
    expect(run.outputs['previous-deploy-id']).toBe(s.liveDeployId);
    expect(run.outputs['rolled-back']).toBe('false');
    expect(run.outputs['service-url']).toBe(`https://web-${n}.onrender.com`);
    expect(sim.deploysTriggered(s.id)).toBe(1);
    expect(run.summary).toMatch(/\| build_in_progress \|/);
  }, 60_000);

  it.each([['build_failed'], ['update_failed'], ['pre_deploy_failed']])(
    'rolls back to the previous deploy when the deploy ends %s',
    async (failure) => {
      const s = service();
      sim.scriptDeploy(s.id, fast('build_in_progress', failure));
      const run = await deploy({ 'service-id': s.id });
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe(failure);
      expect(run.outputs['rolled-back']).toBe('true');
      expect(sim.deploysTriggered(s.id)).toBe(1);
      expect(sim.rollbacksTriggered(s.id)).toBe(1);
      expect(run.stdout).toContain(`rolled back to ${s.liveDeployId}`);
    },
    60_000,
  );

  it('cancels and rolls back a deploy that outlives the timeout', async () => {
    const s = service();
    sim.scriptDeploy(s.id, { statuses: [{ status: 'build_in_progress', ms: 60_000 }] });
    const run = await deploy({ 'service-id': s.id, timeout: '3s' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('it was canceled');
    expect(run.outputs['rolled-back']).toBe('true');
    expect(sim.requests.some((r) => r.method === 'POST' && r.path.endsWith('/cancel'))).toBe(true);
  }, 60_000);

  it('finds a queued deploy (202 without a body) in the deploy list', async () => {
    const s = service();
    sim.scriptDeploy(s.id, { ...fast('build_in_progress', 'live'), respond202: true });
    const run = await deploy({ 'service-id': s.id });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('queued the deploy (202');
    expect(sim.deploysTriggered(s.id)).toBe(1);
  }, 60_000);

  it('waits out a 429 storm and 5xx answers while polling, triggering once', async () => {
    const s = service();
    sim.scriptDeploy(s.id, fast('build_in_progress', 'update_in_progress', 'live'));
    sim.fault({ method: 'POST', path: /\/deploys$/, status: 429, retryAfterSeconds: 1, count: 2 });
    sim.fault({ method: 'GET', path: /\/deploys\/dep-/, status: 503, count: 2 });
    const run = await deploy({ 'service-id': s.id });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(sim.deploysTriggered(s.id)).toBe(1);
  }, 60_000);

  it('triggers exactly one deploy when the connection drops after Render created it', async () => {
    const s = service();
    sim.scriptDeploy(s.id, { ...fast('build_in_progress', 'live'), dropConnectionAfterCreate: true });
    const run = await deploy({ 'service-id': s.id });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('outcome is unknown');
    expect(sim.deploysTriggered(s.id)).toBe(1);
  }, 60_000);

  it('deploys an image-backed service whose deploys have no commit', async () => {
    const s = service({ image: true });
    sim.scriptDeploy(s.id, fast('update_in_progress', 'live'));
    const run = await deploy({ 'service-id': s.id });
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('live');
  }, 60_000);

  it('reports a superseded deploy as superseded, success by default, failure on request', async () => {
    const s = service();
    sim.scriptDeploy(s.id, { ...fast('build_in_progress'), supersededBy: 'next' });
    const run = await deploy({ 'service-id': s.id });
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('superseded');
    expect(run.summary).toContain('superseded by');
    sim.scriptDeploy(s.id, { ...fast('build_in_progress'), supersededBy: 'next' });
    const strict = await deploy({
      'service-id': s.id,
      'superseded-is-failure': 'true',
      'rollback-on-failure': 'false',
    });
    expect(strict.code).toBe(1);
  }, 60_000);

  it('refuses to deploy a suspended service unless told to resume it', async () => {
    const s = service({ suspended: true });
    const refused = await deploy({ 'service-id': s.id });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('is suspended');
    expect(sim.deploysTriggered(s.id)).toBe(0);
    sim.scriptDeploy(s.id, fast('build_in_progress', 'live'));
    const resumed = await deploy({ 'service-id': s.id, 'resume-if-suspended': 'true' });
    expect(resumed.stdout).not.toContain('::error::');
    expect(resumed.code).toBe(0);
  }, 60_000);

  it('rolls back to a given deploy and to the previous one', async () => {
    const s = sim.addService({ name: `web-${++n}`, history: 3 });
    const before = sim.service(s.id).deploys as { id: string; status: string }[];
    const older = before.find((d) => d.status === 'deactivated')!;
    const named = await deploy({ 'service-id': s.id, action: 'rollback', 'deploy-id': older.id });
    expect(named.code).toBe(0);
    expect(sim.rollbacksTriggered(s.id)).toBe(1);
    const previous = await deploy({ 'service-id': s.id, action: 'rollback', 'deploy-id': 'previous' });
    expect(previous.code).toBe(0);
    expect(sim.rollbacksTriggered(s.id)).toBe(2);
  }, 60_000);

  it('triggers through the deploy hook and follows the deploy through the API', async () => {
    const s = service();
    sim.scriptDeploy(s.id, fast('build_in_progress', 'live'));
    const hook = sim.deployHookUrl(s.id);
    const run = await deploy({ 'deploy-hook-url': hook });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('live');
    expect(sim.deploysTriggered(s.id)).toBe(1);
    expect(run.visible).not.toContain(new URL(hook).searchParams.get('key')!);
  }, 60_000);

  it('triggers through the deploy hook alone when no api-key is given, without following it', async () => {
    const s = service();
    sim.scriptDeploy(s.id, fast('build_in_progress', 'live'));
    const hook = sim.deployHookUrl(s.id);
    const run = await runAction('deploy-render', { 'deploy-hook-url': hook });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('triggered');
    expect(run.outputs['deploy-id']).toMatch(/^dep-/);
    expect(sim.deploysTriggered(s.id)).toBe(1);
    expect(run.visible).not.toContain(new URL(hook).searchParams.get('key')!);
  }, 60_000);

  it.each([
    [
      'both commit and image-url',
      { commit: 'abc1234', 'image-url': 'docker.io/x/y:1' },
      "inputs 'commit' and 'image-url'",
    ],
    ['an unknown action', { action: 'redeploy' }, "input 'action'"],
    ['scale without instances', { action: 'scale' }, "input 'instances'"],
    ['a bad timeout', { timeout: 'forever' }, "input 'timeout'"],
    ['a bad service id', { 'service-id': 'web-1' }, "input 'service-id'"],
    ['no service', { 'service-id': '' }, "input 'service-id' or 'service-name'"],
    ['a commit that is not a SHA', { commit: 'main' }, "input 'commit'"],
    ['instances with deploy', { instances: '3' }, "input 'instances'"],
    ['a bad deploy id', { action: 'rollback', 'deploy-id': 'latest' }, "input 'deploy-id'"],
  ])(
    'rejects %s and sends nothing',
    async (_what, inputs, named) => {
      const s = service();
      const before = sim.requests.length;
      const run = await deploy({ 'service-id': s.id, ...(inputs as Record<string, string>) });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`::error::deploy-render failed: ${named}`);
      expect(sim.requests.length).toBe(before);
    },
    30_000,
  );
});

describe('deploy-render GitHub Deployments', () => {
  it('moves a GitHub Deployment to success, and to failure saying so when the deploy was rolled back', async () => {
    const { githubRunEnv, startGitHubSim } = await import('../harness/github-sim.js');
    const github = await startGitHubSim();
    try {
      const env = {
        ...githubRunEnv(github),
        GITHUB_RUN_ID: '42',
        GITHUB_SHA: 'b'.repeat(40),
      };
      const withGitHub = { 'github-token': github.token, environment: 'production' };
      const good = service();
      sim.scriptDeploy(good.id, fast('build_in_progress', 'live'));
      const ok = await runAction(
        'deploy-render',
        { 'api-key': sim.apiKey, 'api-url': sim.baseUrl, 'service-id': good.id, ...withGitHub },
        { env },
      );
      expect(ok.code).toBe(0);
      expect(ok.outputs['deployment-id']).toMatch(/^\d+$/);
      const first = Number(ok.outputs['deployment-id']);
      const states = (id: number) =>
        github.deploymentStatuses.filter((s) => s.deployment_id === id).map((s) => s.state);
      expect(states(first)).toEqual(['in_progress', 'success']);

      const bad = service();
      sim.scriptDeploy(bad.id, fast('build_in_progress', 'build_failed'));
      const failed = await runAction(
        'deploy-render',
        { 'api-key': sim.apiKey, 'api-url': sim.baseUrl, 'service-id': bad.id, ...withGitHub },
        { env },
      );
      expect(failed.code).toBe(1);
      const second = Number(failed.outputs['deployment-id']);
      expect(states(second)).toEqual(['in_progress', 'failure']);
      const last = github.deploymentStatuses.filter((s) => s.deployment_id === second).at(-1)!;
      expect(last.description).toContain('rolled back');
      expect(last.log_url).toContain('/actions/runs/42');
      expect(github.violations).toEqual([]);
      expect(failed.visible).not.toContain(github.token);
    } finally {
      await github.stop();
    }
  }, 90_000);
});
