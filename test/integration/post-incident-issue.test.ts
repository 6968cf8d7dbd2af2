/**
 * post-incident-issue end to end: the bundle (dist/post-incident-issue/index.js) run like the runner
 * runs it, against the GitHub, Slack and PagerDuty simulators, which check every request and response.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, type ActionRun, emptyOutputs } from '../harness/action.js';
import { startHttpServer } from '../harness/http-server.js';
import { startGitHubSim, type GitHubSim, type SeededRun, type SimIssue, githubRunEnv } from '../harness/github-sim.js';
import { startNotifySim, type NotifySim } from '../harness/notify-sim.js';
import { tempDir } from '../harness/tmp.js';

let gh: GitHubSim;
let notify: NotifySim;
let dir: Awaited<ReturnType<typeof tempDir>>;
let runId: number;
let seeded: SeededRun;
let runNumber = 100;

beforeAll(async () => {
  dir = await tempDir('opskit-incident-');
});
afterAll(() => dir.cleanup());
beforeEach(async () => {
  gh = await startGitHubSim();
  notify = await startNotifySim();
  seeded = gh.seedRun();
  runId = seeded.runId;
});
afterEach(async () => {
  expect(gh.violations).toEqual([]);
  expect(notify.violations).toEqual([]);
  // The Search API lags behind writes: incidents are found by listing labelled issues.
  expect(gh.requests.filter((r) => r.path.startsWith('/search'))).toEqual([]);
  await gh.stop();
  await notify.stop();
});

const SHA = '4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...githubRunEnv(gh),
    GITHUB_RUN_ID: String(runId),
    GITHUB_RUN_NUMBER: String(++runNumber),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_SHA: SHA,
    GITHUB_REF_NAME: 'main',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_JOB: 'incident',
    GITHUB_WORKSPACE: dir.path,
    ...extra,
  };
}

function incident(inputs: Record<string, string> = {}, extraEnv: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    'post-incident-issue',
    { 'github-token': gh.token, environment: 'production', ...inputs },
    { env: env(extraEnv) },
  );
}

const labelNames = (i: SimIssue) => i.labels.map((l) => l.name).sort();
const commentsOn = (n: number) => gh.comments.filter((c) => c.issue_number === n);
const count = (op: string) => gh.requests.filter((r) => r.operationId === op).length;

function expectOk(run: ActionRun): void {
  if (run.code !== 0) throw new Error(`action failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
}

describe('post-incident-issue keeps one living issue per incident', () => {
  it('opens an issue for the first failure, comments on the second, then resolves and closes it', async () => {
    const first = await incident({
      summary: 'Deploy to Render failed: health check timed out.',
      'action-items': 'Raise the health check timeout\nAlert on slow boots',
    });
    expectOk(first);
    expect(first.outputs).toEqual({
      'issue-number': '1',
      'issue-url': `https://github.com/opskit-test/service/issues/1`,
      overdue: '',
      action: 'created',
    });
    const issue = gh.issues[0]!;
    expect(issue.title).toBe('[P2] deploy failed on production');
    expect(labelNames(issue)).toEqual(['incident', 'severity:P2']);
    const body = issue.body!;
    expect(body.split('\n')[0]).toMatch(/^<!-- opskit:incident key=deploy%20%2F%20production since=\S+Z -->$/);
    for (const heading of [
      '## Summary',
      '## Impact',
      '## Root Cause',
      '## Timeline',
      '## Resolution',
      '## Action Items',
      '## Run',
    ]) {
      expect(body).toContain(`\n${heading}\n`);
    }
    expect(body).toContain('Deploy to Render failed: health check timed out.');
    expect(body).toContain('| **Severity** | P2 |');
    expect(body).toMatch(/## Root Cause\n\n_To be filled in\._/);
    expect(body).toContain('- [ ] Raise the health check timeout\n- [ ] Alert on slow boots');
    expect(body).toMatch(
      /- \d{4}-\d\d-\d\d \d\d:\d\d UTC — ❌ \*\*deploy\*\* failed on \*\*production\*\* in \[run #\d+\]\(https:\/\/github.com\/opskit-test\/service\/actions\/runs\/\d+\)/,
    );
    expect(body).toContain(`| **Commit** | [\`4f1c2d3\`](https://github.com/opskit-test/service/commit/${SHA}) |`);
    expect(body).toContain('| **Trigger** | `push` on `main` |');
    expect(body).toContain('| **Actor** | `octocat` |');
    expect(body).not.toContain('## Reports'); // nothing to report: the empty section is dropped
    expect(first.summary).toContain('### ✅ Incident #1 opened (P2)');
    expect(first.summary).toContain('- [Incident issue #1](https://github.com/opskit-test/service/issues/1)');
    expect(count('issues/create-label')).toBe(2);
    expect(gh.requests.filter((r) => r.operationId === 'issues/get-label').map((r) => r.path)).toEqual([
      '/repos/opskit-test/service/labels/incident',
      '/repos/opskit-test/service/labels/severity%3AP2',
    ]);
    expect(first.stdout).not.toMatch(/^::error::/m); // the expected 404s of missing labels are no error annotations

    const second = await incident({ summary: 'Still failing after a retry.' });
    expectOk(second);
    expect(second.outputs).toMatchObject({ 'issue-number': '1', action: 'commented' });
    expect(gh.issues).toHaveLength(1);
    const [comment] = commentsOn(1);
    expect(comment!.body).toContain('### ❌ Failed again');
    expect(comment!.body).toMatch(
      /\*\*deploy\*\* failed on \*\*production\*\* in \[run #\d+\]\(https:\/\/github\.com\/opskit-test\/service\/actions\/runs\/\d+\)/,
    );
    expect(comment!.body).toContain('Still failing after a retry.');
    expect(second.summary).toContain('Incident #1 is still open: this failure was added to it');
    expect(count('issues/create-label')).toBe(2); // labels are created once

    const resolved = await incident({
      status: 'resolved',
      resolution: 'Rolled back to v41.',
      'root-cause': 'A slow migration.',
    });
    expectOk(resolved);
    expect(resolved.outputs).toMatchObject({ 'issue-number': '1', action: 'closed' });
    expect(gh.issues[0]).toMatchObject({ state: 'closed', state_reason: 'completed' });
    const closing = commentsOn(1)[1]!.body;
    expect(closing).toMatch(/### ✅ Resolved after \d+(ms|\.\ds|s|m\d\ds)/);
    expect(closing).toContain('**Resolution**\n\nRolled back to v41.');
    expect(closing).toContain('**Root cause**\n\nA slow migration.');
    expect(resolved.summary).toMatch(/### ✅ Incident #1 resolved after /);

    const again = await incident({ status: 'resolved' });
    expectOk(again);
    expect(again.outputs).toEqual({ 'issue-number': '', 'issue-url': '', action: 'none', overdue: '' });
    expect(again.summary).toContain("No open incident for 'deploy / production': nothing to resolve");
    expect(gh.issues).toHaveLength(1);
    expect(count('issues/create-label')).toBe(2);
  }, 90_000);

  it('reopens an incident closed within the reopen window, and opens a new linked one after it', async () => {
    expectOk(await incident());
    expectOk(await incident({ status: 'resolved' }));
    const reopened = await incident();
    expectOk(reopened);
    expect(reopened.outputs).toMatchObject({ 'issue-number': '1', action: 'reopened' });
    expect(gh.issues[0]).toMatchObject({ state: 'open', state_reason: 'reopened', closed_at: null });
    expect(commentsOn(1).at(-1)!.body).toMatch(/### 🔁 Reopened: it failed again \S+ after it was closed/);

    expectOk(await incident({ status: 'resolved' }));
    gh.issues[0]!.closed_at = new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const fresh = await incident();
    expectOk(fresh);
    expect(fresh.outputs).toMatchObject({ 'issue-number': '2', action: 'created' });
    expect(gh.issues[0]!.state).toBe('closed');
    expect(gh.issues[1]!.body).toContain(
      'This failure follows an earlier incident with the same key: #1 (https://github.com/opskit-test/service/issues/1).',
    );
    expect(fresh.summary).toContain('| Follows | [#1](https://github.com/opskit-test/service/issues/1) |');
    expect(count('issues/create-label')).toBe(2);
    // Lists every labelled issue, open and closed, 100 a page.
    expect(gh.requests.filter((r) => r.operationId === 'issues/list-for-repo')[0]!.query).toMatchObject({
      labels: 'incident',
      state: 'all',
      per_page: '100',
    });
  }, 90_000);

  it('with reopen-window off, a failure after a resolution opens a new issue', async () => {
    expectOk(await incident());
    expectOk(await incident({ status: 'resolved' }));
    const next = await incident({ 'reopen-window': 'off' });
    expectOk(next);
    expect(next.outputs).toMatchObject({ 'issue-number': '2', action: 'created' });
  }, 60_000);

  it('lists both failed jobs of the run with their failed steps and links', async () => {
    const run = await incident();
    expectOk(run);
    const body = gh.issues[0]!.body!;
    const [deploy, smoke] = [seeded.jobs[1]!, seeded.jobs[2]!];
    expect(body).toContain('**Failed jobs** (2)');
    expect(body).toContain(
      `- ❌ [**deploy**](${deploy.html_url}) — failed [step 3: Deploy to Render](${deploy.html_url}#step:3:1)`,
    );
    expect(body).toContain(
      `- ❌ [**smoke-test**](${smoke.html_url}) — failed [step 2: Run smoke tests](${smoke.html_url}#step:2:1)`,
    );
    expect(deploy.html_url).toBe(`https://github.com/opskit-test/service/actions/runs/${runId}/job/${deploy.id}`);
    expect(body).not.toContain('**build**');
    expect(body).not.toContain('**incident**'); // the running job has no failed step
    expect(gh.requests.find((r) => r.operationId === 'actions/list-jobs-for-workflow-run')!.query).toMatchObject({
      filter: 'latest',
    });
    expect(run.summary).toContain('| Failed jobs | deploy, smoke-test |');
  }, 60_000);

  it('leaves the run out with include-run-context false, keeping the link in the timeline', async () => {
    const run = await incident({ 'include-run-context': 'false' });
    expectOk(run);
    const body = gh.issues[0]!.body!;
    expect(count('actions/list-jobs-for-workflow-run')).toBe(0);
    expect(body).not.toContain('## Run');
    expect(body).not.toContain('Failed jobs');
    expect(body).toContain(`in [run #${runNumber}](https://github.com/opskit-test/service/actions/runs/${runId})`);
  }, 60_000);

  it('assigns a new incident, dropping an assignee GitHub refuses', async () => {
    await gh.stop();
    gh = await startGitHubSim({ assignable: ['alice', 'carol'] });
    runId = gh.seedRun().runId;
    const run = await incident({ assignees: '@alice, bob\ncarol' });
    expectOk(run);
    expect(gh.issues[0]!.assignees.map((a) => a.login)).toEqual(['alice', 'carol']);
    expect(run.stdout).toContain(
      '::warning::GitHub refused assignee(s) bob (not collaborators?): creating the issue without them',
    );
  }, 60_000);

  it('raises the severity of an open incident when a worse failure comes, and pages for it', async () => {
    const inputs = {
      'slack-webhook-url': notify.slack.url,
      'pagerduty-routing-key': notify.pagerduty.routingKey,
      'pagerduty-api-url': notify.pagerduty.url,
    };
    expectOk(await incident(inputs));
    const worse = await incident({ ...inputs, severity: 'p0' });
    expectOk(worse);
    expect(worse.outputs).toMatchObject({ 'issue-number': '1', action: 'commented' });
    expect(labelNames(gh.issues[0]!)).toEqual(['incident', 'severity:P0']);
    expect(gh.issues[0]!.title).toBe('[P0] deploy failed on production');
    expect(commentsOn(1)[0]!.body).toContain('⬆️ Severity raised from **P2** to **P0**.');
    expect(gh.labels.find((l) => l.name === 'severity:P0')).toMatchObject({ color: 'b60205' });
    expect(worse.summary).toContain('| Severity | P2 → P0 (escalated) |');
    expect(notify.pagerduty.events.map((e) => [e.event_action, (e.payload as { severity: string }).severity])).toEqual([
      ['trigger', 'warning'],
      ['trigger', 'critical'],
    ]);
    expect(notify.slack.messages.map((m) => m.text as string)[1]).toMatch(
      /^⬆️ Incident escalated from P2 to P0: \[P0\] deploy failed on production https:\/\/github\.com\/opskit-test\/service\/issues\/1$/,
    );

    const lesser = await incident({ ...inputs, severity: 'P3' });
    expectOk(lesser);
    expect(labelNames(gh.issues[0]!)).toEqual(['incident', 'severity:P0']); // never lowered
    expect(notify.pagerduty.events).toHaveLength(2); // another failure of an open incident pages no one
    expect(notify.slack.messages).toHaveLength(2);

    const resolved = await incident({ ...inputs, status: 'resolved' });
    expectOk(resolved);
    expect(resolved.summary).toContain('| Severity | P0 |'); // the incident's level, not the input's default
    expect(JSON.stringify(notify.slack.messages[2]!.blocks)).toContain('*Severity*\\nP0');
  }, 90_000);
});

describe('post-incident-issue tells Slack and PagerDuty', () => {
  it('sends the documented payloads on open and on resolve', async () => {
    const inputs = {
      'slack-webhook-url': notify.slack.url,
      'pagerduty-routing-key': notify.pagerduty.routingKey,
      'pagerduty-api-url': notify.pagerduty.url,
      'incident-key': 'deploy/production',
    };
    const opened = await incident(inputs);
    expectOk(opened);
    const trigger = notify.pagerduty.events[0]!;
    expect(trigger).toEqual({
      routing_key: notify.pagerduty.routingKey,
      event_action: 'trigger',
      dedup_key: 'deploy/production',
      payload: {
        summary: '[P2] deploy failed on production',
        source: 'production',
        severity: 'warning',
        timestamp: expect.stringMatching(/Z$/),
        component: 'deploy',
        group: 'opskit-test/service',
        class: 'workflow failure',
        custom_details: expect.objectContaining({
          issue: 'https://github.com/opskit-test/service/issues/1',
          failed_jobs: ['deploy', 'smoke-test'],
          severity: 'P2',
        }),
      },
      client: 'opskit post-incident-issue',
      client_url: 'https://github.com/opskit-test/service/issues/1',
      links: [
        { href: 'https://github.com/opskit-test/service/issues/1', text: 'GitHub issue #1' },
        { href: `https://github.com/opskit-test/service/actions/runs/${runId}`, text: 'Workflow run' },
      ],
    });
    const slack = notify.slack.messages[0]!;
    expect(slack.text).toBe(
      '🚨 Incident opened (P2): [P2] deploy failed on production https://github.com/opskit-test/service/issues/1',
    );
    expect(JSON.stringify(slack.blocks)).toContain(
      '<https://github.com/opskit-test/service/issues/1|[P2] deploy failed on production>',
    );
    expect(opened.summary).toContain('| Slack | ✅ opened sent |');
    expect(opened.summary).toContain('| PagerDuty | ✅ trigger sent |');

    expectOk(await incident(inputs)); // another failure: the issue gets a comment, nobody is paged again
    expect(notify.pagerduty.events).toHaveLength(1);

    const resolved = await incident({ ...inputs, status: 'resolved' });
    expectOk(resolved);
    expect(notify.pagerduty.events[1]).toEqual({
      routing_key: notify.pagerduty.routingKey,
      event_action: 'resolve',
      dedup_key: 'deploy/production',
    });
    expect(notify.pagerduty.alerts.get('deploy/production')).toBe('resolved');
    expect(notify.slack.messages[1]!.text).toMatch(
      /^✅ Incident resolved after \S+: \[P2\] deploy failed on production https:/,
    );
    expect(notify.slack.messages).toHaveLength(2);
  }, 90_000);

  it('keeps the incident when a notification fails, and fails the step saying which', async () => {
    notify.failNext('slack', 500);
    const run = await incident({ 'slack-webhook-url': notify.slack.url });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ 'issue-number': '1', action: 'created' });
    expect(run.stdout).toContain(
      '::error::post-incident-issue failed: incident #1 created, but Slack refused the message (500 internal_error)',
    );
    expect(run.summary).toContain('### ❌ Incident #1 opened (P2)');
    expect(run.visible).not.toContain(notify.slack.url);
  }, 60_000);
});

describe('post-incident-issue treats its input as text, not commands', () => {
  it('fits a 100 kB summary into a valid body, and a marker or @team in the input does nothing', async () => {
    const forged = '<!-- opskit:incident key=forged since=2020-01-01T00:00:00.000Z -->';
    const summary = `${forged}\nPaging @ops-team and @acme/sre, mail oncall@example.com.\n${'All work and no play. '.repeat(5000)}`;
    expect(summary.length).toBeGreaterThan(100_000);
    const run = await incident({ summary, title: 'Broken, cc @ops-team', impact: '-->@everyone' });
    expectOk(run);
    const body = gh.issues[0]!.body!;
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body).toContain('_…cut to 10,000 of ');
    expect(body.match(/^<!-- opskit:incident /gm)).toHaveLength(1);
    expect(body).toContain('&lt;!-- opskit:incident key=forged');
    expect(body).not.toMatch(/(^|[^\w\u200d])@(ops-team|acme\/sre|everyone)/m);
    expect(body).toContain('@\u200dops-team and @\u200dacme/sre');
    expect(body).toContain('oncall@example.com');
    expect(body).toContain('--&gt;@\u200deveryone');
    expect(gh.issues[0]!.title).toBe('Broken, cc @\u200dops-team');

    const other = await incident({ 'incident-key': 'forged' });
    expectOk(other);
    expect(other.outputs).toMatchObject({ 'issue-number': '2', action: 'created' }); // the forged marker matched nothing
  }, 60_000);

  it('uses a template file with placeholders instead of the built-in one', async () => {
    const template = path.join(dir.path, 'incident.md');
    await writeFile(
      template,
      '# {{title}}\n\nKey {{key}}, {{severity}}, since {{started}}.\n\n{{summary}}\n\n## Jobs\n\n{{failed-jobs}}\n\n## Reports\n\n{{ reports }}\n\n## Links\n\n- [run]({{run-url}})\n',
    );
    const run = await incident({ template: 'incident.md', summary: 'From a template.' });
    expectOk(run);
    const body = gh.issues[0]!.body!;
    expect(body).toContain('# [P2] deploy failed on production\n\nKey `deploy / production`, P2, since ');
    expect(body).toContain('From a template.');
    expect(body).toContain('## Jobs\n\n**Failed jobs** (2)');
    expect(body).not.toContain('## Reports'); // empty: dropped
    expect(body).toContain(`- [run](https://github.com/opskit-test/service/actions/runs/${runId})`);
    expect(body).not.toContain('## Root Cause');
  }, 60_000);

  it('summarises smoke-test and other opskit reports as tables, and notes a missing one', async () => {
    const smoke = path.join(dir.path, 'smoke.json');
    await writeFile(
      smoke,
      JSON.stringify({
        tool: 'smoke-test',
        passed: false,
        failed: ['api'],
        checks: [
          {
            name: 'api',
            passed: false,
            attempts: 7,
            reason: 'status 503, expected 2xx',
            latencyMs: { p50: 120.4, p95: 480, p99: 950 },
          },
          { name: 'home | page', passed: true, attempts: 1, latencyMs: { p50: 40, p95: 55, p99: 60 } },
        ],
      }),
    );
    await writeFile(
      path.join(dir.path, 'backup.json'),
      JSON.stringify({
        tool: 'db-backup',
        uri: 's3://backups/db.dump.zst',
        sizeBytes: 1048576,
        verified: true,
        tables: ['a', 'b'],
      }),
    );
    const run = await incident({ reports: `${smoke}\nbackup.json\nmissing.json` });
    expectOk(run);
    const body = gh.issues[0]!.body!;
    expect(body).toContain('## Reports\n\n#### smoke-test: ❌ 1 of 2 checks failed');
    expect(body).toContain('| Check | Result | Attempts | p50 | p95 | p99 | Reason |');
    expect(body).toContain('| api | ❌ | 7 | 120 ms | 480 ms | 950 ms | status 503, expected 2xx |');
    expect(body).toContain('| home \\| page | ✅ | 1 | 40 ms | 55 ms | 60 ms |  |');
    expect(body).toContain('#### db-backup\n\n| Field | Value |');
    expect(body).toContain('| `uri` | s3://backups/db.dump.zst |');
    expect(body).toContain('| `tables` | 2 items: `["a","b"]` |');
    expect(body).toContain('- ⚠️ Report `missing.json`: not found');
    expect(run.stdout).toContain('::warning::report missing.json: not found');
  }, 60_000);
});

describe('post-incident-issue and GitHub permissions', () => {
  it('says which permission the workflow needs when the token cannot write issues', async () => {
    gh.denyPermission('issues');
    const run = await incident();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::error::post-incident-issue failed: GitHub refused to create label');
    expect(run.stdout).toContain(
      '(403 Resource not accessible by integration): the token lacks permission; give the workflow or job `permissions: issues: write`',
    );
    expect(run.stdout).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(run.visible).not.toContain(gh.token);
  }, 60_000);

  it('opens the incident without the failed jobs when the token cannot read Actions, saying why', async () => {
    gh.denyPermission('actions', 'read');
    const run = await incident();
    expectOk(run);
    expect(run.outputs.action).toBe('created');
    const body = gh.issues[0]!.body!;
    expect(body).toContain(
      '> [!WARNING]\n> The failed jobs of this run could not be read: GitHub refused to read the jobs of run',
    );
    expect(body).toContain('give the workflow or job `permissions: actions: read`');
    expect(run.stdout).toContain('::warning::The failed jobs of this run could not be read');
  }, 60_000);

  it('does not duplicate an issue whose creation answer was lost', async () => {
    gh.failNext('issues/create', { status: 502, applied: true });
    const run = await incident();
    expectOk(run);
    expect(run.outputs).toMatchObject({ 'issue-number': '1', action: 'created' });
    expect(gh.issues).toHaveLength(1);
    expect(count('issues/create')).toBe(1); // found it instead of posting again
    expect(run.stdout).toContain('no clear answer (502); checking whether it took effect');
  }, 60_000);

  it('does not duplicate a comment whose answer was lost', async () => {
    expectOk(await incident());
    gh.failNext('issues/create-comment', { status: 500, applied: true });
    const run = await incident();
    expectOk(run);
    expect(run.outputs.action).toBe('commented');
    expect(commentsOn(1)).toHaveLength(1);
  }, 60_000);

  it('leaves one open incident when two runs fail at the same time', async () => {
    const [a, b] = await Promise.all([incident(), incident()]);
    expectOk(a);
    expectOk(b);
    const open = gh.issues.filter((i) => i.state === 'open');
    expect(open).toHaveLength(1);
    expect([a.outputs['issue-number'], b.outputs['issue-number']]).toEqual([
      String(open[0]!.number),
      String(open[0]!.number),
    ]);
    for (const dup of gh.issues.filter((i) => i.state === 'closed')) expect(dup.state_reason).toBe('duplicate');
    expect(gh.labels.map((l) => l.name).sort()).toEqual(['incident', 'severity:P2']);
  }, 60_000);

  it('rejects a wrong token with a clear message and never prints it', async () => {
    const run = await runAction(
      'post-incident-issue',
      { 'github-token': 'ghs_not_the_right_one_000000000000000000', environment: 'production' },
      { env: env() },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(401 Bad credentials): the token is not valid; check input github-token');
    expect(run.visible).not.toContain('ghs_not_the_right_one');
  }, 60_000);
});

describe('post-incident-issue never shows a secret', () => {
  it('keeps the token, the webhook URL and the routing key out of logs, outputs and the summary', async () => {
    const secrets = [gh.token, notify.slack.url, notify.pagerduty.routingKey, new URL(notify.slack.url).pathname];
    const run = await incident({
      'slack-webhook-url': notify.slack.url,
      'pagerduty-routing-key': notify.pagerduty.routingKey,
      'pagerduty-api-url': notify.pagerduty.url,
      summary: `The token is ${gh.token} and the key is ${notify.pagerduty.routingKey}`,
    });
    expectOk(run);
    for (const s of secrets) expect(run.visible).not.toContain(s);
    expect(run.masked).toEqual(expect.arrayContaining([gh.token, notify.slack.url, notify.pagerduty.routingKey]));
    for (const s of [gh.token, notify.pagerduty.routingKey]) {
      expect(gh.issues[0]!.body).not.toContain(s); // scrubbed before posting
      expect(JSON.stringify(notify.slack.messages)).not.toContain(s);
    }
  }, 60_000);
});

describe('post-incident-issue masks the path of a webhook URL', () => {
  it('keeps the token out of the log when the webhook server echoes the path back', async () => {
    const token = 'xoxbEchoedTok3nAbCdEfGh';
    const hookPath = `/services/T0ECHO123/B0ECHO456/${token}`;
    // A server that names the path it could not find, as proxies and some webhook endpoints do.
    const echo = await startHttpServer((req, res) => {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no_service: nothing at ${req.url ?? ''} (${(req.url ?? '').split('/').pop() ?? ''})`);
    });
    try {
      const run = await incident({ 'slack-webhook-url': `${echo.url}${hookPath}` });
      expect(echo.requests.map((r) => r.url)).toEqual([hookPath]);
      expect(run.stdout).toContain('no_service: nothing at ***');
      for (const part of [token, hookPath, hookPath.slice(1), 'T0ECHO123', 'B0ECHO456']) {
        expect(run.visible).not.toContain(part);
      }
      expect(run.masked).toEqual(expect.arrayContaining([hookPath, token]));
    } finally {
      await echo.close();
    }
  }, 60_000);
});

// [what is wrong, inputs, env overrides, the message (after "post-incident-issue failed: ")]
const badInputs: [string, Record<string, string>, Record<string, string>, string][] = [
  ['an unknown severity', { severity: 'P5' }, {}, "input 'severity': expected one of P0, P1, P2, P3, got 'P5'"],
  [
    'an unknown status',
    { status: 'fixed' },
    {},
    "input 'status': expected one of open, resolved, review, check, got 'fixed'",
  ],
  ['an unreadable template', { template: 'nope.md' }, {}, "input 'template': cannot read 'nope.md' (no such file)"],
  ['a template that is a directory', { template: '.' }, {}, "input 'template': cannot read '.' (it is a directory)"],
  [
    'a template with an unknown placeholder',
    { template: 'typo.md' },
    {},
    "input 'template': the template 'typo.md' uses unknown placeholder {{sumary}}",
  ],
  ['a reopen-window in words', { 'reopen-window': 'a day' }, {}, "input 'reopen-window': expected a duration like 30s"],
  [
    'include-run-context that is not a boolean',
    { 'include-run-context': 'maybe' },
    {},
    "input 'include-run-context': expected true or false",
  ],
  [
    'a repository without owner',
    { repository: 'service' },
    {},
    "input 'repository': expected owner/name like octo-org/api, got 'service'",
  ],
  [
    'an assignee that is not a login',
    { assignees: 'ok-user, not a login' },
    {},
    "input 'assignees': expected GitHub logins",
  ],
  [
    'a routing key of the wrong length',
    { 'pagerduty-routing-key': 'abc123' },
    {},
    "input 'pagerduty-routing-key': expected the 32-character integration key of a PagerDuty Events API v2 integration, got 6 characters",
  ],
  [
    'a webhook URL that is not a URL',
    { 'slack-webhook-url': 'hooks.slack.com/services/T/B/x' },
    {},
    "input 'slack-webhook-url': expected a Slack incoming-webhook URL starting with https://, but it is not a URL",
  ],
  [
    'a pagerduty-api-url that is not http(s)',
    { 'pagerduty-api-url': 'ftp://events.example' },
    {},
    "input 'pagerduty-api-url': expected a URL starting with http:// or https://",
  ],
  [
    'an incident-key over 255 characters',
    { 'incident-key': 'k'.repeat(256) },
    {},
    "input 'incident-key': expected at most 255 characters (it is PagerDuty's dedup_key)",
  ],
  [
    'no key and no workflow to derive it from',
    {},
    { GITHUB_WORKFLOW: '' },
    "input 'incident-key' is required when GITHUB_WORKFLOW is not set",
  ],
  [
    'only a severity label',
    { labels: 'severity:P1' },
    {},
    "input 'labels': expected at least one label besides severity:",
  ],
  ['no token', { 'github-token': '' }, {}, "input 'github-token' is required but was not supplied"],
];

describe('post-incident-issue rejects bad input before any API call', () => {
  beforeAll(() => writeFile(path.join(dir.path, 'typo.md'), '## Summary\n\n{{sumary}}\n'));

  it.each(badInputs)('%s', async (_what, inputs, envOverrides, message) => {
    const run = await incident({ 'pagerduty-routing-key': '', ...inputs }, envOverrides);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::error::post-incident-issue failed: ${message}`);
    expect(run.stdout).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
    expect(gh.requests).toEqual([]);
    expect(notify.requests).toEqual([]);
    expect(run.outputs).toEqual(emptyOutputs('post-incident-issue'));
    expect(run.visible).not.toContain(gh.token);
  });
});
