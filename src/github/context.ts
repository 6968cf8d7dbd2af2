/**
 * The workflow run an action is part of, read from the runner's GITHUB_* variables (passed in as
 * an object so that the library, tests and the demo do not depend on process.env).
 */
import { ConfigurationError } from '../errors.js';
import { DEFAULT_API_URL } from './client.js';

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface RunContext {
  apiUrl: string;
  serverUrl: string;
  /** GITHUB_REPOSITORY, when set. */
  repository?: RepoRef;
  runId?: number;
  runAttempt: number;
  runNumber?: number;
  workflow?: string;
  job?: string;
  sha?: string;
  ref?: string;
  actor?: string;
  eventName?: string;
  /** `<server>/<owner>/<repo>/actions/runs/<id>` (with `/attempts/<n>` after the first attempt). */
  runUrl?: string;
}

export type Env = Record<string, string | undefined>;

export function runContextFromEnv(env: Env): RunContext {
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY ? parseRepository('GITHUB_REPOSITORY', env.GITHUB_REPOSITORY) : undefined;
  const runId = positiveInt(env.GITHUB_RUN_ID);
  const runAttempt = positiveInt(env.GITHUB_RUN_ATTEMPT) ?? 1;
  const runUrl =
    repository && runId
      ? `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}${runAttempt > 1 ? `/attempts/${runAttempt}` : ''}`
      : undefined;
  return {
    apiUrl: (env.GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, ''),
    serverUrl,
    repository,
    runId,
    runAttempt,
    runNumber: positiveInt(env.GITHUB_RUN_NUMBER),
    workflow: env.GITHUB_WORKFLOW || undefined,
    job: env.GITHUB_JOB || undefined,
    sha: env.GITHUB_SHA || undefined,
    ref: env.GITHUB_REF_NAME || env.GITHUB_REF || undefined,
    actor: env.GITHUB_ACTOR || undefined,
    eventName: env.GITHUB_EVENT_NAME || undefined,
    runUrl,
  };
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** `owner/name` → RepoRef, or a ConfigurationError naming the input. */
export function parseRepository(input: string, raw: string): RepoRef {
  const text = raw.trim();
  const [owner, repo, ...rest] = text.split('/');
  if (!owner || !repo || rest.length > 0 || !NAME.test(owner) || !NAME.test(repo)) {
    throw new ConfigurationError(`input '${input}': expected owner/name like octo-org/api, got '${text.slice(0, 80)}'`);
  }
  return { owner, repo };
}

function positiveInt(v: string | undefined): number | undefined {
  if (!v || !/^\d+$/.test(v.trim())) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}
