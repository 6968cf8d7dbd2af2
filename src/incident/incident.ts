/**
 * One living incident record per failure: find the issue by its hidden key among the issues with
 * the incident label, then comment, reopen, create (linking the last one) or resolve it, and tell
 * Slack and PagerDuty when it opens, escalates or resolves.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { GitHub } from '../github/client.js';
import {
  addComment,
  addLabels,
  createIssue,
  ensureLabels,
  listComments,
  listIssuesWithLabel,
  removeLabel,
  updateIssue,
  type Issue,
  type LabelSpec,
} from '../github/issues.js';
import { firstFailureTime, listFailedJobs } from '../github/jobs.js';
import type { Logger } from '../logger.js';
import { readEventMarker, readIssueMarker } from './marker.js';
import { neutraliseLine } from './text.js';
import { sendNotifications } from './notify.js';
import { checkQuiet } from './check.js';
import { reviewIncidents } from './review.js';
import { notifySuccess } from './success.js';
import {
  formatDuplicateComment,
  formatFailureComment,
  formatIssueBody,
  formatResolvedComment,
  type IncidentText,
} from './format.js';
import {
  SEVERITIES,
  SEVERITY_COLORS,
  moreSevere,
  newResult,
  severityLabel,
  type IncidentOptions,
  type IncidentResult,
  type Severity,
} from './types.js';

export interface IncidentDeps {
  github: GitHub;
  logger: Logger;
  now?: () => Date;
  newId?: () => string;
}

export async function recordIncident(o: IncidentOptions, deps: IncidentDeps): Promise<IncidentResult> {
  if (o.status === 'review') return reviewIncidents(o, deps);
  if (o.status === 'check') return checkQuiet(o, o.since!, deps);
  const { github: gh, logger } = deps;
  const now = deps.now?.() ?? new Date();
  const newId = deps.newId ?? randomUUID;
  const repo = o.repository;
  const result = newResult(o);

  if (o.status === 'open' && o.includeRunContext && o.run.runId && o.run.repository) {
    try {
      result.failedJobs = await listFailedJobs(gh, o.run.repository, o.run.runId);
      logger.info(`run ${o.run.runId}: ${result.failedJobs.length} failed job(s)`);
    } catch (err) {
      result.runContextNote = `The failed jobs of this run could not be read: ${errorMessage(err)}`;
      logger.warning(result.runContextNote);
    }
  }

  const lookupLabel = o.labels[0]!;
  const findMine = async (state: 'open' | 'all') =>
    (await listIssuesWithLabel(gh, repo, lookupLabel, state)).filter((i) => readIssueMarker(i.body)?.key === o.key);
  const mine = await findMine('all');
  const open = mine.filter((i) => i.state === 'open').sort((a, b) => a.number - b.number);
  const closed = mine
    .filter((i) => i.state === 'closed')
    .sort((a, b) => Date.parse(b.closedAt ?? b.createdAt) - Date.parse(a.closedAt ?? a.createdAt));
  logger.info(
    `incident '${o.key}': ${open.length} open and ${closed.length} closed issue(s) in ${repo.owner}/${repo.repo}`,
  );

  const render = (since: Date, previous?: Issue): IncidentText => ({
    options: o,
    now,
    since,
    failedJobs: result.failedJobs,
    runContextNote: result.runContextNote,
    previous: previous ? { number: previous.number, url: previous.url } : undefined,
  });
  const comment = async (issue: number, body: string, id: string) =>
    addComment(gh, repo, issue, body, async () => findComment(gh, o, issue, id), logger);

  if (o.status === 'resolved') {
    const issue = open[0];
    if (!issue) {
      logger.info(`no open incident for '${o.key}': nothing to resolve`);
      const success = await notifySuccess(o, result, { github: gh, logger, now });
      if (success) result.notifications.push(success);
      return result;
    }
    result.severity = severityOf(issue.labels) ?? o.severity;
    const since = await episodeStart(gh, o, issue);
    const durationMs = Math.max(0, now.getTime() - since.getTime());
    const id = newId();
    await comment(issue.number, formatResolvedComment({ ...render(since), id, durationMs }), id);
    await updateIssue(gh, repo, issue.number, { state: 'closed', state_reason: 'completed' });
    for (const dup of open.slice(1)) await closeDuplicate(gh, o, dup.number, issue.number, now, newId(), logger);
    result.duplicatesClosed = open.slice(1).map((i) => i.number);
    Object.assign(result, { action: 'closed', issue: issueRef(issue), durationMs });
    logger.info(`resolved incident #${issue.number} after ${Math.round(durationMs / 1000)}s`);
  } else if (open[0]) {
    const issue = open[0];
    result.escalatedFrom = await raiseSeverity(gh, o, issue, result, logger);
    const id = newId();
    await comment(
      issue.number,
      formatFailureComment({ ...render(now), event: 'failed', id, escalatedFrom: result.escalatedFrom }),
      id,
    );
    Object.assign(result, {
      action: 'commented',
      issue: issueRef(issue, retitle(issue.title, result.escalatedFrom, o.severity)),
    });
    logger.info(`commented on open incident #${issue.number}`);
  } else if (
    closed[0] &&
    o.reopenWindowMs !== undefined &&
    now.getTime() - Date.parse(closed[0].closedAt ?? '') <= o.reopenWindowMs
  ) {
    const issue = closed[0];
    result.escalatedFrom = await raiseSeverity(gh, o, issue, result, logger);
    const title = retitle(issue.title, result.escalatedFrom, o.severity);
    await updateIssue(gh, repo, issue.number, {
      state: 'open',
      state_reason: 'reopened',
      ...(title !== issue.title ? { title } : {}),
    });
    const id = newId();
    const closedAt = issue.closedAt ? new Date(issue.closedAt) : undefined;
    await comment(
      issue.number,
      formatFailureComment({ ...render(now), event: 'reopened', id, escalatedFrom: result.escalatedFrom, closedAt }),
      id,
    );
    Object.assign(result, { action: 'reopened', issue: issueRef(issue, title) });
    logger.info(`reopened incident #${issue.number} (closed ${issue.closedAt})`);
  } else {
    const previous = closed[0];
    result.labelsCreated = await ensureLabels(gh, repo, labelSpecs(o.labels), logger);
    const since = firstFailureTime(result.failedJobs) ?? now;
    const body = formatIssueBody(render(since, previous));
    const sinceIso = since.toISOString();
    const created = await createIssue(
      gh,
      repo,
      { title: neutraliseLine(o.title), body, labels: o.labels, assignees: o.assignees },
      async () => (await findMine('open')).find((i) => readIssueMarker(i.body)?.since?.toISOString() === sinceIso),
      logger,
    );
    if (previous) result.previous = { number: previous.number, url: previous.url };
    Object.assign(result, { action: 'created', issue: issueRef(created) });
    logger.info(`created incident #${created.number}: ${created.url}`);

    // Two runs that failed together may both have created one: the oldest wins, the others close.
    const older = (await findMine('open'))
      .filter((i) => i.number < created.number)
      .sort((a, b) => a.number - b.number)[0];
    if (older) {
      await closeDuplicate(gh, o, created.number, older.number, now, newId(), logger);
      result.duplicatesClosed = [created.number];
      const id = newId();
      await comment(older.number, formatFailureComment({ ...render(now), event: 'failed', id }), id);
      Object.assign(result, { action: 'commented', issue: issueRef(older), previous: undefined });
    }
  }

  result.notifications = await sendNotifications(o, result, now, logger);
  const success = await notifySuccess(o, result, { github: gh, logger, now });
  if (success) result.notifications.push(success);
  return result;
}

function issueRef(issue: Issue, title = issue.title): { number: number; url: string; title: string } {
  return { number: issue.number, url: issue.url, title };
}

/** The label specs to create when missing: the severity label in its colour, the others in red. */
function labelSpecs(labels: readonly string[]): LabelSpec[] {
  return labels.map((name) => {
    const sev = SEVERITIES.find((s) => severityLabel(s).toLowerCase() === name.toLowerCase());
    return sev
      ? { name, color: SEVERITY_COLORS[sev], description: `Incident severity ${sev}` }
      : { name, color: 'd73a4a', description: 'Incident record kept by opskit post-incident-issue' };
  });
}

