/**
 * post-incident-issue's response targets (status review, and the target on the issue) and its success messages
 * (notify-on-success), through the bundle against the GitHub simulator (validating against GitHub's OpenAPI spec)
 * and the Slack simulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { emptyOutputs, runAction, type ActionRun } from '../harness/action.js';
import { type GitHubSim, startGitHubSim, githubRunEnv } from '../harness/github-sim.js';
import { type NotifySim, startNotifySim } from '../harness/notify-sim.js';
import { tempDir } from '../harness/tmp.js';

let gh: GitHubSim;
let notify: NotifySim;
let dir: { path: string; cleanup(): Promise<void> };
let runId = 100;

beforeAll(async () => {
  [gh, notify, dir] = await Promise.all([startGitHubSim(), startNotifySim(), tempDir('opskit-review-')]);
});
afterAll(async () => {
  await Promise.all([gh?.stop(), notify?.stop()]);
  await dir?.cleanup();
});
afterEach(() => {
  expect(gh.violations).toEqual([]);
  expect(notify.violations).toEqual([]);
});

function env(): Record<string, string> {
  const run = gh.seedRun({ runId: ++runId });
  return {
    ...githubRunEnv(gh),
    GITHUB_RUN_ID: String(run.runId),
    GITHUB_RUN_NUMBER: String(runId),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_SHA: '4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c',
    GITHUB_JOB: 'watch',
    GITHUB_WORKSPACE: dir.path,
  };
}

async function incident(inputs: Record<string, string>): Promise<ActionRun> {
  const run = await runAction('post-incident-issue', inputs, { env: env(), githubToken: gh.token });
  expect(run.visible).not.toContain(gh.token);
  expect(run.visible).not.toContain(notify.slack.url);
  return run;
}

function ok(run: ActionRun): ActionRun {
  if (run.code !== 0) throw new Error(`action failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  return run;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const comments = (n: number) => gh.comments.filter((c) => c.issue_number === n);

describe('response targets', () => {
  it("shows the severity's target on a new incident", async () => {
    const run = ok(await incident({ 'incident-key': 'target / p1', severity: 'P1', environment: 'production' }));
    const issue = gh.issues.find((i) => i.number === Number(run.outputs['issue-number']))!;
    expect(issue.body).toMatch(
      /\| \*\*Response target\*\* \| 1h00m00s: first response due by \d{4}-\d\d-\d\d \d\d:\d\d UTC \|/,
    );
  }, 60_000);

  it('review reminds an open P0 past its target once per silent stretch, and leaves P2 and updated incidents alone', async () => {
    const p0 = ok(await incident({ 'incident-key': 'review / p0', severity: 'P0', 'response-targets': 'P0=12s' }));
    const p2 = ok(await incident({ 'incident-key': 'review / p2', severity: 'P2' }));
    const n0 = Number(p0.outputs['issue-number']);
    const n2 = Number(p2.outputs['issue-number']);
    const review = (targets = 'P0=12s,P1=12s,P2=1s') =>
      incident({ status: 'review', 'response-targets': targets, 'slack-webhook-url': notify.slack.url });

    // Within the target: nothing to say.
    const early = ok(await review('P0=1h,P1=1h,P2=1s'));
    expect(early.outputs.action).toBe('none');
    expect(JSON.parse(early.outputs.overdue!)).toEqual([]);
    expect(comments(n0)).toHaveLength(0);

    await sleep(12_500);
    const slackBefore = notify.slack.messages.length;
    const first = ok(await review());
    expect(first.outputs.action).toBe('commented');
    expect(JSON.parse(first.outputs.overdue!)).toEqual(
      expect.arrayContaining([{ number: n0, severity: 'P0', commented: true }]),
    );
    expect(JSON.parse(first.outputs.overdue!).map((d: { number: number }) => d.number)).not.toContain(n2); // P2 is not reviewed
    expect(comments(n0)).toHaveLength(1);
    expect(comments(n0)[0]!.body).toMatch(/### ⏰ Past its response target: P0 expects an update every 12s/);
    expect(comments(n2)).toHaveLength(0);
    expect(notify.slack.messages.length).toBe(slackBefore + 1);
    expect(JSON.stringify(notify.slack.messages.at(-1))).toContain(`#${n0}`);
    expect(first.summary).toMatch(/past the response target/);

    // Run again at once: the reminder for this silence was posted already.
    const again = ok(await review());
    expect(again.outputs.action).toBe('none');
    expect(JSON.parse(again.outputs.overdue!)).toEqual(
      expect.arrayContaining([{ number: n0, severity: 'P0', commented: false }]),
    );
    expect(comments(n0)).toHaveLength(1);

    // A new failure is an update: the clock starts again.
    ok(await incident({ 'incident-key': 'review / p0', severity: 'P0' }));
    expect(comments(n0)).toHaveLength(2);
    const afterUpdate = ok(await review());
    expect(JSON.parse(afterUpdate.outputs.overdue!).map((d: { number: number }) => d.number)).not.toContain(n0);
  }, 120_000);

  it('refuses a target that is not severity=duration, before any API call', async () => {
    const before = gh.requests.length;
    const run = await incident({ status: 'review', 'response-targets': 'P0=soon' });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("::error::post-incident-issue failed: input 'response-targets'");
    expect(gh.requests.length).toBe(before);
    expect(run.outputs).toEqual(emptyOutputs('post-incident-issue'));
  }, 60_000);
});

describe('notify-on-success', () => {
  it('posts a deploy-succeeded message with the version, the duration and the links, with no incident open', async () => {
    const before = notify.slack.messages.length;
    const run = ok(
      await incident({
        'incident-key': 'success / production',
        environment: 'production',
        status: 'resolved',
        'notify-on-success': 'deployed',
        version: '1.2.0',
        'environment-url': 'https://shop.example.com',
        'slack-webhook-url': notify.slack.url,
      }),
    );
    expect(run.outputs.action).toBe('none');
    expect(notify.slack.messages.length).toBe(before + 1);
    const text = JSON.stringify(notify.slack.messages.at(-1));
    expect(text).toContain('DEPLOYMENT COMPLETE - production');
    expect(text).toContain('*Version:* 1.2.0');
    expect(text).toMatch(/\*Duration:\* \d+m\d\ds/); // the seeded run's jobs started minutes ago
    expect(text).toContain('*Status:* Live');
    expect(text).toContain('Commit 4f1c2d3');
    expect(text).toContain('<https://shop.example.com/|production>');
    expect(run.summary).toMatch(/Slack \| ✅ deployed sent/);
  }, 60_000);

  it('posts a rollback message that names the incident it resolved', async () => {
    const opened = ok(await incident({ 'incident-key': 'rollback / staging', environment: 'staging' }));
    const run = ok(
      await incident({
        'incident-key': 'rollback / staging',
        environment: 'staging',
        status: 'resolved',
        'notify-on-success': 'rolled-back',
        version: '1.1.0',
        'slack-webhook-url': notify.slack.url,
      }),
    );
    expect(run.outputs.action).toBe('closed');
    const text = JSON.stringify(notify.slack.messages.at(-1));
    expect(text).toContain('ROLLBACK COMPLETE - staging');
    expect(text).toContain('*Version now live:* 1.1.0');
    expect(text).toContain(`#${opened.outputs['issue-number']}>`);
    expect(text).toContain('*Status:* Rolled back');
  }, 60_000);

  it.each([
    [{ 'notify-on-success': 'true' }, "input 'notify-on-success' goes with status: resolved"],
    [{ status: 'resolved', 'notify-on-success': 'true' }, "input 'notify-on-success' needs input 'slack-webhook-url'"],
    [
      { status: 'resolved', 'notify-on-success': 'maybe' },
      "input 'notify-on-success': expected one of deployed, rolled-back",
    ],
    [{ status: 'resolved', version: '1.0.0' }, "input 'version' is for the success message: set notify-on-success"],
  ])(
    'refuses %p before any API call',
    async (inputs, message) => {
      const before = gh.requests.length;
      const run = await incident({ 'incident-key': 'bad / input', ...inputs });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`::error::post-incident-issue failed: ${message}`);
      expect(gh.requests.length).toBe(before);
    },
    60_000,
  );
});
