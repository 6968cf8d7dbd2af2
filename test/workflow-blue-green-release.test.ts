/**
 * blue-green-release.yml through the workflow-expansion harness: it expands with no problems for a release and a
 * retirement, its job graph runs the switch back only after a live smoke failure, and its jobs run through the
 * bundles with their exact `with:` blocks against a real nginx and two colour apps: deploy to the idle colour, smoke
 * test it, switch; the live smoke tests fail when the new colour dies, and switch-back puts traffic on the old one;
 * then mode retire refuses within the hold and stops the old colour after it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { condition, interpolate } from '../scripts/runner/expressions.js';
import { sampleColours, startNginx, type NginxServer } from './harness/nginx.js';
import { tempDir } from './harness/tmp.js';
import {
  expandWorkflow,
  findJob,
  readWorkflow,
  runJob,
  type ExpandedJob,
  type StepRun,
  type WorkflowCall,
} from './harness/workflow.js';

const FILE = '.github/workflows/blue-green-release.yml';

interface App {
  server: string;
  stop(): Promise<void>;
}

/** `/` answers `<colour> <version>` and `/health` the version, read from the file deploy-colour.sh writes. */
async function startApp(colour: string, versionFile: string): Promise<App> {
  const server = http.createServer((req, res) => {
    void readFile(versionFile, 'utf8')
      .catch(() => 'none')
      .then((v) => {
        res.writeHead(200, { 'content-type': req.url === '/health' ? 'application/json' : 'text/plain' });
        res.end(req.url === '/health' ? JSON.stringify({ status: 'healthy', version: v }) : `${colour} ${v}\n`);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let dir: { path: string; cleanup(): Promise<void> };
let nginx: NginxServer;
let blue: App;
let green: App;

beforeAll(async () => {
  dir = await tempDir('opskit-bg-workflow-');
  await writeFile(path.join(dir.path, 'blue.version'), '1.0.0');
  blue = await startApp('blue', path.join(dir.path, 'blue.version'));
  green = await startApp('green', path.join(dir.path, 'green.version'));
  nginx = await startNginx({ servers: [blue.server] });
  const script = async (name: string, body: string) => {
    await writeFile(path.join(dir.path, name), `#!/bin/sh\nset -eu\n${body}`);
    await chmod(path.join(dir.path, name), 0o755);
  };
  await script(
    'deploy-colour.sh',
    `printf '%s %s\\n' "$OPSKIT_COLOUR" "$OPSKIT_VERSION" >> '${dir.path}/deploys.log'\n` +
      `printf '%s' "$OPSKIT_VERSION" > '${dir.path}/'"$OPSKIT_COLOUR.version"\n`,
  );
  await script('stop-colour.sh', `printf '%s\\n' "$OPSKIT_COLOUR" >> '${dir.path}/retired.log'\n`);
}, 60_000);

afterAll(async () => {
  await Promise.all([nginx?.stop(), blue?.stop(), green?.stop()]);
  await dir?.cleanup();
});

/** What a caller's with: gives for this nginx and these apps (the starter's shape, on loopback). */
function releaseInputs(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    environment: 'production',
    version: '2.0.0',
    'deploy-command': `${dir.path}/deploy-colour.sh`,
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    'switch-steps': '50,100',
    'bake-time': '1s',
    'verify-url': `${nginx.url}/`,
    'verify-expect': '2.0.0',
    'base-url': nginx.url,
    checks: '- name: health\n  url: /health\n  expect-json:\n    $.version: 2.0.0\n',
    'idle-smoke-timeout': '5s',
    'smoke-timeout': '3s',
    ...extra,
  };
}

/** The nginx of the test harness has a temp prefix: its -t and reload commands stand in for the defaults. */
const endpoints = () => ({
  'blue-green-switch': { 'nginx-test-command': nginx.testCommand, 'nginx-reload-command': nginx.reloadCommand },
});

/** Whether a job runs, its `if:` evaluated the way GitHub does for the results of the jobs it needs. */
async function runs(id: string, needs: WorkflowCall['needs'], inputs = releaseInputs()): Promise<boolean> {
  const expanded = await expandWorkflow(FILE, { inputs, needs });
  const job = findJob(expanded, id);
  const failed = Object.values(needs ?? {}).some((n) => n.result === 'failure');
  return condition(job.if, { ...job.context, status: failed ? 'failure' : 'success' });
}

function only(steps: StepRun[]): NonNullable<StepRun['run']> {
  const ran = steps.filter((s) => s.status === 'ran');
  expect(ran).toHaveLength(1);
  return ran[0]!.run!;
}

async function job(id: string, call: WorkflowCall = {}): Promise<ExpandedJob> {
  const expanded = await expandWorkflow(FILE, { inputs: releaseInputs(), ...call });
  expect(expanded.problems).toEqual([]);
  return findJob(expanded, id);
}

describe('blue-green-release.yml', () => {
  it('expands with no problems for a release and for a retirement', async () => {
    const release = await expandWorkflow(FILE, {
      inputs: releaseInputs(),
      secrets: { SSH_KEY: 'k', DATABASE_URL: 'postgres://u:p@h/db', SMOKE_TEST_HEADERS: 'x-token: t' },
    });
    expect(release.problems).toEqual([]);
    expect(release.jobs.map((j) => j.id)).toEqual([
      'check',
      'approve',
      'backup',
      'migrate',
      'release',
      'smoke-live',
      'switch-back',
      'incident',
      'retire',
    ]);
    const retire = await expandWorkflow(FILE, {
      inputs: { ...releaseInputs(), mode: 'retire', 'retire-command': 'stop-colour.sh' },
    });
    expect(retire.problems).toEqual([]);
  });

  it('serialises releases with deploys and rollbacks, and keeps retirements in a group of their own', () => {
    const group = (readWorkflow(FILE).concurrency as { group: string }).group;
    const evaluate = (mode: string) => interpolate(group, { inputs: { mode, environment: 'production' } });
    expect(evaluate('release')).toBe('opskit-production');
    expect(evaluate('retire')).toBe('opskit-retire-production');
    expect((readWorkflow(FILE).concurrency as Record<string, unknown>)['cancel-in-progress']).toBe(false);
  });

  it('runs the switch back only when the release switched and the live smoke tests failed', async () => {
    expect(await runs('switch-back', { release: { result: 'success' }, 'smoke-live': { result: 'failure' } })).toBe(
      true,
    );
    expect(await runs('switch-back', { release: { result: 'success' }, 'smoke-live': { result: 'success' } })).toBe(
      false,
    );
    // A release that failed by itself moved no traffic or put it back: nothing to switch back.
    expect(await runs('switch-back', { release: { result: 'failure' }, 'smoke-live': { result: 'skipped' } })).toBe(
      false,
    );
    // No release after a failed migration; a skipped backup or migration is fine.
    const ok = { result: 'success' } as const;
    expect(await runs('release', { approve: ok, backup: { result: 'skipped' }, migrate: { result: 'failure' } })).toBe(
      false,
    );
    expect(await runs('release', { approve: ok, backup: { result: 'skipped' }, migrate: { result: 'skipped' } })).toBe(
      true,
    );
    // Retire never runs in a release run, nor the release jobs in a retire run.
    expect(await runs('retire', { check: ok })).toBe(false);
    const retire = releaseInputs({ mode: 'retire', 'retire-command': 'x' });
    expect(await runs('retire', { check: ok }, retire)).toBe(true);
    expect(await runs('approve', { check: ok }, retire)).toBe(false);
  });

  it('deploys to the idle colour and switches, switches back after a live smoke failure, retires after the hold', async () => {
    // release: the exact with: block through the bundle.
    const release = only(await runJob(await job('release'), { endpoints: endpoints() }));
    if (release.code !== 0) throw new Error(release.stdout + release.stderr);
    expect(release.outputs).toMatchObject({ live: 'green', previous: 'blue', deployed: '2.0.0' });
    expect(await readFile(path.join(dir.path, 'deploys.log'), 'utf8')).toBe('green 2.0.0\n');
    expect(release.stdout).toContain('smoke checks of green: 1/1 passed');
    expect(await sampleColours(`${nginx.url}/`, 20)).toEqual({ green: 20 });

    // The new version dies under real traffic: the live smoke tests fail through nginx.
    await green.stop();
    const smoke = only(await runJob(await job('smoke-live', { needs: { release: { result: 'success' } } })));
    expect(smoke.code).toBe(1);
    expect(smoke.outputs.passed).toBe('false');

    // switch-back: traffic goes back to blue, which still runs 1.0.0.
    const needs = { release: { result: 'success' }, 'smoke-live': { result: 'failure' } };
    const back = only(await runJob(await job('switch-back', { needs }), { endpoints: endpoints() }));
    if (back.code !== 0) throw new Error(back.stdout + back.stderr);
    expect(back.outputs).toMatchObject({ live: 'blue', previous: 'green' });
    expect(await sampleColours(`${nginx.url}/`, 20)).toEqual({ blue: 20 });

    // A later run, mode retire: within its 24h hold green (now idle) is refused, or skipped on a schedule.
    const retireInputs = (extra: Record<string, unknown>) =>
      releaseInputs({ mode: 'retire', 'retire-command': `${dir.path}/stop-colour.sh`, ...extra });
    const held = only(await runJob(await job('retire', { inputs: retireInputs({}) }), { endpoints: endpoints() }));
    expect(held.code).toBe(1);
    expect(held.stdout).toContain('green is held for 24h');
    const skipped = only(
      await runJob(await job('retire', { inputs: retireInputs({ 'skip-if-held': true }) }), { endpoints: endpoints() }),
    );
    expect(skipped.code).toBe(0);
    expect(skipped.outputs.retired).toBe('');
    const due = only(
      await runJob(await job('retire', { inputs: retireInputs({ 'retire-after': '0s' }) }), { endpoints: endpoints() }),
    );
    if (due.code !== 0) throw new Error(due.stdout + due.stderr);
    expect(due.outputs.retired).toBe('green');
    expect(await readFile(path.join(dir.path, 'retired.log'), 'utf8')).toBe('green\n');
    expect(await sampleColours(`${nginx.url}/`, 20)).toEqual({ blue: 20 });
  }, 120_000);
});