/** The most severe `severity:Px` label on an issue. */
export function severityOf(labels: readonly string[]): Severity | undefined {
  return SEVERITIES.find((s) => labels.some((l) => l.toLowerCase() === severityLabel(s).toLowerCase()));
}

/**
 * Puts the new severity label on the issue when it is more severe than the one there (or there is
 * none), removing the lower ones. Returns the old severity when this was an escalation.
 */
async function raiseSeverity(
  gh: GitHub,
  o: IncidentOptions,
  issue: Issue,
  result: IncidentResult,
  logger: Logger,
): Promise<Severity | undefined> {
  const current = severityOf(issue.labels);
  if (current && !moreSevere(o.severity, current)) {
    result.severity = current;
    return undefined;
  }
  const label = severityLabel(o.severity);
  result.labelsCreated.push(...(await ensureLabels(gh, o.repository, labelSpecs([label]), logger)));
  await addLabels(gh, o.repository, issue.number, [label]);
  for (const old of issue.labels.filter((l) => /^severity:P\d$/i.test(l) && l.toLowerCase() !== label.toLowerCase())) {
    await removeLabel(gh, o.repository, issue.number, old);
  }
  if (current) {
    const title = retitle(issue.title, current, o.severity);
    if (title !== issue.title && issue.state === 'open') await updateIssue(gh, o.repository, issue.number, { title });
    logger.info(`incident #${issue.number}: severity raised from ${current} to ${o.severity}`);
  }
  return current;
}

/** `[P2] deploy failed` → `[P0] deploy failed` when the title carries the old level. */
function retitle(title: string, from: Severity | undefined, to: Severity): string {
  if (!from) return title;
  const prefix = `[${from}]`;
  return title.startsWith(prefix) ? `[${to}]${title.slice(prefix.length)}` : title;
}

/** When this episode began: the issue's first failure, or its latest reopening. */
async function episodeStart(gh: GitHub, o: IncidentOptions, issue: Issue): Promise<Date> {
  const first = readIssueMarker(issue.body)?.since ?? new Date(issue.createdAt);
  const reopenings = (await listComments(gh, o.repository, issue.number))
    .map((c) => readEventMarker(c.body))
    .filter((m) => m?.key === o.key && m.event === 'reopened')
    .map((m) => m!.at.getTime());
  return new Date(Math.max(first.getTime(), ...reopenings));
}

async function findComment(gh: GitHub, o: IncidentOptions, issue: number, id: string) {
  return (await listComments(gh, o.repository, issue)).find((c) => readEventMarker(c.body)?.id === id);
}

async function closeDuplicate(
  gh: GitHub,
  o: IncidentOptions,
  duplicate: number,
  canonical: number,
  now: Date,
  id: string,
  logger: Logger,
): Promise<void> {
  await addComment(
    gh,
    o.repository,
    duplicate,
    formatDuplicateComment(o, canonical, now, id),
    () => findComment(gh, o, duplicate, id),
    logger,
  );
  await updateIssue(gh, o.repository, duplicate, { state: 'closed', state_reason: 'duplicate' });
  logger.warning(`closed #${duplicate} as a duplicate of #${canonical} (two runs opened the same incident)`);
}
