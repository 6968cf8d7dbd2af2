/** Turns the post-incident-issue inputs into IncidentOptions, rejecting anything we could not honour, before any API call. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, inputError } from '../errors.js';
import { parseRepository, runContextFromEnv, type Env } from '../github/context.js';
import { parseDuration, parseEnum, parseList, parseOptionalDuration, parseUrl, type Inputs } from '../inputs.js';
import { PAGERDUTY_EVENTS_URL, PD_DEDUP_KEY_MAX, PD_ROUTING_KEY_LENGTH } from '../notify/pagerduty.js';
import { secretPartsOfUrl } from '../redact.js';
import { loadReports } from './reports.js';
import { validateTemplate } from './template.js';
import { capLine } from './text.js';
import {
  DEFAULT_RESPONSE_TARGETS,
  SEVERITIES,
  STATUSES,
  severityLabel,
  type IncidentOptions,
  type Severity,
  type SuccessKind,
} from './types.js';

export const DEFAULT_LABEL = 'incident';
export const DEFAULT_REOPEN_WINDOW = '24h';
const LABEL_MAX = 50;
const TITLE_MAX = 256;
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export interface ParsedIncidentInputs {
  token: string;
  options: IncidentOptions;
}

/**
 * Reads every input (and the GITHUB_* variables in `env`), the template file and the reports.
 * `workspace` is where relative paths are resolved (GITHUB_WORKSPACE on a runner).
 */
export async function parseIncidentOptions(inputs: Inputs, env: Env, workspace: string): Promise<ParsedIncidentInputs> {
  const token = inputs.required('github-token');
  const run = runContextFromEnv(env);
  const repository = inputs.has('repository')
    ? parseRepository('repository', inputs.raw('repository'))
    : run.repository;
  if (!repository) {
    throw new ConfigurationError("input 'repository' is required when GITHUB_REPOSITORY is not set (give owner/name)");
  }
  const status = inputs.enum('status', STATUSES, 'open');
  const severity = inputs.enum('severity', SEVERITIES, 'P2');
  const environment = inputs.string('environment') || undefined;

  const key = (inputs.string('incident-key') || defaultKey(run.workflow, environment, run.job)).replace(/\s+/g, ' ');
  if (!key) {
    throw new ConfigurationError(
      "input 'incident-key' is required when GITHUB_WORKFLOW is not set (it names the incident, e.g. deploy / production)",
    );
  }
  if (key.length > PD_DEDUP_KEY_MAX) {
    throw inputError('incident-key', `at most ${PD_DEDUP_KEY_MAX} characters (it is PagerDuty's dedup_key)`, key);
  }
  const title = capLine(
    (inputs.string('title') || defaultTitle(severity, run.workflow ?? key, environment, run.job)).replace(/\s+/g, ' '),
    TITLE_MAX,
  );

  const labels = parseLabels(inputs.list('labels'), severity);
  const assignees = inputs.list('assignees').map((a) => a.replace(/^@/, ''));
  for (const a of assignees)
    if (!LOGIN.test(a)) throw inputError('assignees', 'GitHub logins (one per line or comma separated)', a);

  const template = inputs.has('template') ? await readTemplate(inputs.raw('template'), workspace) : undefined;
  const includeRunContext = inputs.boolean('include-run-context', true);
  const reopenRaw = inputs.raw('reopen-window');
  const reopenWindowMs = parseOptionalDuration('reopen-window', reopenRaw || DEFAULT_REOPEN_WINDOW);

  const slackUrl = inputs.raw('slack-webhook-url');
  const slack = slackUrl
    ? { webhookUrl: parseSecretUrl('slack-webhook-url', slackUrl, 'a Slack incoming-webhook URL') }
    : undefined;
  const routingKey = inputs.raw('pagerduty-routing-key');
  if (routingKey && (routingKey.length !== PD_ROUTING_KEY_LENGTH || /\s/.test(routingKey))) {
    throw new ConfigurationError(
      `input 'pagerduty-routing-key': expected the ${PD_ROUTING_KEY_LENGTH}-character integration key of a PagerDuty ` +
        `Events API v2 integration, got ${routingKey.length} characters`,
    );
  }
  const pagerdutyUrl = inputs.has('pagerduty-api-url')
    ? parseUrl('pagerduty-api-url', inputs.raw('pagerduty-api-url')).toString()
    : PAGERDUTY_EVENTS_URL;

  const responseTargets = parseResponseTargets('response-targets', inputs.raw('response-targets'));
  const reviewSeverities = parseList(inputs.raw('review-severities') || 'P0,P1').map((s) =>
    parseEnum('review-severities', s, SEVERITIES),
  );
  const success = parseSuccess(inputs, status, Boolean(slack));
  const since = parseSince(inputs, status);

  const reports = await loadReports(inputs.list('reports', { commas: false }), workspace);

  return {
    token,
    options: {
      repository,
      key,
      status,
      severity,
      title,
      environment,
      text: {
        summary: inputs.string('summary'),
        impact: inputs.string('impact'),
        rootCause: inputs.string('root-cause'),
        resolution: inputs.string('resolution'),
        timeline: inputs.list('timeline', { commas: false }),
        actionItems: inputs.list('action-items', { commas: false }),
      },
      labels,
      assignees,
      template,
      includeRunContext,
      reports,
      reopenWindowMs,
      run,
      slack,
      pagerduty: routingKey ? { routingKey, url: pagerdutyUrl } : undefined,
      responseTargets,
      reviewSeverities,
      since,
      success,
      // The webhook's path is its credential: a server that echoes the path must not put it in the summary.
      secrets: [token, slackUrl, ...secretPartsOfUrl(slackUrl, { whole: true }), routingKey].filter(
        (s) => s.length > 0,
      ),
    },
  };
}

