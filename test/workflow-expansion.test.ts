/**
 * Every workflow file (the reusable workflows, this repository's own, and the starter workflows) expanded the way
 * GitHub runs it: inputs with their defaults, each job's and step's expressions evaluated, every `uses:` resolved
 * to an action (ours or a pinned third-party one) or a reusable workflow of ours (expanded in turn with the caller's
 * `with:`), every `with:` key checked against the action's inputs. Then some jobs run for real, through the bundles,
 * with their exact `with:` blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../scripts/runner/action.js';
import { type GitHubSim, startGitHubSim } from './harness/github-sim.js';
import { type RedisServer, redisCli, startRedis } from './harness/redis.js';
import { type RenderSim, startRenderSim } from './harness/render-sim.js';
import { tempDir } from './harness/tmp.js';
import { declaredInputs, declaredSecrets, expandWorkflow, findJob, readWorkflow, runJob } from './harness/workflow.js';

const FILES = ['.github/workflows', 'workflows-templates'].flatMap((dir) =>
  readdirSync(path.join(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `${dir}/${f}`)
    .sort(),
);

/** A call that satisfies the workflow: each required input given something of its type, every secret set. */
function sampleCall(file: string) {
  const doc = readWorkflow(file);
  const inputs = Object.fromEntries(
    Object.entries(declaredInputs(doc))
      .filter(([, spec]) => spec?.required)
      .map(([name, spec]) => [name, spec?.type === 'boolean' ? true : spec?.type === 'number' ? 1 : `sample-${name}`]),
  );
  // A workflow_call declares its secrets; an event-triggered workflow reads the repository's (each one it names).
  const named = [...readFileSync(path.resolve(ROOT, file), 'utf8').matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)];
  const names = new Set([...Object.keys(declaredSecrets(doc)), ...named.map((m) => m[1]!)]);
  const secrets = Object.fromEntries([...names].map((k) => [k, `secret-${k.toLowerCase()}`]));
  return { inputs, secrets, github: { token: 'ghs_sample', event_name: 'workflow_dispatch' } };
}

describe('every workflow file expands', () => {
  it('finds the 12 workflow files', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(FILES)('%s: every step resolves, every input exists, every expression evaluates', async (file) => {
    const expanded = await expandWorkflow(file, sampleCall(file));
    expect(expanded.problems).toEqual([]);
    expect(expanded.jobs.length).toBeGreaterThan(0);
    const walk = (jobs: typeof expanded.jobs): number =>
      jobs.reduce((n, j) => {
        for (const step of j.steps) expect(step.uses !== undefined || step.run !== undefined).toBe(true);
        expect(j.steps.length > 0 || j.call !== undefined).toBe(true);
        return n + j.steps.length + (j.call ? walk(j.call.jobs) : 0);
      }, 0);
    expect(walk(expanded.jobs)).toBeGreaterThan(0);
  });
});

describe('a typo GitHub would warn about fails the expansion', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  beforeAll(async () => (dir = await tempDir('opskit-typo-')));
  afterAll(() => dir.cleanup());

  it('in a step of a reusable workflow', async () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/backup.yml'), 'utf8');
    expect(text).toContain('          retention: ${{ inputs.retention }}');
    const file = path.join(dir.path, 'backup-typo.yml');
    await writeFile(file, text.replace('          retention: ${{', '          retension: ${{'));
    const expanded = await expandWorkflow(file, { inputs: { destination: '/tmp/b' }, secrets: { DATABASE_URL: 'x' } });
    expect(expanded.problems).toEqual([
      `${file} job backup step 'Back up, verify, apply retention': input 'retension' is not an input of actions/db-backup`,
    ]);
  });

  it('in the with: of a starter workflow calling a reusable one', async () => {
    const text = readFileSync(path.join(ROOT, 'workflows-templates/nightly-backup.yml'), 'utf8');
    const file = path.join(dir.path, 'nightly-typo.yml');
    await writeFile(file, text.replace('      destination: ', '      destinaton: '));
    const expanded = await expandWorkflow(file, { secrets: { DATABASE_URL: 'x' } });
    expect(expanded.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("input 'destinaton' is not declared by the workflow"),
        expect.stringContaining("required input 'destination' is not given"),
      ]),
    );
  });

  it('in an expression', async () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/backup.yml'), 'utf8');
    const file = path.join(dir.path, 'backup-expr.yml');
    await writeFile(file, text.replace('${{ inputs.retention }}', "${{ inputs.retention ||| 'x' }}"));
    const expanded = await expandWorkflow(file, { inputs: { destination: '/tmp/b' }, secrets: { DATABASE_URL: 'x' } });
    expect(expanded.problems.join('\n')).toMatch(/with retention: expression/);
  });
});

