/**
 * `npm run demo` (demo/run.js) as a person runs it: a good release all green, a bad one rolled back with an
 * incident issue, the job summaries written, and nothing left behind (no server process, no temp dir), also
 * when interrupted with Ctrl-C. The demo runs with its own TMPDIR so that what it leaves is easy to see.
 * With nginx installed (CI installs nginx-light) the releases go out blue-green through a real nginx: the good
 * one's traffic is switched before its smoke test, the bad one's switched back after its smoke test fails.
 * The third run promotes 1.1.0 from a staging service to production (promote.yml's checks first), through a
 * blue-green release with nginx (deploy to the idle colour, smoke it directly, switch, smoke live), then restores
 * production's database clean with the Render service suspended, then resumed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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
  it('shows a good release all green, a bad one rolled back with an incident issue, and a promotion with a clean restore', async () => {
    const started = Date.now();
    const run = await runDemo();
    const context = `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
    expect({ code: run.code, context }).toEqual({ code: 0, context });

    const [setup = '', run1 = '', run2 = '', run3 = ''] = run.stdout.split(/━━ Run \d/);
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

    // Run 3: staging, promote.yml's checks, production, the clean restore; each in this order.
    const inOrder = (...parts: string[]) => new RegExp(parts.join('[^]*'));
    expect(run3).toMatch(/: promote 1\.1\.0 from staging to production \(production runs 1\.1\.0/);
    expect(run3).toMatch(/\nRun 3: PROMOTED and RESTORED in [\d.]+s/);
    expect(run3).not.toMatch(/❌|✗/);
    const [, stagingDeploy] =
      /phase stage: [^]*?✅ Deployed and live \([\d.]+s\) — deploy (dep-\w+) is live/.exec(run3) ?? [];
    expect(stagingDeploy).toBeDefined();
    expect(run3).toMatch(
      inOrder(
        'phase stage: 1\\.1\\.0 \\(commit 110abc1234\\) to staging, Render service shop-staging',
        '✅ Deployed and live \\(',
        '✅ Smoke tests pass \\(',
        'soak shortened to 3s for the demo',
        `✅ Staging soaked \\([\\d.]+s\\) — shop-staging: deploy ${stagingDeploy} is live, live for [\\d.]+s \\(at least 3\\.0s\\)`,
        "✅ No staging incident since it went live \\(.*incident 'deploy / staging' since \\S+: none \\(1 open incident issue",
        '✅ Staging passes its smoke tests again \\(.*1\\.1\\.0, commit 110abc1234',
        `✅ Promoting what staging ran \\(.*commit 110abc1234 of staging's live deploy ${stagingDeploy} \\(read from Render\\)`,
        '✅ Backup completed and verified \\(',
      ),
    );
    if (blueGreen) {
      const [, blueServer] = /blue on http:\/\/(127\.0\.0\.1:\d+)/.exec(setup) ?? [];
      expect(blueServer).toBeDefined();
      // deploy-command on the idle colour, its smoke checks asked of blue's own server, then the switch, then live.
      expect(run3).toMatch(
        inOrder(
          '✅ Backup completed and verified \\(',
          `✅ Deployed to the idle colour \\(blue\\) \\([\\d.]+s\\) — deploy-command with OPSKIT_VERSION=1\\.1\\.0: blue restarted on 1\\.1\\.0 \\(commit 110abc1234\\) at ${blueServer}`,
          `✅ Idle colour smoke-tested \\(blue, directly, no traffic\\) \\([\\d.]+s\\) — ${blueServer} health: 1\\.1\\.0, commit 110abc1234`,
          '✅ Traffic switched \\([\\d.]+s\\) — traffic on blue 100% \\(was green 100%\\)',
          '✅ Smoke tests pass \\(',
          '✅ Render service suspended',
        ),
      );
      expect(run3).toMatch(/traffic: blue has all of it, through nginx; green is idle on 1\.1\.0/);
      expect(run3).toMatch(/app now running: 1\.1\.0, commit 110abc1234 \(blue, behind nginx/);
    } else {
      expect(run3).toMatch(/production: blue-green release skipped: nginx is not installed/);
      expect(run3).not.toMatch(/Deployed to the idle colour|Traffic switched/);
      expect(run3).toMatch(
        inOrder('✅ Backup completed and verified \\(', '✅ Deployed and live \\(', '✅ Smoke tests pass \\('),
      );
      expect(run3).toMatch(/app now running: 1\.1\.0, commit 110abc1234/);
    }
    // Suspended, restored, resumed, in that order, as the Render simulator saw it; the rows put back.
    expect(run3).toMatch(
      inOrder(
        'row counts now: .*public\\.products 30000',
        '✅ Render service suspended — POST /v1/services/(srv-\\w+)/suspend → 202; the Render simulator reports shop-web suspended\\n',
        '✅ Database restored clean \\([\\d.]+s\\) — s3://opskit-demo/backups/pre-deploy-shop-\\S+: restored beside shop, \\d+ tables and 50002 rows match the manifest, swapped in; shop as it was first backed up to s3://opskit-demo/backups/pre-restore/',
        '✅ Render service resumed — POST /v1/services/\\1/resume → 202; the Render simulator reports shop-web not suspended',
        '✓ public\\.products: 30000 → 50000 \\(backup: 50000\\)',
        '✅ Smoke tests pass after the restore \\(.*1\\.1\\.0, commit 110abc1234',
      ),
    );
    expect(run3).toMatch(/✓ public\.reviews: 0 → 0 \(backup: 0\)/);
    expect(run3).toMatch(/job summary: demo-output\/run-3\.md/);
    expect(run.stdout).toMatch(
      /Demo finished in [\d.]+s: the good release went live.*1\.1\.0 was promoted from staging/,
    );

    for (const n of [1, 2, 3]) {
      const file = path.join(ROOT, 'demo-output', `run-${n}.md`);
      expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    }
    const summary3 = readFileSync(path.join(ROOT, 'demo-output', 'run-3.md'), 'utf8');
    expect(summary3).toMatch(/^### ✅ 1\.1\.0 \(commit 110abc1234\) promoted from staging to production/);
    expect(summary3).toMatch(inOrder('Render service suspended', 'Database restored clean', 'Render service resumed'));
    if (blueGreen) expect(summary3).toContain('| deploy-command | blue on this machine |');
    await expectNothingLeft();
  }, 240_000);

  it.each([
    ['mid-deploy', /… Deployed and live/],
    ['while the servers start', /… Starting PostgreSQL/],
    ...(blueGreen ? [['mid-switch', /… Traffic switched/] as [string, RegExp]] : []),
    ['mid-restore, the service suspended', /… Database restored clean/],
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
