import * as core from '@actions/core';
import { ExternalError } from '../../src/errors.js';
import { createGitHubClient } from '../../src/github/client.js';
import { parseIncidentOptions } from '../../src/incident/config.js';
import { recordIncident } from '../../src/incident/incident.js';
import { formatIncidentSummary } from '../../src/incident/summary.js';
import { runAction } from '../common/run.js';

await runAction('post-incident-issue', async (ctx) => {
  const { token, options } = await parseIncidentOptions(ctx.inputs, process.env, ctx.workspace);
  for (const r of options.reports.filter((r) => r.problem)) ctx.logger.warning(`report ${r.path}: ${r.problem}`);

  const github = createGitHubClient({
    token,
    baseUrl: options.run.apiUrl,
    logger: ctx.logger,
    userAgent: 'opskit post-incident-issue',
  });
  const result = await recordIncident(options, { github, logger: ctx.logger });

  ctx.output('issue-number', result.issue ? String(result.issue.number) : '');
  ctx.output('issue-url', result.issue?.url ?? '');
  ctx.output('action', result.action);
  ctx.output(
    'overdue',
    result.overdue
      ? JSON.stringify(result.overdue.map((d) => ({ number: d.number, severity: d.severity, commented: d.commented })))
      : '',
  );
  await core.summary.addRaw(formatIncidentSummary(options, result)).write();

  if (result.findings?.length)
    throw new ExternalError(`incident '${options.key}' was not quiet: ${result.findings.join('; ')}`);
  const failed = result.notifications.filter((n) => !n.ok);
  if (failed.length > 0) {
    const done = result.issue ? `incident #${result.issue.number} ${result.action}, but ` : '';
    throw new ExternalError(`${done}${failed.map((n) => n.error).join('; ')}`);
  }
});
