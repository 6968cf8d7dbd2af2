/**
 * `npm run demo` (demo/run.js) as a person runs it: a good release all green, a bad one rolled back with an
 * incident issue, the job summaries written, and nothing left behind (no server process, no temp dir), also
 * when interrupted with Ctrl-C. The demo runs with its own TMPDIR so that what it leaves is easy to see.
 * With nginx installed (CI installs nginx-light) the releases go out blue-green through a real nginx: the good
 * one's traffic is switched before its smoke test, the bad one's switched back after its smoke test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NGINX } from '../harness/nginx.js';
import { runProcess } from '../harness/process.js';

/** The demo runs its blue-green part when the harness's nginx is there. */
const blueGreen = existsSync(NGINX);

const ROOT = path.resolve('.');
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opskit-demo-test-'));
  // The PostgreSQL server runs as the postgres user when we are root: it must be able to reach its temp dir.
  chmodSync(tmp, 0o755);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `interruptWhen` sends SIGINT once stdout matches it. */
function runDemo(interruptWhen?: RegExp): Promise<DemoRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the demo
  delete env.OPSKIT_DEMO_QUIET;
  const child = spawn(process.execPath, [path.join(ROOT, 'demo', 'run.js'), '--quiet'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (interruptWhen && !interrupted && interruptWhen.test(stdout)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Processes whose command line names our TMPDIR (postgres -D <tmp>/…, s3rver <tmp>/…), after a short grace. */
async function leftoverProcesses(): Promise<string[]> {
  let found: string[] = [];
  for (let i = 0; i < 25; i++) {
    const ps = await runProcess('ps', ['-eo', 'pid=,args=']);
    found = ps.stdout.split('\n').filter((l) => l.includes(tmp));
    if (found.length === 0) return [];
    await new Promise((r) => setTimeout(r, 200));
  }
  return found;
}

async function expectNothingLeft(): Promise<void> {
  expect(await leftoverProcesses()).toEqual([]);
  expect(readdirSync(tmp)).toEqual([]);
}

describe('npm run demo', () => {
  it('shows a good release all green and a bad one rolled back with an incident issue', async () => {
    const started = Date.now();
    const run = await runDemo();
    const context = `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
    expect({ code: run.code, context }).toEqual({ code: 0, context });

    const [setup = '', run1 = '', run2 = ''] = run.stdout.split(/━━ Run \d/);
    const [, summary1 = ''] = run1.split('Checklist of run 1:');
    const [, summary2 = ''] = run2.split('Checklist of run 2:');
    expect(run1).toMatch(/Checklist of run 1: PASSED/);
    const steps = ['Backup completed and verified', 'Migrations applied', 'Deployed and live'];
    if (blueGreen) steps.push('Traffic switched');
    steps.push('Smoke tests pass');
    // Every step green, in this order, in the checklist printed at the end of the run.
    expect(summary1).toMatch(new RegExp(steps.map((item) => `✅ ${item} \\(`).join('[^]*')));
    expect(run1).not.toMatch(/❌/);
    expect(run1).toMatch(/backup: s3:\/\/opskit-demo\/backups\/pre-deploy-shop-\S+\.dump\.(gz|zst)/);
    if (blueGreen) {
      expect(setup).toMatch(/nginx on http:\/\/127\.0\.0\.1:\d+: blue has all traffic/);
      expect(run1).toMatch(/the smoke test asks nginx for green 1\.1\.0 \(http:\/\/127\.0\.0\.1:\d+\/health\)/);
      expect(summary1).toMatch(/✅ Traffic switched \([\d.]+s\) — traffic on green 100% \(was blue 100%\)/);
      expect(summary1).toMatch(/traffic: green has all of it, through nginx; blue is idle on 1\.0\.0/);
      expect(summary1).toMatch(/app now running: 1\.1\.0 \(green, behind nginx/);
    } else {
      expect(setup).toMatch(/blue-green switch skipped: nginx is not installed .*apt-get install nginx-light/);
      expect(run.stdout).not.toMatch(/Traffic switched/);
    }

    expect(run2).toMatch(/Checklist of run 2: FAILED at smoke/);
    expect(run2).toMatch(/❌ Smoke tests pass \(.*\$\.checks\.database is "unhealthy"/);
    expect(run2).toMatch(/✅ Rolled back \(/);
    expect(run2).toMatch(/✅ Incident issue opened \(/);
    expect(run2).toMatch(/app now running: 1\.1\.0/);
    if (blueGreen) {
      // Traffic went to blue (1.2.0) before the smoke test, and back to green when it failed, before the rollback.
      expect(summary2).toMatch(
        /✅ Traffic switched \([\d.]+s\) — traffic on blue 100% \(was green 100%\)\n.*❌ Smoke tests pass[^]*✅ Traffic switched back \([\d.]+s\) — traffic on green 100% \(was blue 100%\)\n.*✅ Rolled back/,
      );
      expect(summary2).toMatch(
        /traffic: moved to blue \(1\.2\.0\), where the smoke test failed, so it moved back: green/,
      );
      expect(summary2).toMatch(/app now running: 1\.1\.0 \(green, behind nginx/);
    }
    expect(run2).toMatch(/Incident issue #1 opened in the GitHub simulator/);
    expect(run2).toMatch(/title: \[P2\] deploy failed on production: smoke/);
    expect(run.stdout).toMatch(/Demo finished in [\d.]+s: the good release went live/);

    for (const n of [1, 2]) {
      const file = path.join(ROOT, 'demo-output', `run-${n}.md`);
      expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    }
    await expectNothingLeft();
  }, 180_000);

  it.each([
    ['mid-deploy', /… Deployed and live/],
    ['while the servers start', /… Starting PostgreSQL/],
    ...(blueGreen ? [['mid-switch', /… Traffic switched/] as [string, RegExp]] : []),
  ])(
    'stops everything it started and removes its temp files on Ctrl-C (%s)',
    async (_when, interruptWhen) => {
      const run = await runDemo(interruptWhen);
      const context = `exit ${run.code} ${run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      expect({ code: run.code, context }).toEqual({ code: 130, context });
      expect(run.stderr).toMatch(/SIGINT received, stopping everything it started/);
      expect(run.stdout).not.toMatch(/Demo finished/);
      await expectNothingLeft();
    },
    180_000,
  );
});
