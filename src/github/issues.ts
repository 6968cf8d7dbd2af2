/**
 * Issues, comments and labels through the REST API. Reads are paginated lists (never the Search
 * API, whose index lags behind writes by up to a minute). Creating an issue or a comment is not
 * idempotent, so those POSTs are never retried blindly: when the outcome is unknown (no answer, or
 * a 5xx) the caller's check looks for what the POST would have made before trying again.
 */
import type { Logger } from '../logger.js';
import { backoffDelay } from '../util/backoff.js';
import { sleep } from '../util/time.js';
import { gitHubError, githubCall, httpStatusOf, outcomeUnknown, type GitHub } from './client.js';
import type { RepoRef } from './context.js';

export const ISSUES_WRITE = 'issues: write';

export interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  url: string;
  createdAt: string;
  closedAt?: string;
}

export interface Comment {
  id: number;
  body: string;
  url: string;
  createdAt: string;
}

type ApiIssue = {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  labels: (string | { name?: string })[];
  html_url: string;
  created_at: string;
  closed_at: string | null;
  pull_request?: unknown;
};

export function toIssue(i: ApiIssue): Issue {
  return {
    number: i.number,
    title: i.title,
    body: i.body ?? '',
    state: i.state === 'closed' ? 'closed' : 'open',
    labels: i.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
    url: i.html_url,
    createdAt: i.created_at,
    closedAt: i.closed_at ?? undefined,
  };
}

const where = (repo: RepoRef) => `${repo.owner}/${repo.repo}`;

/** Every issue (open and closed, pull requests left out) carrying `label`. */
export async function listIssuesWithLabel(
  gh: GitHub,
  repo: RepoRef,
  label: string,
  state: 'open' | 'closed' | 'all' = 'all',
): Promise<Issue[]> {
  const items = await githubCall(
    { doing: `list the '${label}' issues of ${where(repo)}`, permission: ISSUES_WRITE },
    () =>
      gh.paginate(gh.rest.issues.listForRepo, {
        owner: repo.owner,
        repo: repo.repo,
        labels: label,
        state,
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      }),
  );
  return items.filter((i) => !i.pull_request).map((i) => toIssue(i as ApiIssue));
}

export async function listComments(gh: GitHub, repo: RepoRef, issue: number): Promise<Comment[]> {
  const items = await githubCall(
    { doing: `read the comments of issue #${issue} in ${where(repo)}`, permission: ISSUES_WRITE },
    () =>
      gh.paginate(gh.rest.issues.listComments, {
        owner: repo.owner,
        repo: repo.repo,
        issue_number: issue,
        per_page: 100,
      }),
  );
  return items.map((c) => ({ id: c.id, body: c.body ?? '', url: c.html_url, createdAt: c.created_at }));
}

export interface LabelSpec {
  name: string;
  color: string;
  description?: string;
}

/** Makes sure each label exists, creating the missing ones; returns the names it created. */
export async function ensureLabels(
  gh: GitHub,
  repo: RepoRef,
  labels: readonly LabelSpec[],
  logger: Logger,
): Promise<string[]> {
  const created: string[] = [];
  for (const label of labels) {
    try {
      await gh.rest.issues.getLabel({ owner: repo.owner, repo: repo.repo, name: label.name });
      continue;
    } catch (err) {
      if (httpStatusOf(err) !== 404)
        throw gitHubError(err, { doing: `read label '${label.name}' in ${where(repo)}`, permission: ISSUES_WRITE });
    }
    try {
      await gh.rest.issues.createLabel({ owner: repo.owner, repo: repo.repo, ...label });
      created.push(label.name);
      logger.info(`created label '${label.name}' in ${where(repo)}`);
    } catch (err) {
      // Another run created it between our read and our write: that is what we wanted.
      if (
        httpStatusOf(err) === 422 &&
        /already_exists/.test(JSON.stringify((err as { response?: unknown }).response ?? ''))
      )
        continue;
      throw gitHubError(err, { doing: `create label '${label.name}' in ${where(repo)}`, permission: ISSUES_WRITE });
    }
  }
  return created;
}

export interface NewIssue {
  title: string;
  body: string;
  labels: string[];
  assignees: string[];
}

/**
 * Creates an issue once. `existing` finds the issue this creation would have made (by a marker in
 * its body); it is asked after an attempt whose outcome is unknown. Assignees GitHub refuses (not a
 * collaborator) are dropped with a warning rather than losing the issue.
 */
