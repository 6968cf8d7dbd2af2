/**
 * deploy.yml's notify-on-success (guide 000 "Post-Deployment: notify the team", guide 004 step 16): after a deploy
 * that went live, the resolve step of the incident job tells Slack, with the version, the duration and the links.
 * Its exact with: block runs through the post-incident-issue bundle against the GitHub and Slack simulators.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type GitHubSim, startGitHubSim, githubRunEnv } from './harness/github-sim.js';
import { type NotifySim, startNotifySim } from './harness/notify-sim.js';
import { expandWorkflow, findJob, runJob } from './harness/workflow.js';

let gh: GitHubSim;
let notify: NotifySim;
beforeAll(async () => {
  [gh, notify] = await Promise.all([startGitHubSim(), startNotifySim()]);
});
afterAll(async () => {
  await Promise.all([gh?.stop(), notify?.stop()]);
});

async function incidentJob(inputs: Record<string, unknown>) {
  const expanded = await expandWorkflow('.github/workflows/deploy.yml', {
    inputs: { environment: 'production', service: 'srv-shop1', 'base-url': 'https://shop.example.com', ...inputs },
    secrets: { SLACK_WEBHOOK_URL: notify.slack.url },
    github: { token: gh.token, sha: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe' },
  });
  expect(expanded.problems).toEqual([]);
  const run = gh.seedRun();
  return runJob(findJob(expanded, 'incident'), {
    // The outcome step (a run: script reading needs.*) said the deploy went live.
    stepOutcomes: { outcome: { outputs: { failed: 'false', outcome: 'deployed' } } },
    env: {
      ...githubRunEnv(gh),
      GITHUB_RUN_ID: String(run.runId),
      GITHUB_WORKFLOW: 'Deploy production',
      GITHUB_SHA: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe',
    },
  });
}

describe('deploy.yml notify-on-success', () => {
  it('posts the deploy-succeeded message with the version when the deploy went live', async () => {
    const before = notify.slack.messages.length;
    const steps = await incidentJob({ 'notify-on-success': true, version: '1.2.0' });
    const resolve = steps.find((s) => s.step.id === 'resolve')!;
    expect(resolve.status).toBe('ran');
    expect(resolve.run!.code).toBe(0);
    expect(notify.slack.messages.length).toBe(before + 1);
    const text = JSON.stringify(notify.slack.messages.at(-1));
    expect(text).toContain('DEPLOYMENT COMPLETE - production');
    expect(text).toContain('*Version:* 1.2.0');
    expect(text).toContain('<https://shop.example.com/|production>');
    expect(text).toMatch(/\*Duration:\* \d+m\d\ds/);
    expect(notify.violations).toEqual([]);
    expect(gh.violations).toEqual([]);
  }, 60_000);

  it('stays quiet by default', async () => {
    const before = notify.slack.messages.length;
    const steps = await incidentJob({});
    expect(steps.find((s) => s.step.id === 'resolve')!.run!.code).toBe(0);
    expect(notify.slack.messages.length).toBe(before);
  }, 60_000);
});
