/** The checklist's incident issue: the post-incident-issue library, filled from the failed run. */
import { createGitHubClient } from '../github/client.js';
import type { RunContext } from '../github/context.js';
import { parseResponseTargets } from '../incident/config.js';
import { recordIncident } from '../incident/incident.js';
import type { Severity } from '../incident/types.js';
import type { Logger } from '../logger.js';
import type { ChecklistItem, ItemId } from './types.js';

export interface ChecklistIncidentOptions {
  token: string;
  run: RunContext;
  environment: string;
  severity: Severity;
  logger: Logger;
  slackWebhookUrl?: string;
  secrets: string[];
}

export function checklistIncident(o: ChecklistIncidentOptions) {
  return async (failure: {
    step: ItemId;
    message: string;
    items: ChecklistItem[];
  }): Promise<{ url: string } | undefined> => {
    const github = createGitHubClient({ token: o.token, baseUrl: o.run.apiUrl, logger: o.logger });
    const workflow = o.run.workflow ?? 'deploy';
    const timeline = failure.items
      .filter((i) => i.state !== 'skipped' && i.id !== 'incident')
      .map(
        (i) =>
          `${i.title}: ${i.state}${i.seconds === undefined ? '' : ` (${i.seconds}s)`}${i.detail ? ` — ${i.detail}` : ''}`,
      );
    const result = await recordIncident(
      {
        repository: o.run.repository!,
        key: `${workflow} / ${o.environment}`,
        status: 'open',
        severity: o.severity,
        title: `[${o.severity}] ${workflow} failed on ${o.environment}: ${failure.step}`,
        environment: o.environment,
        text: { summary: failure.message, impact: '', rootCause: '', resolution: '', timeline, actionItems: [] },
        labels: ['incident'],
        assignees: [],
        includeRunContext: Boolean(o.run.runId),
        reports: [],
        reopenWindowMs: 24 * 3_600_000,
        run: o.run,
        slack: o.slackWebhookUrl ? { webhookUrl: o.slackWebhookUrl } : undefined,
        secrets: o.secrets,
        responseTargets: parseResponseTargets('response-targets', ''),
        reviewSeverities: ['P0', 'P1'],
      },
      { github, logger: o.logger },
    );
    return result.issue ? { url: result.issue.url } : undefined;
  };
}
