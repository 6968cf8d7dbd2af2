/**
 * Slack and PagerDuty follow what happened to the issue: an incident that opens (created or
 * reopened) or escalates triggers, one that resolves resolves. Another failure of an incident that
 * is already open, at the same severity, notifies nobody: the issue comment is enough.
 * PagerDuty's dedup_key is the incident key, so PagerDuty groups the same failures we do.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { sendPagerDutyEvent, PD_SUMMARY_MAX, type PagerDutyEvent } from '../notify/pagerduty.js';
import { escapeSlack, postSlackMessage, slackLink, type SlackMessage } from '../notify/slack.js';
import { scrub } from '../redact.js';
import { formatDuration } from '../util/time.js';
import { capLine } from './text.js';
import { PAGERDUTY_SEVERITY, type IncidentOptions, type IncidentResult, type NotificationResult } from './types.js';

export type NotifyEvent = 'opened' | 'reopened' | 'escalated' | 'resolved';

export function notifyEvent(result: IncidentResult): NotifyEvent | undefined {
  switch (result.action) {
    case 'created':
      return 'opened';
    case 'reopened':
      return 'reopened';
    case 'commented':
      return result.escalatedFrom ? 'escalated' : undefined;
    case 'closed':
      return 'resolved';
    default:
      return undefined;
  }
}

export async function sendNotifications(
  o: IncidentOptions,
  result: IncidentResult,
  now: Date,
  logger: Logger,
): Promise<NotificationResult[]> {
  const event = notifyEvent(result);
  if (!event || !result.issue) return [];
  const out: NotificationResult[] = [];
  if (o.slack) {
    try {
      await postSlackMessage(slackMessage(o, result, event), { webhookUrl: o.slack.webhookUrl, logger });
      out.push({ channel: 'slack', event, ok: true });
      logger.info(`Slack: ${event} message posted`);
    } catch (err) {
      out.push({ channel: 'slack', event, ok: false, error: scrub(errorMessage(err), o.secrets) });
    }
  }
  if (o.pagerduty) {
    const pd = pagerDutyEvent(o, result, event, now);
    try {
      await sendPagerDutyEvent(pd, { routingKey: o.pagerduty.routingKey, url: o.pagerduty.url, logger });
      out.push({ channel: 'pagerduty', event: pd.event_action, ok: true });
      logger.info(`PagerDuty: ${pd.event_action} event accepted (dedup_key ${o.key})`);
    } catch (err) {
      out.push({ channel: 'pagerduty', event: pd.event_action, ok: false, error: scrub(errorMessage(err), o.secrets) });
    }
  }
  return out;
}

const ICON: Record<NotifyEvent, string> = { opened: '🚨', reopened: '🔁', escalated: '⬆️', resolved: '✅' };

function headline(o: IncidentOptions, result: IncidentResult, event: NotifyEvent): string {
  switch (event) {
    case 'opened':
      return `Incident opened (${result.severity})`;
    case 'reopened':
      return `Incident reopened (${result.severity})`;
    case 'escalated':
      return `Incident escalated from ${result.escalatedFrom} to ${o.severity}`;
    case 'resolved':
      return `Incident resolved after ${formatDuration(result.durationMs ?? 0)}`;
  }
}

export function slackMessage(o: IncidentOptions, result: IncidentResult, event: NotifyEvent): SlackMessage {
  const issue = result.issue!;
  const clean = (s: string) => scrub(s, o.secrets);
  const title = clean(capLine(issue.title.replace(/\s+/g, ' '), 200));
  const head = `${ICON[event]} ${headline(o, result, event)}`;
  const fields = [
    { type: 'mrkdwn' as const, text: `*Severity*\n${result.severity}` },
    { type: 'mrkdwn' as const, text: `*Issue*\n${slackLink(issue.url, `#${issue.number}`)}` },
  ];
  if (o.run.runUrl)
    fields.push({ type: 'mrkdwn', text: `*Run*\n${slackLink(o.run.runUrl, `#${o.run.runNumber ?? o.run.runId}`)}` });
  if (o.environment)
    fields.push({ type: 'mrkdwn', text: `*Environment*\n${escapeSlack(clean(capLine(o.environment, 100)))}` });
  const failed = result.failedJobs.map((j) => j.name).slice(0, 10);
  const blocks: SlackMessage['blocks'] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(head)}*\n${slackLink(issue.url, title)}` } },
    { type: 'section', fields },
  ];
  if (failed.length && event !== 'resolved') {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: capLine(`Failed jobs: ${escapeSlack(clean(failed.join(', ')))}`, 2900) }],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: capLine(`${o.repository.owner}/${o.repository.repo} · key ${escapeSlack(clean(o.key))}`, 2900),
      },
    ],
  });
  return { text: `${head}: ${title} ${issue.url}`, blocks };
}

export function pagerDutyEvent(
  o: IncidentOptions,
  result: IncidentResult,
  event: NotifyEvent,
  now: Date,
): PagerDutyEvent {
  if (event === 'resolved') return { event_action: 'resolve', dedup_key: o.key };
  const issue = result.issue!;
  const links = [{ href: issue.url, text: `GitHub issue #${issue.number}` }];
  if (o.run.runUrl) links.push({ href: o.run.runUrl, text: 'Workflow run' });
  const repo = `${o.repository.owner}/${o.repository.repo}`;
  return {
    event_action: 'trigger',
    dedup_key: o.key,
    payload: {
      summary: capLine(scrub(issue.title, o.secrets), PD_SUMMARY_MAX),
      source: o.environment ?? repo,
      severity: PAGERDUTY_SEVERITY[result.severity],
      timestamp: now.toISOString(),
      component: o.run.workflow,
      group: repo,
      class: 'workflow failure',
      custom_details: {
        incident: `${event}: ${headline(o, result, event)}`,
        issue: issue.url,
        run: o.run.runUrl,
        failed_jobs: result.failedJobs.map((j) => j.name),
        severity: result.severity,
        key: o.key,
      },
    },
    client: 'opskit post-incident-issue',
    client_url: issue.url,
    links,
  };
}
