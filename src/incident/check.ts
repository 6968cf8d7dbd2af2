/**
 * `status: check`: did anything go wrong for this incident key in a window? It fails when an incident with the key
 * is open now, or was open at any time since `since`. A promotion asks it of staging before it
 * deploys to production (guide 001 "Environment Promotion": staging must have stayed healthy).
 */
import type { GitHub } from '../github/client.js';
import { listIssuesWithLabel } from '../github/issues.js';
import type { Logger } from '../logger.js';
import { readIssueMarker } from './marker.js';
import { newResult, type IncidentOptions, type IncidentResult } from './types.js';

export async function checkQuiet(
  o: IncidentOptions,
  since: Date,
  deps: { github: GitHub; logger: Logger },
): Promise<IncidentResult> {
  const findings: string[] = [];
  const mine = (await listIssuesWithLabel(deps.github, o.repository, o.labels[0]!, 'all')).filter(
    (i) => readIssueMarker(i.body)?.key === o.key,
  );
  let first: { number: number; url: string; title: string } | undefined;
  for (const issue of mine) {
    const before = findings.length;
    if (issue.state === 'open') findings.push(`incident #${issue.number} is open (${issue.url})`);
    else if (new Date(issue.createdAt) >= since)
      findings.push(`incident #${issue.number} was opened ${issue.createdAt}`);
    else if (issue.closedAt && new Date(issue.closedAt) >= since)
      findings.push(`incident #${issue.number} was open until ${issue.closedAt}`);
    if (findings.length > before && !first) first = { number: issue.number, url: issue.url, title: issue.title };
  }
  deps.logger.info(
    `incident '${o.key}' since ${since.toISOString()}: ${findings.length ? findings.join('; ') : 'nothing went wrong'}`,
  );
  return { ...newResult(o), issue: first, findings };
}
