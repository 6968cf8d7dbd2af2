/**
 * The markdown opskit posts: the incident issue body (marker + template) and the comments that
 * follow it (failed again, reopened, resolved). Every piece of free text passes through
 * `neutralise`, every piece is capped, and every body is fitted under GitHub's limit.
 */
import type { FailedJob } from '../github/jobs.js';
import { scrub } from '../redact.js';
import { formatDuration } from '../util/time.js';
import { eventMarker, issueMarker, type IncidentEventKind } from './marker.js';
import { formatReports } from './reports.js';
import { BUILT_IN_TEMPLATE, fillTemplate, type TemplateValues } from './template.js';
import { cap, capLine, fitBody, formatUtc, neutralise, neutraliseLine } from './text.js';
import type { IncidentOptions, Severity } from './types.js';

/** Per-field caps: together they stay well under the body limit; fitBody is the last guard. */
const FIELD_MAX = 10_000;
const LIST_MAX_ITEMS = 100;
const JOBS_MAX = 30;
const STEPS_MAX = 10;
const REPORTS_MAX = 20_000;

export const TO_FILL = '_To be filled in._';

export const DEFAULT_ACTION_ITEMS = [
  'Fix the root cause',
  'Add monitoring or a test that would have caught this',
  'Update the runbook',
];

export interface IncidentText {
  options: IncidentOptions;
  now: Date;
  /** First failure of this incident. */
  since: Date;
  failedJobs: FailedJob[];
  runContextNote?: string;
  previous?: { number: number; url: string };
}

/** Free text as markdown: neutralised and capped. */
export function userText(text: string, max = FIELD_MAX): string {
  return cap(neutralise(text.trim()), max);
}

function orPrompt(text: string): string {
  return text.trim() ? userText(text) : TO_FILL;
}

function listItems(lines: readonly string[]): string[] {
  return lines
    .slice(0, LIST_MAX_ITEMS)
    .map((l) => capLine(neutraliseLine(l.replace(/^\s*(?:[-*]\s+(?:\[[ xX]\]\s+)?)?/, '')), 1000))
    .filter((l) => l.length > 0);
}

function more(lines: readonly string[]): string {
  return lines.length > LIST_MAX_ITEMS ? `\n\n_…and ${lines.length - LIST_MAX_ITEMS} more lines._` : '';
}

export function checkboxes(items: readonly string[]): string {
  return (
    listItems(items)
      .map((l) => `- [ ] ${l}`)
      .join('\n') + more(items)
  );
}

function bullets(items: readonly string[]): string {
  return (
    listItems(items)
      .map((l) => `- ${l}`)
      .join('\n') + more(items)
  );
}

/** `deploy failed on production in [run #123](…)` */
export function failureSentence(o: IncidentOptions): string {
  const what = o.run.workflow ? `**${neutraliseLine(o.run.workflow)}**` : 'The workflow';
  const where = o.environment
    ? ` on **${neutraliseLine(o.environment)}**`
    : o.run.job
      ? ` in job \`${code(o.run.job)}\``
      : '';
  return `${what} failed${where}${runLink(o, ' in ')}`;
}

function runLink(o: IncidentOptions, prefix: string): string {
  if (!o.run.runUrl) return '';
  const n = o.run.runNumber ?? o.run.runId;
  const attempt = o.run.runAttempt > 1 ? `, attempt ${o.run.runAttempt}` : '';
  return `${prefix}[run #${n}${attempt}](${o.run.runUrl})`;
}

