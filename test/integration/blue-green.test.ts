/**
 * blue-green-switch against a real nginx (temp prefix, loopback) and two real backends that answer with
 * their colour, running the bundle the way the runner does.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import {
  sampleColours,
  startColourBackend,
  startLoad,
  startNginx,
  type ColourBackend,
  type NginxServer,
} from '../harness/nginx.js';
import { runProcess } from '../harness/process.js';
import { formatUpstream } from '../../src/nginx/upstream.js';
import type { TrafficState } from '../../src/switch/types.js';

let blue: ColourBackend;
let green: ColourBackend;
let nginx: NginxServer;

beforeEach(async () => {
  blue = await startColourBackend('blue', 'v1');
  green = await startColourBackend('green', 'v2');
  // A hand-written upstream naming the blue server: blue is live.
  nginx = await startNginx({ servers: [blue.server] });
});

afterEach(async () => {
  await Promise.all([nginx?.stop(), blue?.kill(), green?.kill()]);
});

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
    'health-successes': '2',
    'health-timeout': '10s',
    'bake-time': '1s',
    'verify-url': `${nginx.url}/`,
    ...extra,
  };
}

function state(text: string): {
  live: string;
  previous: string | null;
  target: string | null;
  shares: Record<string, number>;
} {
  const m = /^# opskit-state: (.*)$/m.exec(text);
  if (!m) throw new Error(`no opskit-state line in:\n${text}`);
  return JSON.parse(m[1]!);
}

/** Polls the upstream file until its header says `colour` has `share`%, or the run ends. */
async function waitForShare(colour: string, share: number, run: Promise<ActionRun>): Promise<void> {
  let done = false;
  void run.finally(() => (done = true));
  for (;;) {
    const text = await nginx.readUpstream().catch(() => '');
    if (text.includes('# opskit-state:') && state(text).shares[colour] === share) return;
    if (done) throw new Error(`the run ended before ${colour} had ${share}%: ${(await run).stdout}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until nginx has taken `reloads` reloads in full: each old worker logs "gracefully shutting down"
 * once it has stopped accepting connections (the harness runs 2 workers).
 */
async function waitForReloads(reloads: number): Promise<void> {
  for (;;) {
    const log = await nginx.errorLog();
    if (log.split('gracefully shutting down').length - 1 >= 2 * reloads) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The failure as a person sees it: the `::error::` annotation, unescaped. */
function failure(run: ActionRun): string {
  const line = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
}

const pct = (counts: Record<string, number>, colour: string) =>
  (100 * (counts[colour] ?? 0)) / Object.values(counts).reduce((a, b) => a + b, 0);

describe('blue-green-switch on a real nginx', () => {
  it('reads a hand-written upstream as blue live', async () => {
    const run = await runAction('blue-green-switch', {
      action: 'status',
      'upstream-file': nginx.upstreamFile,
      blue: blue.server,
      green: green.server,
    });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ live: 'blue', previous: '', weights: 'blue=100,green=0' });
  });

  it('moves traffic 10% → 50% → 100%, each share measured over 1000 requests within 5 points', async () => {
    const running = runAction(
      'blue-green-switch',
      inputs({ steps: '10,50,100', 'bake-time': '5s', 'verify-expect': 'v2' }),
      { env: { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '42' } },
    );
    const measured: Record<number, number> = {};
    for (const [i, share] of [10, 50, 100].entries()) {
      await waitForShare('green', share, running);
      await waitForReloads(i + 1);
      const counts = await sampleColours(`${nginx.url}/`, 1000);
      expect(Object.keys(counts).sort()).toEqual(share === 100 ? ['green'] : ['blue', 'green']);
      measured[share] = pct(counts, 'green');
      expect(state(await nginx.readUpstream()).shares.green).toBe(share); // sampled within the step
    }
    const run = await running;
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    for (const share of [10, 50, 100]) expect(Math.abs(measured[share]! - share)).toBeLessThanOrEqual(5);
    expect(run.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });
    expect(run.stdout).toMatch(/step 1\/3: green 10%/);
    expect(run.stdout).toMatch(/step 2\/3: green 50%/);
    expect(run.stdout).toMatch(/step 3\/3: green 100%/);
    expect(run.summary).toContain('### ✅ Traffic moved to green (100%) in 3 steps');
    expect(run.summary).toContain('| 2/3 | blue 50% · green 50% |');
    expect(run.summary).toContain('[Workflow run](https://github.com/acme/app/actions/runs/42)');

    const upstream = await nginx.readUpstream();
    expect(upstream).toContain(`server ${green.server} weight=1`);
    expect(upstream).not.toMatch(new RegExp(`^\\s*server ${blue.server}`, 'm'));
    expect(upstream).toContain('by https://github.com/acme/app/actions/runs/42');
    expect(await readFile(`${nginx.upstreamFile}.previous`, 'utf8')).toBe(
      `upstream app {\n    server ${blue.server};\n}\n`,
    );
    expect(existsSync(`${nginx.upstreamFile}.lock`)).toBe(true);

    const status = await runAction('blue-green-switch', { action: 'status', 'upstream-file': nginx.upstreamFile });
    expect(status.code).toBe(0);
    expect(status.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });
    expect(status.summary).toContain('green is live');
    expect(status.summary).toContain('blue is previous');
  }, 90_000);

  it('fails no request during a 10/50/100 switch under load, with or without keep-alive', async () => {
    const close = startLoad(`${nginx.url}/`, { rate: 300, keepAlive: false });
    const keep = startLoad(`${nginx.url}/`, { rate: 300, keepAlive: true });
    const run = await runAction('blue-green-switch', inputs({ steps: '10,50,100', 'bake-time': '2s' }));
    await new Promise((r) => setTimeout(r, 500));
    const [a, b] = [await close.stop(), await keep.stop()];
    expect(run.code).toBe(0);
    for (const stats of [a, b]) {
      expect({ non2xx: stats.non2xx, errors: stats.errors, samples: stats.samples }).toEqual({
        non2xx: 0,
        errors: 0,
        samples: [],
      });
      expect(stats.byColour.blue).toBeGreaterThan(0);
      expect(stats.byColour.green).toBeGreaterThan(0);
    }
    expect(a.requests + b.requests).toBeGreaterThan(1000);
  }, 90_000);

  it('leaves the file byte for byte as it was when green fails its health gate', async () => {
    green.setHealthy(false);
    const before = await nginx.readUpstream();
    const run = await runAction('blue-green-switch', inputs({ 'health-timeout': '3s' }));
    expect(run.code).toBe(1);
    expect(failure(run)).toMatch(/^blue-green-switch failed: green is not healthy/);
    expect(failure(run)).toContain(`${green.server}/health: 503`);
    expect(failure(run)).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(await nginx.readUpstream()).toBe(before);
    expect(existsSync(`${nginx.upstreamFile}.previous`)).toBe(false);
    expect(run.outputs).toMatchObject({ live: 'blue', previous: '', weights: 'blue=100,green=0' });
    expect(run.summary).toContain('❌');
    expect(await sampleColours(`${nginx.url}/`, 50)).toEqual({ blue: 50 });
  }, 60_000);

  it('reverts to blue when green dies during the bake', async () => {
    const before = await nginx.readUpstream();
    const running = runAction('blue-green-switch', inputs({ steps: '10,100', 'bake-time': '8s' }));
    await waitForShare('green', 10, running);
    await green.kill();
    const run = await running;
    expect(run.code).toBe(1);
    // A probe in flight when green dies sees a reset; the ones after it, a refused connection.
    expect(failure(run)).toMatch(
      /^blue-green-switch failed: step 1\/2: green 10% failed: .*connection (refused|reset by the server)/,
    );
    expect(failure(run)).toContain('Reverted: traffic is back on blue 100%');
    expect(await nginx.readUpstream()).toBe(before);
    expect(run.outputs).toMatchObject({ live: 'blue', previous: '', weights: 'blue=100,green=0' });
    expect(await sampleColours(`${nginx.url}/`, 100)).toEqual({ blue: 100 });
    expect(run.summary).toContain('(reverted)');
  }, 60_000);

  it('puts the file back and does not reload when nginx -t fails', async () => {
    const before = await nginx.readUpstream();
    // A real nginx -t that fails: the same config with a directive given twice.
    const failingTest = `${nginx.testCommand} -g "worker_processes 3;"`;
    const run = await runAction('blue-green-switch', inputs({ 'nginx-test-command': failingTest }));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain(
      'rejected the new upstream file (exit code 1), so the file before it is back and nginx was not reloaded',
    );
    expect(failure(run)).toContain('"worker_processes" directive is duplicate');
    expect(failure(run)).toContain('Traffic stays on blue 100%');
    expect(await nginx.readUpstream()).toBe(before);
    expect(await nginx.errorLog()).not.toContain('reconfiguring');
    expect(await sampleColours(`${nginx.url}/`, 50)).toEqual({ blue: 50 });
  }, 60_000);

  it('says where traffic is when nginx -t starts failing half-way and the revert cannot be reloaded', async () => {
    const running = runAction('blue-green-switch', inputs({ steps: '50,100', 'bake-time': '3s' }));
    await waitForShare('green', 50, running);
    await waitForReloads(1);
    const broken = path.join(path.dirname(nginx.upstreamFile), 'zz-broken.conf');
    await writeFile(broken, 'this_is_not_a_directive on;\n');
    const run = await running;
    expect(run.code).toBe(1);
    expect(failure(run)).toMatch(
      /^blue-green-switch failed: step 2\/2: green 100% failed: .* -t rejected the new upstream file/,
    );
    expect(failure(run)).toContain('unknown directive "this_is_not_a_directive"');
    expect(failure(run)).toContain('Putting the state before this run back failed too');
    expect(failure(run)).toContain('Traffic may still be at blue 50%, green 50%');
    expect(run.outputs.weights).toBe('blue=50,green=50');
    // The file matches what nginx runs: the 50% step.
    expect(state(await nginx.readUpstream()).shares).toEqual({ blue: 50, green: 50 });
    const counts = await sampleColours(`${nginx.url}/`, 200);
    expect(Math.abs(pct(counts, 'green') - 50)).toBeLessThanOrEqual(10);
  }, 60_000);

  it('rolls back to the previous colour in one step, and back again', async () => {
    const first = await runAction('blue-green-switch', inputs({ steps: '10,100' }));
    expect(first.code).toBe(0);
    expect(first.outputs.live).toBe('green');

    const rollback = await runAction('blue-green-switch', inputs({ action: 'rollback', steps: '10,50,100' }));
    expect(rollback.stdout).not.toContain('::error::');
    expect(rollback.code).toBe(0);
    expect(rollback.outputs).toMatchObject({ live: 'blue', previous: 'green', weights: 'blue=100,green=0' });
    expect(rollback.stdout).toContain('step 1/1: blue 100%');
    expect(rollback.stdout).not.toContain('step 1/2');
    expect(rollback.summary).toContain('Rolled back to blue (100%); green is previous');
    expect(await sampleColours(`${nginx.url}/`, 100)).toEqual({ blue: 100 });

    const again = await runAction('blue-green-switch', inputs({ action: 'rollback' }));
    expect(again.code).toBe(0);
    expect(again.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });
  }, 60_000);

  it('refuses a rollback when no previous colour is recorded', async () => {
    const before = await nginx.readUpstream();
    const run = await runAction('blue-green-switch', inputs({ action: 'rollback' }));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('nothing to roll back to');
    expect(await nginx.readUpstream()).toBe(before);
  });

  it('fails a second run clearly on the lock while the first is switching, changing nothing', async () => {
    const first = runAction('blue-green-switch', inputs({ 'bake-time': '6s' }), {
      env: { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '1' },
    });
    await waitForShare('green', 100, first);
    const during = await nginx.readUpstream();
    const second = await runAction('blue-green-switch', inputs({ to: 'blue' }));
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(
      /::error::blue-green-switch failed: another run holds the lock .*app-upstream\.conf\.lock/,
    );
    expect(second.stdout).toContain('https://github.com/acme/app/actions/runs/1');
    expect(second.stdout).toContain('nothing was changed');
    expect(await nginx.readUpstream()).toBe(during);
    const run = await first;
    expect(run.code).toBe(0);
    expect(run.outputs.live).toBe('green');
  }, 60_000);

  it('does nothing when the target already has all traffic', async () => {
    const run = await runAction('blue-green-switch', inputs({ to: 'blue' }));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('blue already has all traffic: nothing to do');
    expect(run.summary).toContain('blue already had all traffic: nothing changed');
  });

  it('starts from no file at all with an explicit colour', async () => {
    await runProcess('rm', ['-f', nginx.upstreamFile]);
    // nginx still runs its old config; the first switch writes the file and reloads.
    const run = await runAction('blue-green-switch', inputs({ to: 'green', steps: '10,100' }));
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no colour is live yet: all traffic goes to the target in one step');
    expect(run.outputs).toMatchObject({ live: 'green', previous: '', weights: 'blue=0,green=100' });
    expect(await sampleColours(`${nginx.url}/`, 50)).toEqual({ green: 50 });
    expect(existsSync(`${nginx.upstreamFile}.previous`)).toBe(false);
  });

  it('continues an unfinished switch from the share it reached', async () => {
    // What a runner killed at step 2 of 10,50,100 leaves behind: 50/50 recorded and live.
    const half: TrafficState = {
      live: 'blue',
      target: 'green',
      shares: { blue: 50, green: 50 },
      servers: { blue: [blue.server], green: [green.server] },
      time: new Date().toISOString(),
      source: 'header',
    };
    await writeFile(
      nginx.upstreamFile,
      formatUpstream({ name: 'app', state: half, keepalive: 8, maxFails: 1, failTimeout: '10s' }),
    );
    expect((await runProcess('sh', ['-c', nginx.reloadCommand])).code).toBe(0);

    const status = await runAction('blue-green-switch', { action: 'status', 'upstream-file': nginx.upstreamFile });
    expect(status.outputs).toMatchObject({ live: 'blue', previous: '', weights: 'blue=50,green=50' });
    expect(status.summary).toContain('switch to green under way');
    const run = await runAction('blue-green-switch', inputs({ steps: '10,50,100' }));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('green already has 50%: continuing with 100');
    expect(run.stdout).toContain('step 1/1: green 100%');
    expect(run.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });
  }, 60_000);
});
