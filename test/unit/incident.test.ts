import { describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { gitHubError } from '../../src/github/client.js';
import { firstFailureTime, type FailedJob } from '../../src/github/jobs.js';
import { parseIncidentOptions, parseResponseTargets } from '../../src/incident/config.js';
import { severityOf } from '../../src/incident/incident.js';
import { eventMarker, issueMarker, readEventMarker, readIssueMarker } from '../../src/incident/marker.js';
import { notifyEvent, pagerDutyEvent, slackMessage } from '../../src/incident/notify.js';
import { formatFailureComment, formatIssueBody, type IncidentText } from '../../src/incident/format.js';
import { formatReport } from '../../src/incident/reports.js';
import { fillTemplate, validateTemplate, PLACEHOLDERS, type TemplateValues } from '../../src/incident/template.js';
import { cap, fitBody, GITHUB_BODY_LIMIT, neutralise } from '../../src/incident/text.js';
import { moreSevere, type IncidentOptions, type IncidentResult, type Severity } from '../../src/incident/types.js';
import { Inputs } from '../../src/inputs.js';

const ZWJ = '\u200d';

describe('neutralise', () => {
  it('defuses @user and @org/team mentions with a zero-width joiner, leaving e-mail addresses', () => {
    expect(neutralise('cc @alice, @acme/sre and (@bob); mail ops@example.com')).toBe(
      `cc @${ZWJ}alice, @${ZWJ}acme/sre and (@${ZWJ}bob); mail ops@example.com`,
    );
    expect(neutralise('@start')).toBe(`@${ZWJ}start`);
  });

  it('escapes HTML comment openers and closers so no marker can be forged or hidden', () => {
    expect(neutralise('<!-- opskit:incident key=x -->')).toBe('&lt;!-- opskit:incident key=x --&gt;');
    expect(neutralise('a --!> b')).toBe('a --!&gt; b');
  });

  it('is idempotent', () => {
    const once = neutralise('@a <!-- x --> @b/c');
    expect(neutralise(once)).toBe(once);
  });
});

describe('cap and fitBody', () => {
  it('cap keeps short text and says how much it cut from long text', () => {
    expect(cap('short', 10)).toBe('short');
    expect(cap('x'.repeat(20_000), 10_000)).toBe(`${'x'.repeat(10_000)}\n\n_…cut to 10,000 of 20,000 characters._`);
  });

  it('fitBody leaves a body under the budget alone', () => {
    expect(fitBody('small body')).toBe('small body');
  });

  it('fitBody cuts at a line, closes an open code fence and notes where the rest is', () => {
    const body = `intro\n\`\`\`\n${'line of log output\n'.repeat(10_000)}`;
    const fitted = fitBody(body, 'the workflow run (https://example/run)');
    expect(fitted.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(fitted).toMatch(
      /line of log output\n```\n\n> \[!NOTE\]\n> Cut to fit GitHub's 65,536-character limit \([\d,]+ characters left out\); the full details are in the workflow run \(https:\/\/example\/run\)\.\n$/,
    );
  });

  it('never splits a surrogate pair', () => {
    const fitted = fitBody('😀'.repeat(40_000), undefined, 1001);
    expect(fitted.length).toBeLessThanOrEqual(1001);
    expect(fitted).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('markers', () => {
  it('round-trips any key, even one that would end an HTML comment', () => {
    const key = 'deploy / prod --> <b>ü';
    const since = new Date('2024-05-01T12:03:00Z');
    const body = `${issueMarker({ key, since })}\n## Summary`;
    expect(body).not.toContain(key); // encoded: `-->` cannot end the comment early
    expect(readIssueMarker(body)).toEqual({ key, since });
    const e = eventMarker({ key, event: 'reopened', at: since, id: 'abc' });
    expect(readEventMarker(`${e}\ntext`)).toEqual({ key, event: 'reopened', at: since, id: 'abc' });
  });

  it('reads only a marker at the start of a line, so neutralised user text is never one', () => {
    expect(readIssueMarker('text <!-- opskit:incident key=x -->')).toBeUndefined();
    expect(readIssueMarker(neutralise('<!-- opskit:incident key=x -->'))).toBeUndefined();
    expect(readIssueMarker('no marker')).toBeUndefined();
  });
});

describe('template', () => {
  const values = Object.fromEntries(Object.keys(PLACEHOLDERS).map((k) => [k, ''])) as TemplateValues;

  it('refuses an unknown placeholder, naming it and the known ones', () => {
    expect(() => validateTemplate('template', "'t.md'", '{{summary}} {{ Sumary }}')).toThrow(
      /input 'template': the template 't.md' uses unknown placeholder \{\{sumary\}\}; known: \{\{title\}\}, /,
    );
    expect(() => validateTemplate('template', "'t.md'", '  \n')).toThrow(ConfigurationError);
  });

  it('fills placeholders (any case, inner spaces) once, without re-reading the values', () => {
    const out = fillTemplate('# {{ TITLE }}\n\n{{summary}}', { ...values, title: 'T', summary: '{{title}}' });
    expect(out).toBe('# T\n\n{{title}}');
  });

  it('drops a heading whose section is empty, keeping subsections that have content', () => {
    const t = '## A\n\n{{summary}}\n\n## B\n\n{{reports}}\n\n## C\n\n### C1\n\ntext\n\n## D\n\n{{impact}}\n';
    expect(fillTemplate(t, { ...values, summary: 'a' })).toBe('## A\n\na\n\n## C\n\n### C1\n\ntext');
  });
});

describe('reports', () => {
  it('renders a smoke-test report as a table, escaping pipes and defusing mentions', () => {
    const md = formatReport({
      path: 'r.json',
      tool: 'smoke-test',
      data: {
        tool: 'smoke-test',
        passed: false,
        checks: [
          { name: 'a|b @ops', passed: false, attempts: 3, reason: 'x\ny', latencyMs: { p50: 1.4, p95: 2, p99: 3 } },
        ],
      },
    });
    expect(md).toContain('#### smoke-test: ❌ 1 of 1 checks failed');
    expect(md).toContain(`| a\\|b @${ZWJ}ops | ❌ | 3 | 1 ms | 2 ms | 3 ms | x y |`);
  });

  it('renders an unknown tool as a key/value table and a problem as a note', () => {
    const md = formatReport({
      path: 'x.json',
      tool: 'deploy-render',
      data: { tool: 'deploy-render', id: 'dep-1', ok: true, nested: { a: 1 } },
    });
    expect(md).toBe(
      '#### deploy-render\n\n| Field | Value |\n| --- | --- |\n| `id` | dep-1 |\n| `ok` | true |\n| `nested` | `{"a":1}` |',
    );
    expect(formatReport({ path: 'gone.json', problem: 'not found' })).toBe('- ⚠️ Report `gone.json`: not found');
  });
});

async function parse(raw: Record<string, string>, env: Record<string, string> = {}) {
  const inputs = new Inputs((name) => raw[name] ?? '');
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'opskit-incident-unit-'));
  return parseIncidentOptions(
    inputs,
    { GITHUB_REPOSITORY: 'acme/api', GITHUB_WORKFLOW: 'deploy', GITHUB_JOB: 'ship', GITHUB_RUN_ID: '9', ...env },
    workspace,
  );
}

describe('parseIncidentOptions', () => {
  it('derives key, title, labels and the reopen window from the run', async () => {
    const { options } = await parse({ 'github-token': 't0k', environment: 'production' });
    expect(options).toMatchObject({
      repository: { owner: 'acme', repo: 'api' },
      key: 'deploy / production',
      title: '[P2] deploy failed on production',
      labels: ['incident', 'severity:P2'],
      status: 'open',
      severity: 'P2',
      reopenWindowMs: 86_400_000,
      includeRunContext: true,
    });
    expect(options.run.runUrl).toBe('https://github.com/acme/api/actions/runs/9');
  });

  it('falls back to the job without an environment, and takes severities in any case', async () => {
    const { options } = await parse({
      'github-token': 't',
      severity: 'p1',
      labels: 'ops-incident, severity:P3, team:api',
    });
    expect(options.key).toBe('deploy / job ship');
    expect(options.title).toBe('[P1] deploy failed (job ship)');
    expect(options.labels).toEqual(['ops-incident', 'team:api', 'severity:P1']);
  });

  it('reads off as never reopening, and collects every secret', async () => {
    const { options } = await parse({
      'github-token': 'tok',
      'reopen-window': 'off',
      'slack-webhook-url': 'https://hooks.slack.com/services/T/B/sekret',
      'pagerduty-routing-key': 'r'.repeat(32),
    });
    expect(options.reopenWindowMs).toBeUndefined();
    // The webhook's path is its credential too (a server that echoes the path must not print it).
    expect(options.secrets).toEqual([
      'tok',
      'https://hooks.slack.com/services/T/B/sekret',
      '/services/T/B/sekret',
      'services/T/B/sekret',
      'r'.repeat(32),
    ]);
    expect(options.pagerduty).toEqual({ routingKey: 'r'.repeat(32), url: 'https://events.pagerduty.com/v2/enqueue' });
  });

  it('reads a template relative to the workspace and rejects a bad one', async () => {
    await expect(parse({ 'github-token': 't', template: 'missing.md' })).rejects.toThrow(
      "input 'template': cannot read 'missing.md' (no such file)",
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'opskit-tpl-'));
    await writeFile(path.join(dir, 't.md'), '# {{title}}');
    const { options } = await parse({ 'github-token': 't', template: path.join(dir, 't.md') });
    expect(options.template).toBe('# {{title}}');
  });
});