/** A code span holding `text` safely (backticks replaced, one line). */
function code(text: string): string {
  return capLine(text.replace(/`/g, "'").replace(/\s+/g, ' '), 200);
}

function timeline(input: IncidentText): string {
  const first = `- ${formatUtc(input.since)} — ❌ ${failureSentence(input.options)}`;
  const rest = bullets(input.options.text.timeline);
  return [first, rest].filter(Boolean).join('\n');
}

export function runContext(input: IncidentText): string {
  const { run } = input.options;
  if (!input.options.includeRunContext || !run.runUrl) return '';
  const rows: [string, string][] = [];
  rows.push(['Run', runLink(input.options, '')]);
  if (run.workflow) rows.push(['Workflow', neutraliseLine(run.workflow)]);
  if (run.eventName) rows.push(['Trigger', `\`${code(run.eventName)}\`${run.ref ? ` on \`${code(run.ref)}\`` : ''}`]);
  if (run.actor) rows.push(['Actor', `\`${code(run.actor)}\``]);
  if (run.sha && run.repository) {
    const commitUrl = `${run.serverUrl}/${run.repository.owner}/${run.repository.repo}/commit/${run.sha}`;
    rows.push(['Commit', `[\`${code(run.sha.slice(0, 7))}\`](${commitUrl})`]);
  }
  if (run.job) rows.push(['Job', `\`${code(run.job)}\``]);
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| **${k}** | ${v.replace(/\|/g, '\\|')} |`)].join('\n');
}

export function failedJobs(input: IncidentText): string {
  if (!input.options.includeRunContext) return '';
  if (input.runContextNote) return `> [!WARNING]\n> ${neutraliseLine(input.runContextNote)}`;
  const jobs = input.failedJobs;
  if (jobs.length === 0) return '';
  const link = (label: string, url?: string) => (url ? `[${label.replace(/[[\]]/g, '')}](${url})` : label);
  const lines = jobs.slice(0, JOBS_MAX).map((j) => {
    const icon = j.conclusion === 'timed_out' ? '⏱️' : '❌';
    const name = capLine(neutraliseLine(j.name), 200);
    const steps = j.failedSteps
      .slice(0, STEPS_MAX)
      .map((s) => link(`step ${s.number}: ${capLine(neutraliseLine(s.name), 200)}`, s.url));
    const extra = j.failedSteps.length > STEPS_MAX ? ` and ${j.failedSteps.length - STEPS_MAX} more` : '';
    const timedOut = j.conclusion === 'timed_out' ? ' (timed out)' : '';
    return `- ${icon} ${link(`**${name}**`, j.url)}${timedOut}${steps.length ? ` — failed ${steps.join(', ')}${extra}` : ''}`;
  });
  const moreJobs = jobs.length > JOBS_MAX ? `\n- _…and ${jobs.length - JOBS_MAX} more failed jobs._` : '';
  return `**Failed jobs** (${jobs.length})\n\n${lines.join('\n')}${moreJobs}`;
}

function reports(input: IncidentText): string {
  if (input.options.reports.length === 0) return '';
  return cap(formatReports(input.options.reports), REPORTS_MAX);
}

export function templateValues(input: IncidentText): TemplateValues {
  const o = input.options;
  const prev = input.previous
    ? `> [!NOTE]\n> This failure follows an earlier incident with the same key: #${input.previous.number} (${input.previous.url}).`
    : '';
  return {
    title: neutraliseLine(o.title),
    key: `\`${code(o.key)}\``,
    severity: o.severity,
    'response-target': `${formatDuration(o.responseTargets[o.severity])}: first response due by ${formatUtc(new Date(input.since.getTime() + o.responseTargets[o.severity]))}`,
    status: o.status === 'open' ? 'Open' : 'Resolved',
    date: input.since.toISOString().slice(0, 10),
    started: formatUtc(input.since),
    workflow: o.run.workflow ? neutraliseLine(o.run.workflow) : '',
    environment: o.environment ? neutraliseLine(o.environment) : '',
    repository: o.run.repository ? `${o.run.repository.owner}/${o.run.repository.repo}` : '',
    summary: orPrompt(o.text.summary),
    impact: orPrompt(o.text.impact),
    'root-cause': orPrompt(o.text.rootCause),
    resolution: o.text.resolution.trim() ? userText(o.text.resolution) : '_Ongoing._',
    timeline: timeline(input),
    'action-items': checkboxes(o.text.actionItems.length ? o.text.actionItems : DEFAULT_ACTION_ITEMS),
    'run-url': o.run.runUrl ?? '',
    'run-context': runContext(input),
    'failed-jobs': failedJobs(input),
    reports: reports(input),
    'previous-incident': prev,
  };
}

