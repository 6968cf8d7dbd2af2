/**
 * `status: review`, run on a schedule (watch.yml): every open incident of a reviewed severity (P0 and P1 by default)
 * whose last update is older than its response target gets one reminder comment, and Slack is told. The clock is the
 * newest comment that is not a reminder (or the issue's creation): a person's update, a new failure, a reopening.
 * After a reminder, the next one comes only when another whole target has passed without an update.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { GitHub } from '../github/client.js';
import { addComment, listComments, listIssuesWithLabel, type Comment } from '../github/issues.js';
import type { Logger } from '../logger.js';
import { postSlackMessage, escapeSlack, slackLink } from '../notify/slack.js';
import { scrub } from '../redact.js';
import { formatDuration } from '../util/time.js';
import { eventMarker, readEventMarker, readIssueMarker } from './marker.js';
import { capLine, formatUtc, neutraliseLine } from './text.js';
import {
  SEVERITIES,
  newResult,
  severityLabel,
  type IncidentOptions,
  type IncidentResult,
  type OverdueIncident,
} from './types.js';

export interface ReviewDeps {
  github: GitHub;
  logger: Logger;
  now?: () => Date;
  newId?: () => string;
}

export async function reviewIncidents(o: IncidentOptions, deps: ReviewDeps): Promise<IncidentResult> {
  const { github: gh, logger } = deps;
  const now = deps.now?.() ?? new Date();
  const newId = deps.newId ?? randomUUID;
  const result: IncidentResult = { ...newResult(o), overdue: [] };
  const open = await listIssuesWithLabel(gh, o.repository, o.labels[0]!, 'open');
  for (const issue of open) {
    const marker = readIssueMarker(issue.body);
    if (!marker) continue; // not an opskit incident
    const severity = SEVERITIES.find((s) =>
      issue.labels.some((l) => l.toLowerCase() === severityLabel(s).toLowerCase()),
    );
    if (!severity || !o.reviewSeverities.includes(severity)) continue;
    const targetMs = o.responseTargets[severity];
    const comments = await listComments(gh, o.repository, issue.number);
    const { lastUpdate, lastReminder } = clock(issue.createdAt, comments);
    if (now.getTime() - lastUpdate.getTime() <= targetMs) continue;
    const remindedThisStretch = lastReminder !== undefined && now.getTime() - lastReminder.getTime() <= targetMs;
    const overdue: OverdueIncident = {
      number: issue.number,
      url: issue.url,
      title: issue.title,
      severity,
      lastUpdate,
      targetMs,
      commented: !remindedThisStretch,
    };
    result.overdue!.push(overdue);
    if (remindedThisStretch) {
      logger.info(
        `incident #${issue.number} (${severity}) is past its target; reminded already at ${lastReminder!.toISOString()}`,
      );
      continue;
    }
    const id = newId();
    const body = overdueComment(o, overdue, now, marker.key, id);
    await addComment(gh, o.repository, issue.number, body, async () => findById(gh, o, issue.number, id), logger);
    logger.warning(
      `incident #${issue.number} (${severity}) has had no update for ${formatDuration(now.getTime() - lastUpdate.getTime())}, past its ${formatDuration(targetMs)} target: reminder posted`,
    );
    result.action = 'commented';
    result.issue ??= { number: issue.number, url: issue.url, title: issue.title };
  }
  const due = result.overdue!.filter((d) => d.commented);
  if (o.slack && due.length > 0) {
    try {
      await postSlackMessage(overdueSlack(o, due, now), { webhookUrl: o.slack.webhookUrl, logger });
      result.notifications.push({ channel: 'slack', event: 'overdue', ok: true });
    } catch (err) {
      result.notifications.push({
        channel: 'slack',
        event: 'overdue',
        ok: false,
        error: scrub(errorMessage(err), o.secrets),
      });
    }
  }
  logger.info(
    `review: ${open.length} open incident(s), ${result.overdue!.length} past target, ${due.length} reminded now`,
  );
  return result;
}

/** The last update (newest non-reminder comment, else the issue) and the last reminder. */
function clock(createdAt: string, comments: Comment[]): { lastUpdate: Date; lastReminder?: Date } {
  let lastUpdate = new Date(createdAt);
  let lastReminder: Date | undefined;
  for (const c of comments) {
    const at = new Date(c.createdAt);
    if (readEventMarker(c.body)?.event === 'overdue') {
      if (!lastReminder || at > lastReminder) lastReminder = at;
    } else if (at > lastUpdate) lastUpdate = at;
  }
  return { lastUpdate, lastReminder };
}

async function findById(gh: GitHub, o: IncidentOptions, issue: number, id: string) {
  return (await listComments(gh, o.repository, issue)).find((c) => readEventMarker(c.body)?.id === id);
}

function overdueComment(o: IncidentOptions, d: OverdueIncident, now: Date, key: string, id: string): string {
  const silent = formatDuration(now.getTime() - d.lastUpdate.getTime());
  return [
    eventMarker({ key, event: 'overdue', at: now, id }),
    `### ⏰ Past its response target: ${d.severity} expects an update every ${formatDuration(d.targetMs)}`,
    `- ${formatUtc(now)} — no update for ${silent} (last one ${formatUtc(d.lastUpdate)}).`,
    'Post an update (status, impact, next steps) as a comment, or resolve the incident.',
    o.run.runUrl ? `<sub>Checked by [this run](${o.run.runUrl}).</sub>` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

function overdueSlack(o: IncidentOptions, due: OverdueIncident[], now: Date) {
  const lines = due.map(
    (d) =>
      `• ${slackLink(d.url, `#${d.number} ${capLine(neutraliseLine(scrub(d.title, o.secrets)), 150)}`)} (${d.severity}): no update for ${formatDuration(now.getTime() - d.lastUpdate.getTime())}, target ${formatDuration(d.targetMs)}`,
  );
  const head = `⏰ ${due.length} incident${due.length > 1 ? 's' : ''} past the response target`;
  return {
    text: `${head}: ${due.map((d) => `#${d.number}`).join(', ')}`,
    blocks: [
      {
        type: 'section' as const,
        text: { type: 'mrkdwn' as const, text: `*${escapeSlack(head)}*\n${lines.join('\n')}` },
      },
    ],
  };
}