function baseOptions(extra: Partial<IncidentOptions> = {}): IncidentOptions {
  return {
    repository: { owner: 'acme', repo: 'api' },
    key: 'deploy / production',
    status: 'open',
    severity: 'P2',
    title: '[P2] deploy failed on production',
    environment: 'production',
    text: { summary: '', impact: '', rootCause: '', resolution: '', timeline: [], actionItems: [] },
    labels: ['incident', 'severity:P2'],
    assignees: [],
    includeRunContext: true,
    reports: [],
    reopenWindowMs: 86_400_000,
    run: {
      apiUrl: 'https://api.github.com',
      serverUrl: 'https://github.com',
      repository: { owner: 'acme', repo: 'api' },
      runId: 9,
      runAttempt: 2,
      runNumber: 41,
      workflow: 'deploy',
      runUrl: 'https://github.com/acme/api/actions/runs/9/attempts/2',
    },
    secrets: ['s3cr3t-token'],
    responseTargets: parseResponseTargets('response-targets', ''),
    reviewSeverities: ['P0', 'P1'],
    ...extra,
  } as IncidentOptions;
}

const jobs: FailedJob[] = [
  {
    id: 1,
    name: 'deploy',
    conclusion: 'failure',
    url: 'https://github.com/acme/api/actions/runs/9/job/1',
    completedAt: '2024-05-01T12:10:00Z',
    failedSteps: [
      {
        number: 3,
        name: 'Ship',
        conclusion: 'failure',
        url: 'https://github.com/acme/api/actions/runs/9/job/1#step:3:1',
        completedAt: '2024-05-01T12:05:00Z',
      },
    ],
  },
  {
    id: 2,
    name: 'smoke',
    conclusion: 'timed_out',
    url: 'https://github.com/acme/api/actions/runs/9/job/2',
    completedAt: '2024-05-01T12:07:00Z',
    failedSteps: [],
  },
];