/** `deploy / production`, or `deploy / job build` without an environment. */
export function defaultKey(
  workflow: string | undefined,
  environment: string | undefined,
  job: string | undefined,
): string {
  if (!workflow) return '';
  if (environment) return `${workflow} / ${environment}`;
  return job ? `${workflow} / job ${job}` : workflow;
}

/** `[P2] deploy failed on production`, or `[P2] deploy failed (job build)`. */
export function defaultTitle(severity: string, workflow: string, environment?: string, job?: string): string {
  const where = environment ? ` on ${environment}` : job ? ` (job ${job})` : '';
  return `[${severity}] ${workflow} failed${where}`;
}

/** The given labels (default `incident`) without any severity label, then the severity label. */
function parseLabels(given: string[], severity: (typeof SEVERITIES)[number]): string[] {
  const labels = given.length ? given : [DEFAULT_LABEL];
  for (const l of labels)
    if (l.length > LABEL_MAX) throw inputError('labels', `label names of at most ${LABEL_MAX} characters`, l);
  const plain = labels.filter((l) => !/^severity:/i.test(l));
  if (plain.length === 0)
    throw inputError(
      'labels',
      'at least one label besides severity:… (incidents are found by the first)',
      given.join(','),
    );
  return [...new Set([...plain, severityLabel(severity)])];
}

async function readTemplate(file: string, workspace: string): Promise<string> {
  const full = path.resolve(workspace, file);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(err));
    throw new ConfigurationError(
      `input 'template': cannot read '${file}' (${why}); give a markdown file path relative to the workspace`,
    );
  }
  validateTemplate('template', `'${file}'`, text);
  return text;
}

/** A URL that is itself a credential: the message never repeats it. */
function parseSecretUrl(input: string, raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`input '${input}': expected ${what} starting with https://, but it is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(
      `input '${input}': expected ${what} starting with https://, got a ${url.protocol} URL`,
    );
  }
  return raw;
}

/** `P0=15m,P1=1h,P2=4h,P3=24h`: a target for each severity; one left out keeps its default. */
export function parseResponseTargets(input: string, raw: string): Record<Severity, number> {
  const targets = {} as Record<Severity, number>;
  for (const part of parseList(DEFAULT_RESPONSE_TARGETS)) {
    const [sev, value] = part.split('=');
    targets[sev as Severity] = parseDuration(input, value!);
  }
  for (const part of parseList(raw)) {
    const m = /^(P[0-3])\s*=\s*(.+)$/i.exec(part);
    if (!m) throw inputError(input, `severity=duration pairs like ${DEFAULT_RESPONSE_TARGETS}`, part);
    targets[m[1]!.toUpperCase() as Severity] = parseDuration(input, m[2]!);
  }
  return targets;
}

/** notify-on-success: false, true (= deployed), deployed or rolled-back; it needs status resolved and a Slack webhook. */
function parseSuccess(inputs: Inputs, status: string, slack: boolean): IncidentOptions['success'] {
  const raw = inputs.raw('notify-on-success').toLowerCase();
  if (raw === '' || raw === 'false' || raw === 'off' || raw === 'no') {
    for (const name of ['version', 'environment-url'])
      if (inputs.has(name))
        throw new ConfigurationError(`input '${name}' is for the success message: set notify-on-success`);
    return undefined;
  }
  const kind: SuccessKind =
    raw === 'true' || raw === 'yes' ? 'deployed' : parseEnum('notify-on-success', raw, ['deployed', 'rolled-back']);
  if (status !== 'resolved')
    throw new ConfigurationError(
      `input 'notify-on-success' goes with status: resolved (the run succeeded), not status: ${status}`,
    );
  if (!slack)
    throw new ConfigurationError(
      "input 'notify-on-success' needs input 'slack-webhook-url': the message goes to Slack",
    );
  const version = inputs.raw('version') || undefined;
  if (version && version.length > 100)
    throw inputError('version', 'at most 100 characters', version.slice(0, 20) + '…');
  return {
    kind,
    version,
    environmentUrl: inputs.has('environment-url')
      ? parseUrl('environment-url', inputs.raw('environment-url')).toString()
      : undefined,
  };
}

/** status check's window: an ISO 8601 time, or a duration back from now (24h). */
function parseSince(inputs: Inputs, status: string): Date | undefined {
  const raw = inputs.raw('since');
  if (status !== 'check') {
    if (raw) throw new ConfigurationError(`input 'since' goes with status: check, not status: ${status}`);
    return undefined;
  }
  if (!raw)
    throw new ConfigurationError(
      "input 'since' is required with status: check (an ISO 8601 time, or a duration like 24h)",
    );
  if (/^\d{4}-\d\d-\d\d/.test(raw)) {
    const at = new Date(raw);
    if (Number.isNaN(at.getTime()))
      throw inputError('since', 'an ISO 8601 time like 2026-12-01T10:00:00Z, or a duration like 24h', raw);
    return at;
  }
  return new Date(Date.now() - parseDuration('since', raw));
}