export async function createIssue(
  gh: GitHub,
  repo: RepoRef,
  issue: NewIssue,
  existing: () => Promise<Issue | undefined>,
  logger: Logger,
): Promise<Issue> {
  let assignees = issue.assignees;
  const doing = `create an issue in ${where(repo)}`;
  const create = async () => {
    const res = await gh.rest.issues.create({
      owner: repo.owner,
      repo: repo.repo,
      ...issue,
      assignees,
      request: { retries: 0 },
    });
    return toIssue(res.data as ApiIssue);
  };
  return postOnce(
    doing,
    async () => {
      try {
        return await create();
      } catch (err) {
        const refused = refusedAssignees(err, assignees);
        if (!refused) throw err;
        logger.warning(
          `GitHub refused assignee(s) ${refused.join(', ')} (not collaborators?): creating the issue without them`,
        );
        assignees = assignees.filter((a) => !refused.includes(a));
        return await create();
      }
    },
    existing,
    { doing, permission: ISSUES_WRITE },
    logger,
  );
}

/** The assignees a 422 names (`{field: 'assignees', value: 'bob'}`), all of them when it names none; undefined for another error. */
function refusedAssignees(err: unknown, assignees: readonly string[]): string[] | undefined {
  if (assignees.length === 0 || httpStatusOf(err) !== 422) return undefined;
  const errors = ((err as { response?: { data?: { errors?: unknown } } }).response?.data?.errors ?? []) as {
    field?: string;
    value?: unknown;
  }[];
  const about = Array.isArray(errors) ? errors.filter((e) => /^assignees?$/.test(e.field ?? '')) : [];
  if (about.length === 0) return undefined;
  const named = about.map((e) => String(e.value)).filter((v) => assignees.includes(v));
  return named.length ? named : [...assignees];
}

/** Adds a comment once; `existing` finds it by a marker when an attempt's outcome is unknown. */
export async function addComment(
  gh: GitHub,
  repo: RepoRef,
  issue: number,
  body: string,
  existing: () => Promise<Comment | undefined>,
  logger: Logger,
): Promise<Comment> {
  const doing = `comment on issue #${issue} in ${where(repo)}`;
  return postOnce(
    doing,
    async () => {
      const res = await gh.rest.issues.createComment({
        owner: repo.owner,
        repo: repo.repo,
        issue_number: issue,
        body,
        request: { retries: 0 },
      });
      return { id: res.data.id, body: res.data.body ?? '', url: res.data.html_url, createdAt: res.data.created_at };
    },
    existing,
    { doing, permission: ISSUES_WRITE },
    logger,
  );
}

export interface IssuePatch {
  title?: string;
  body?: string;
  state?: 'open' | 'closed';
  state_reason?: 'completed' | 'not_planned' | 'duplicate' | 'reopened';
}

/** PATCH is idempotent: the client's retries apply. */
export async function updateIssue(gh: GitHub, repo: RepoRef, issue: number, patch: IssuePatch): Promise<Issue> {
  const res = await githubCall({ doing: `update issue #${issue} in ${where(repo)}`, permission: ISSUES_WRITE }, () =>
    gh.rest.issues.update({ owner: repo.owner, repo: repo.repo, issue_number: issue, ...patch }),
  );
  return toIssue(res.data as ApiIssue);
}

/** Adding labels an issue already has changes nothing, so this is safe to retry. */
export async function addLabels(gh: GitHub, repo: RepoRef, issue: number, labels: string[]): Promise<void> {
  await githubCall({ doing: `label issue #${issue} in ${where(repo)}`, permission: ISSUES_WRITE }, () =>
    gh.rest.issues.addLabels({ owner: repo.owner, repo: repo.repo, issue_number: issue, labels }),
  );
}

export async function removeLabel(gh: GitHub, repo: RepoRef, issue: number, label: string): Promise<void> {
  try {
    await gh.rest.issues.removeLabel({ owner: repo.owner, repo: repo.repo, issue_number: issue, name: label });
  } catch (err) {
    if (httpStatusOf(err) === 404) return; // already gone
    throw gitHubError(err, {
      doing: `remove label '${label}' from issue #${issue} in ${where(repo)}`,
      permission: ISSUES_WRITE,
    });
  }
}

/**
 * One non-idempotent write: try; when the answer is lost or a 5xx, ask `existing` whether it took
 * effect before trying again (up to `attempts` times, with backoff).
 */
export async function postOnce<T>(
  what: string,
  post: () => Promise<T>,
  existing: () => Promise<T | undefined>,
  context: { doing: string; permission?: string },
  logger: Logger,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await post();
    } catch (err) {
      if (!outcomeUnknown(err) || attempt >= attempts) throw gitHubError(err, context);
      logger.warning(
        `${what}: no clear answer (${httpStatusOf(err) ?? 'no response'}); checking whether it took effect`,
      );
      await sleep(backoffDelay(attempt, { initialMs: 1000, maxMs: 10_000 }));
      const found = await existing();
      if (found !== undefined) return found;
    }
  }
}