describe('rendering', () => {
  const input = (o: IncidentOptions): IncidentText => ({
    options: o,
    now: new Date('2024-05-01T12:30:00Z'),
    since: new Date('2024-05-01T12:05:00Z'),
    failedJobs: jobs,
  });

  it('fills the built-in template: guide sections, the failure as first timeline entry, the failed jobs', () => {
    const body = formatIssueBody(
      input(
        baseOptions({
          text: {
            summary: 'Boom',
            impact: '',
            rootCause: '',
            resolution: '',
            timeline: ['12:20 rolled back'],
            actionItems: [],
          },
        }),
      ),
    );
    expect(
      body.startsWith(
        '<!-- opskit:incident key=deploy%20%2F%20production since=2024-05-01T12%3A05%3A00.000Z -->\n## Summary\n\nBoom\n',
      ),
    ).toBe(true);
    expect(body).toContain(
      '- 2024-05-01 12:05 UTC — ❌ **deploy** failed on **production** in [run #41, attempt 2](https://github.com/acme/api/actions/runs/9/attempts/2)\n- 12:20 rolled back',
    );
    expect(body).toContain('## Resolution\n\n_Ongoing._');
    expect(body).toContain(
      '- [ ] Fix the root cause\n- [ ] Add monitoring or a test that would have caught this\n- [ ] Update the runbook',
    );
    expect(body).toContain(
      '- ❌ [**deploy**](https://github.com/acme/api/actions/runs/9/job/1) — failed [step 3: Ship](https://github.com/acme/api/actions/runs/9/job/1#step:3:1)',
    );
    expect(body).toContain('- ⏱️ [**smoke**](https://github.com/acme/api/actions/runs/9/job/2) (timed out)');
  });

  it('scrubs a secret that reached user text, as the last guard', () => {
    const body = formatIssueBody(
      input(
        baseOptions({
          text: {
            summary: 'token s3cr3t-token leaked',
            impact: '',
            rootCause: '',
            resolution: '',
            timeline: [],
            actionItems: [],
          },
        }),
      ),
    );
    expect(body).toContain('token *** leaked');
  });

  it('says when severity was raised in a failure comment', () => {
    const c = formatFailureComment({
      ...input(baseOptions({ severity: 'P0' })),
      event: 'failed',
      id: 'i',
      escalatedFrom: 'P2',
    });
    expect(c).toContain('⬆️ Severity raised from **P2** to **P0**.');
    expect(readEventMarker(c)).toMatchObject({ event: 'failed', id: 'i' });
  });

  it('the first failure is the earliest failed step', () => {
    expect(firstFailureTime(jobs)?.toISOString()).toBe('2024-05-01T12:05:00.000Z');
    expect(firstFailureTime([])).toBeUndefined();
  });
});

