/**
 * notify-on-success: a run that deployed (or rolled back) tells the team in Slack, in the shape of the guides'
 * communication template (001 "Communication Template", 000 "Post-Deployment: notify the team", 004 step 16):
 * a headline, then Version, Environment, Duration, Status, and the links (run, commit, environment, the incident it
 * resolved). The duration runs from the first job of this workflow run to now (Actions API; `actions: read`).
 */
import { errorMessage } from '../errors.js';
import type { GitHub } from '../github/client.js';
import { runStartedAt } from '../github/jobs.js';
import type { Logger } from '../logger.js';
import { escapeSlack, postSlackMessage, slackLink, type SlackMessage } from '../notify/slack.js';
import { scrub } from '../redact.js';
import { formatDuration } from '../util/time.js';
import { capLine } from './text.js';
import type { IncidentOptions, IncidentResult, NotificationResult } from './types.js';

export async function notifySuccess(
  o: IncidentOptions,
  result: IncidentResult,
  deps: { github: GitHub; logger: Logger; now: Date },
): Promise<NotificationResult | undefined> {
  if (!o.success || !o.slack) return undefined;
  if (o.run.runId && o.run.repository) {
    try {
      const started = await runStartedAt(deps.github, o.run.repository, o.run.runId);
      if (started) result.runDurationMs = Math.max(0, deps.now.getTime() - started.getTime());
    } catch (err) {
      deps.logger.warning(`the run's duration is left out of the message: ${errorMessage(err)}`);
    }
  }
  const event = o.success.kind;
  try {
    await postSlackMessage(successMessage(o, result), { webhookUrl: o.slack.webhookUrl, logger: deps.logger });
    deps.logger.info(`Slack: ${event} message posted`);
    return { channel: 'slack', event, ok: true };
  } catch (err) {
    return { channel: 'slack', event, ok: false, error: scrub(errorMessage(err), o.secrets) };
  }
}

export function successMessage(o: IncidentOptions, result: IncidentResult): SlackMessage {
  const s = o.success!;
  const clean = (text: string, max = 200) => escapeSlack(capLine(scrub(text, o.secrets).replace(/\s+/g, ' '), max));
  const where = o.environment ? clean(o.environment, 100) : `${o.repository.owner}/${o.repository.repo}`;
  const head = s.kind === 'deployed' ? `✅ DEPLOYMENT COMPLETE - ${where}` : `↩️ ROLLBACK COMPLETE - ${where}`;
  const lines: string[] = [];
  if (s.version) lines.push(`*${s.kind === 'deployed' ? 'Version' : 'Version now live'}:* ${clean(s.version, 100)}`);
  if (o.environment)
    lines.push(`*Environment:* ${s.environmentUrl ? slackLink(s.environmentUrl, o.environment) : where}`);
  if (result.runDurationMs !== undefined) lines.push(`*Duration:* ${formatDuration(result.runDurationMs)}`);
  lines.push(`*Status:* ${s.kind === 'deployed' ? 'Live' : 'Rolled back'}`);
  if (result.action === 'closed' && result.issue)
    lines.push(
      `*Incident:* ${slackLink(result.issue.url, `#${result.issue.number}`)} resolved after ${formatDuration(result.durationMs ?? 0)}`,
    );
  const links: string[] = [];
  if (o.run.runUrl) links.push(slackLink(o.run.runUrl, `Run #${o.run.runNumber ?? o.run.runId}`));
  if (o.run.sha && o.run.repository)
    links.push(
      slackLink(
        `${o.run.serverUrl}/${o.run.repository.owner}/${o.run.repository.repo}/commit/${o.run.sha}`,
        `Commit ${o.run.sha.slice(0, 7)}`,
      ),
    );
  const blocks: SlackMessage['blocks'] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${head}*\n${lines.join('\n')}` } },
  ];
  if (links.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] });
  const plain = [head, s.version ? `version ${scrub(s.version, o.secrets)}` : '', o.run.runUrl ?? '']
    .filter(Boolean)
    .join(' · ');
  return { text: plain, blocks };
}