describe('jobs run with their exact with: blocks', () => {
  let redis: RedisServer;
  let render: RenderSim;
  let gh: GitHubSim;
  let dir: { path: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    [redis, render, gh, dir] = await Promise.all([
      startRedis(),
      startRenderSim({ timeScale: 0.1 }),
      startGitHubSim(),
      tempDir('opskit-wf-'),
    ]);
    await redisCli(redis, 'SET', 'k', 'v');
  }, 60_000);
  afterAll(async () => {
    await Promise.all([redis?.stop(), render?.stop(), gh?.stop()]);
    await dir?.cleanup();
  });

  it('backup.yml backs up Redis with the with: block it passes to db-backup (format and all)', async () => {
    const expanded = await expandWorkflow('.github/workflows/backup.yml', {
      inputs: { destination: path.join(dir.path, 'redis-nightly'), retention: 'keep-last=3' },
      secrets: { DATABASE_URL: redis.url },
    });
    expect(expanded.problems).toEqual([]);
    const [step] = await runJob(findJob(expanded, 'backup'));
    expect(step!.with!.format).toBe('custom');
    const run = step!.run!;
    if (run.code !== 0) throw new Error(run.stdout + run.stderr);
    expect(run.outputs.uri).toMatch(/\.rdb/);
    expect(run.visible).not.toContain(redis.password);
  }, 90_000);

  it.each([
    ['with a GitHub Deployment', true],
    ['without a GitHub Deployment', false],
  ])(
    'rollback.yml rolls a Render service back %s (the app job, through the manual-rollback starter)',
    async (_what, deployment) => {
      const service = render.addService({ name: `rollback-${deployment}` });
      render.scriptDeploy(service.id, {
        statuses: [
          { status: 'update_in_progress', ms: 200 },
          { status: 'live', ms: 200 },
        ],
      });
      const expanded = await expandWorkflow('.github/workflows/rollback.yml', {
        inputs: { environment: 'production', service: service.id, 'github-deployment': deployment },
        secrets: { RENDER_API_KEY: render.apiKey },
        // On a runner github.token is never empty: the step passes it on only when a Deployment is asked for.
        github: { token: gh.token },
      });
      expect(expanded.problems).toEqual([]);
      const deploymentsBefore = gh.deployments.length;
      const steps = await runJob(findJob(expanded, 'app'), {
        endpoints: { 'deploy-render': { 'api-url': render.baseUrl } },
        env: {
          GITHUB_API_URL: gh.url,
          GITHUB_REPOSITORY: `${gh.repo.owner}/${gh.repo.name}`,
          GITHUB_SHA: 'a'.repeat(40),
        },
      });
      const ran = steps.filter((s) => s.status === 'ran');
      expect(ran.map((s) => s.step.id)).toEqual(['render']);
      const run = ran[0]!.run!;
      if (run.code !== 0) throw new Error(run.stdout + run.stderr);
      expect(render.rollbacksTriggered(service.id)).toBe(1);
      expect(render.violations).toEqual([]);
      expect(gh.violations).toEqual([]);
      expect(gh.deployments.length - deploymentsBefore).toBe(deployment ? 1 : 0);
    },
    90_000,
  );
});
