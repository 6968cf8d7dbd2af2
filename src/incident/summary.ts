/** The post-incident-issue job summary: headline, what was done, links. */
import { fitSummary, headline, links, table } from '../markdown/blocks.js';
import { formatDuration } from '../util/time.js';
import { neutraliseLine } from './text.js';
import type { IncidentOptions, IncidentResult } from './types.js';

export function formatIncidentSummary(o: IncidentOptions, r: IncidentResult): string {
  if (o.status === 'review') return formatReviewSummary(o, r);
  if (o.status === 'check') return formatCheckSummary(o, r);
  const ok = r.notifications.every((n) => n.ok);
  const n = r.issue ? `#${r.issue.number}` : '';
  const sentence: Record<IncidentResult['action'], string> = {
    created: `Incident ${n} opened (${r.severity})`,
    commented: `Incident ${n} is still open: this failure was added to it`,
    reopened: `Incident ${n} reopened: it failed again within the reopen window`,
    closed: `Incident ${n} resolved after ${formatDuration(r.durationMs ?? 0)}`,
    none: `No open incident for '${neutraliseLine(o.key)}': nothing to resolve`,
  };
  const rows: [string, string][] = [
    ['Incident key', `\`${o.key.replace(/`/g, "'")}\``],
    ['Action', r.action],
  ];
  if (r.issue) rows.push(['Issue', `[#${r.issue.number} ${neutraliseLine(r.issue.title)}](${r.issue.url})`]);
  rows.push(['Severity', r.escalatedFrom ? `${r.escalatedFrom} → ${r.severity} (escalated)` : r.severity]);
  if (r.previous) rows.push(['Follows', `[#${r.previous.number}](${r.previous.url})`]);
  if (r.labelsCreated.length) rows.push(['Labels created', r.labelsCreated.join(', ')]);
  if (r.duplicatesClosed.length) rows.push(['Duplicates closed', r.duplicatesClosed.map((d) => `#${d}`).join(', ')]);
  if (o.status === 'open' && o.includeRunContext) {
    rows.push([
      'Failed jobs',
      r.runContextNote
        ? `not read: ${r.runContextNote}`
        : r.failedJobs.map((j) => neutraliseLine(j.name)).join(', ') || 'none found',
    ]);
  }
  if (o.reports.length) {
    rows.push([
      'Reports',
      o.reports.map((rep) => (rep.problem ? `${rep.path} (${rep.problem})` : `${rep.path} (${rep.tool})`)).join(', '),
    ]);
  }
  for (const note of r.notifications) {
    rows.push([
      note.channel === 'slack' ? 'Slack' : 'PagerDuty',
      note.ok ? `✅ ${note.event} sent` : `❌ ${note.event}: ${note.error}`,
    ]);
  }
  const parts = [
    headline(ok, sentence[r.action]),
    table(['', ''], rows),
    links([
      { label: r.issue ? `Incident issue #${r.issue.number}` : 'Incident issue', url: r.issue?.url },
      { label: r.previous ? `Previous incident #${r.previous.number}` : '', url: r.previous?.url },
      { label: 'Workflow run', url: o.run.runUrl },
    ]),
  ];
  return fitSummary(parts.filter(Boolean).join('\n\n') + '\n');
}

function formatReviewSummary(o: IncidentOptions, r: IncidentResult): string {
  const overdue = r.overdue ?? [];
  const sentence = overdue.length
    ? `${overdue.length} open incident${overdue.length > 1 ? 's' : ''} past the response target`
    : `No open ${o.reviewSeverities.join('/')} incident is past its response target`;
  const rows: [string, string][] = overdue.map((d) => [
    `[#${d.number}](${d.url}) ${d.severity}`,
    `last update ${d.lastUpdate.toISOString().replace(/\.\d{3}Z$/, 'Z')}, target ${formatDuration(d.targetMs)}: ${d.commented ? 'reminder posted' : 'reminded already'}`,
  ]);
  for (const note of r.notifications)
    rows.push(['Slack', note.ok ? `✅ ${note.event} sent` : `❌ ${note.event}: ${note.error}`]);
  const parts = [headline(overdue.length === 0 && r.notifications.every((n) => n.ok), sentence)];
  if (rows.length) parts.push(table(['Incident', 'Review'], rows));
  return fitSummary(parts.join('\n\n') + '\n');
}

function formatCheckSummary(o: IncidentOptions, r: IncidentResult): string {
  const findings = r.findings ?? [];
  const since = o.since?.toISOString().replace(/\.\d{3}Z$/, 'Z') ?? '';
  const sentence = findings.length
    ? `'${neutraliseLine(o.key)}' was not quiet since ${since}`
    : `No incident for '${neutraliseLine(o.key)}' since ${since}`;
  const parts = [headline(findings.length === 0, sentence)];
  if (findings.length) parts.push(findings.map((f) => `- ${neutraliseLine(f)}`).join('\n'));
  return fitSummary(parts.join('\n\n') + '\n');
}
