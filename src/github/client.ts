/**
 * The GitHub REST client every opskit action uses: Octokit with the retry and throttling plugins,
 * a per-request timeout, log lines through the Logger, and errors that say what the workflow
 * must change (a missing `permissions:` entry, a wrong token) instead of a bare HTTP status.
 */
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHub = InstanceType<typeof GitHubOctokit>;

export const DEFAULT_API_URL = 'https://api.github.com';

export interface GitHubClientOptions {
  token: string;
  /** REST API base (GITHUB_API_URL); https://api.github.com by default. */
  baseUrl?: string;
  logger: Logger;
  userAgent?: string;
  /** Deadline of one HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Retries of a failed idempotent request (5xx, network); default 3. */
  retries?: number;
  /** Longest rate-limit wait that is worth it (default 2 min); longer waits fail. */
  maxRateLimitWaitSeconds?: number;
}

export function createGitHubClient(options: GitHubClientOptions): GitHub {
  const { logger } = options;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxWait = options.maxRateLimitWaitSeconds ?? 120;
  const onLimit =
    (kind: string) => (retryAfter: number, opts: { method: string; url: string }, _o: unknown, count: number) => {
      if (count < 2 && retryAfter <= maxWait) {
        logger.warning(`GitHub ${kind} rate limit on ${opts.method} ${opts.url}: retrying in ${retryAfter}s`);
        return true;
      }
      logger.warning(`GitHub ${kind} rate limit on ${opts.method} ${opts.url}: giving up (retry after ${retryAfter}s)`);
      return false;
    };
  return new GitHubOctokit({
    auth: options.token,
    baseUrl: (options.baseUrl || DEFAULT_API_URL).replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'opskit',
    // Octokit logs every request (info) and every non-2xx answer (error); the caller reports what
    // matters (an expected 404 is no error annotation), so both go to the debug log.
    log: {
      debug: (m: string) => logger.debug(m),
      info: (m: string) => logger.debug(m),
      warn: (m: string) => logger.warning(m),
      error: (m: string) => logger.debug(m),
    },
    retry: { retries: options.retries ?? 3 },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    request: { fetch: fetchWithTimeout(timeoutMs) },
  });
}

/** fetch with a deadline per request, combined with any signal the caller passed. */
function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetch(input, { ...init, signal });
  };
}

/** The parts of an Octokit RequestError we read (kept structural so tests can build one). */
interface RequestErrorLike {
  status?: number;
  message: string;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as RequestErrorLike | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** True when a request may or may not have taken effect (no answer, or a 5xx). */
export function outcomeUnknown(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status === undefined || status >= 500;
}

export interface GitHubErrorContext {
  /** What we were doing, for the message: `create the incident issue in acme/api`. */
  doing: string;
  /** The `permissions:` entry the workflow needs for it: `issues: write`. */
  permission?: string;
}

/** Turns an Octokit error into an ExternalError that says what to change; never includes the token. */
export function gitHubError(err: unknown, context: GitHubErrorContext): ExternalError {
  const e = err as RequestErrorLike;
  const status = httpStatusOf(err);
  const data = e?.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const serviceMessage =
    typeof data?.message === 'string'
      ? data.message
      : errorMessage(err).replace(/ - https:\/\/docs\.github\.com\S*/, '');
  const details = Array.isArray(data?.errors)
    ? data.errors
        .map((x) => (typeof x === 'string' ? x : (x as { message?: string; code?: string; field?: string })))
        .map((x) => (typeof x === 'string' ? x : (x.message ?? [x.field, x.code].filter(Boolean).join(' '))))
        .filter(Boolean)
    : [];
  const said = `${status ?? 'no answer'} ${serviceMessage}${details.length ? ` (${details.join('; ')})` : ''}`;
  let hint = '';
  if (status === 401) {
    hint = ': the token is not valid; check input github-token';
  } else if (status === 403 && /not accessible|permission|must have/i.test(serviceMessage)) {
    const accepted = headerOf(e, 'x-accepted-github-permissions');
    const needed = context.permission ?? accepted?.replace(/=/g, ': ');
    hint = needed
      ? `: the token lacks permission; give the workflow or job \`permissions: ${needed}\``
      : ': the token lacks permission for this';
  } else if (status === 404) {
    hint = ': the repository does not exist or the token cannot see it';
  } else if (status === undefined) {
    hint = '';
  }
  return new ExternalError(`GitHub refused to ${context.doing} (${said})${hint}`, status);
}

function headerOf(e: RequestErrorLike, name: string): string | undefined {
  const v = e?.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

/** Runs one GitHub call, turning its failure into a gitHubError. */
export async function githubCall<T>(context: GitHubErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw gitHubError(err, context);
  }
}