function footer(o: IncidentOptions): string {
  return `<sub>Kept up to date by opskit post-incident-issue · incident key \`${code(o.key)}\`</sub>`;
}

/** The body of a new incident issue. */
export function formatIssueBody(input: IncidentText): string {
  const o = input.options;
  const body = [
    issueMarker({ key: o.key, since: input.since }),
    fillTemplate(o.template ?? BUILT_IN_TEMPLATE, templateValues(input)),
    '',
    footer(o),
  ].join('\n');
  return finish(body, o);
}

export interface FailureCommentInput extends IncidentText {
  event: Extract<IncidentEventKind, 'failed' | 'reopened'>;
  id: string;
  escalatedFrom?: Severity;
  closedAt?: Date;
}

/** A comment on an open (or just reopened) incident: the new timeline entry, the run, what failed. */
export function formatFailureComment(input: FailureCommentInput): string {
  const o = input.options;
  const heading =
    input.event === 'reopened'
      ? `### 🔁 Reopened: it failed again${input.closedAt ? ` ${formatDuration(input.now.getTime() - input.closedAt.getTime())} after it was closed` : ''}`
      : '### ❌ Failed again';
  const parts = [
    eventMarker({ key: o.key, event: input.event, at: input.now, id: input.id }),
    heading,
    `- ${formatUtc(input.now)} — ${failureSentence(o)}`,
  ];
  if (input.escalatedFrom) parts.push(`⬆️ Severity raised from **${input.escalatedFrom}** to **${o.severity}**.`);
  if (o.text.summary.trim()) parts.push(`**Summary**\n\n${userText(o.text.summary)}`);
  if (o.text.impact.trim()) parts.push(`**Impact**\n\n${userText(o.text.impact)}`);
  if (o.text.timeline.length) parts.push(`**Timeline**\n\n${bullets(o.text.timeline)}`);
  const jobs = failedJobs(input);
  if (jobs) parts.push(jobs);
  const r = reports(input);
  if (r) parts.push(r);
  return finish(parts.join('\n\n'), o);
}

export interface ResolvedCommentInput extends IncidentText {
  id: string;
  durationMs: number;
}

export function formatResolvedComment(input: ResolvedCommentInput): string {
  const o = input.options;
  const parts = [
    eventMarker({ key: o.key, event: 'resolved', at: input.now, id: input.id }),
    `### ✅ Resolved after ${formatDuration(input.durationMs)}`,
    `- ${formatUtc(input.now)} — resolved${runLink(o, ' in ')}; first failure ${formatUtc(input.since)}.`,
  ];
  if (o.text.resolution.trim()) parts.push(`**Resolution**\n\n${userText(o.text.resolution)}`);
  if (o.text.rootCause.trim()) parts.push(`**Root cause**\n\n${userText(o.text.rootCause)}`);
  if (o.text.impact.trim()) parts.push(`**Impact**\n\n${userText(o.text.impact)}`);
  if (o.text.summary.trim()) parts.push(`**Summary**\n\n${userText(o.text.summary)}`);
  if (o.text.timeline.length) parts.push(`**Timeline**\n\n${bullets(o.text.timeline)}`);
  if (o.text.actionItems.length) parts.push(`**Action items**\n\n${checkboxes(o.text.actionItems)}`);
  const r = reports(input);
  if (r) parts.push(r);
  return finish(parts.join('\n\n'), o);
}

/** Posted on an issue that lost a creation race to an older one with the same key. */
export function formatDuplicateComment(o: IncidentOptions, canonical: number, now: Date, id: string): string {
  return [
    eventMarker({ key: o.key, event: 'duplicate', at: now, id }),
    `Closed as a duplicate of #${canonical}: another run opened the incident for the same key at the same time.`,
  ].join('\n\n');
}

/** Secrets scrubbed (they should never be there; this is the last guard), then fitted under the limit. */
function finish(markdown: string, o: IncidentOptions): string {
  return fitBody(scrub(markdown, o.secrets) + '\n', o.run.runUrl ? `the workflow run (${o.run.runUrl})` : undefined);
}