describe('severity', () => {
  it('orders P0 above P3 and reads the worst label', () => {
    expect(moreSevere('P0', 'P1')).toBe(true);
    expect(moreSevere('P3', 'P2')).toBe(false);
    expect(severityOf(['incident', 'severity:P3', 'Severity:P1'])).toBe('P1');
    expect(severityOf(['incident'])).toBeUndefined();
  });
});

describe('notifications', () => {
  const result = (extra: Partial<IncidentResult>): IncidentResult => ({
    action: 'created',
    key: 'deploy / production',
    severity: 'P2',
    issue: { number: 7, url: 'https://github.com/acme/api/issues/7', title: 'Down <!channel> @here' },
    labelsCreated: [],
    failedJobs: jobs,
    notifications: [],
    duplicatesClosed: [],
    ...extra,
  });

  it('notifies on open, reopen, escalation and resolve only', () => {
    expect(notifyEvent(result({ action: 'created' }))).toBe('opened');
    expect(notifyEvent(result({ action: 'reopened' }))).toBe('reopened');
    expect(notifyEvent(result({ action: 'commented' }))).toBeUndefined();
    expect(notifyEvent(result({ action: 'commented', escalatedFrom: 'P3' }))).toBe('escalated');
    expect(notifyEvent(result({ action: 'closed' }))).toBe('resolved');
    expect(notifyEvent(result({ action: 'none' }))).toBeUndefined();
  });

  const levels: [Severity, string][] = [
    ['P0', 'critical'],
    ['P1', 'error'],
    ['P2', 'warning'],
    ['P3', 'info'],
  ];
  it.each(levels)('maps %s to PagerDuty severity %s, with the incident key as dedup_key', (sev, pd) => {
    const e = pagerDutyEvent(baseOptions({ severity: sev }), result({ severity: sev }), 'opened', new Date());
    expect(e).toMatchObject({ event_action: 'trigger', dedup_key: 'deploy / production', payload: { severity: pd } });
  });

  it('resolves with just the dedup key', () => {
    expect(pagerDutyEvent(baseOptions(), result({ action: 'closed' }), 'resolved', new Date())).toEqual({
      event_action: 'resolve',
      dedup_key: 'deploy / production',
    });
  });

  it('escapes Slack control characters so a title cannot ping a channel', () => {
    const m = slackMessage(baseOptions(), result({}), 'opened');
    expect(JSON.stringify(m.blocks)).toContain('Down &lt;!channel&gt; @here');
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });
});

describe('gitHubError', () => {
  const err = (status: number, message: string, headers: Record<string, string> = {}) => ({
    status,
    message: `${message} - https://docs.github.com/rest`,
    response: { data: { message }, headers },
  });

  it('names the permission for a 403 "Resource not accessible by integration"', () => {
    const e = gitHubError(err(403, 'Resource not accessible by integration'), {
      doing: 'create an issue in a/b',
      permission: 'issues: write',
    });
    expect(e).toBeInstanceOf(ExternalError);
    expect(e.message).toBe(
      'GitHub refused to create an issue in a/b (403 Resource not accessible by integration): the token lacks permission; give the workflow or job `permissions: issues: write`',
    );
  });

  it('falls back to the X-Accepted-GitHub-Permissions header', () => {
    const e = gitHubError(
      err(403, 'Resource not accessible by integration', { 'x-accepted-github-permissions': 'actions=read' }),
      { doing: 'x' },
    );
    expect(e.message).toContain('`permissions: actions: read`');
  });

  it('explains 401 and 404, and lists validation errors', () => {
    expect(gitHubError(err(401, 'Bad credentials'), { doing: 'x' }).message).toContain('the token is not valid');
    expect(gitHubError(err(404, 'Not Found'), { doing: 'x' }).message).toContain(
      'the repository does not exist or the token cannot see it',
    );
    const v = {
      status: 422,
      message: 'Validation Failed',
      response: {
        data: { message: 'Validation Failed', errors: [{ message: 'body is too long (maximum is 65536 characters)' }] },
      },
    };
    expect(gitHubError(v, { doing: 'x' }).message).toBe(
      'GitHub refused to x (422 Validation Failed (body is too long (maximum is 65536 characters)))',
    );
  });
});
