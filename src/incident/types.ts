import type { RepoRef, RunContext } from '../github/context.js';
import type { FailedJob } from '../github/jobs.js';
import type { PagerDutySeverity } from '../notify/pagerduty.js';
import type { LoadedReport } from './reports.js';

export const SEVERITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * open: a failure; resolved: a recovery; review: a scheduled look at open incidents past their response target;
 * check: fail when the incident was open at any time since `since` (a promotion's "staging stayed healthy").
 */
export const STATUSES = ['open', 'resolved', 'review', 'check'] as const;
export type IncidentStatus = (typeof STATUSES)[number];

export type IncidentAction = 'created' | 'commented' | 'reopened' | 'closed' | 'none';

/** How soon each severity gets its first response, and then an update (guides 001 "Response Times", 004). */
export const DEFAULT_RESPONSE_TARGETS = 'P0=15m,P1=1h,P2=4h,P3=24h';

/** What a succeeded run tells Slack with notify-on-success (guides 000 "Post-Deployment", 004 step 16). */
export type SuccessKind = 'deployed' | 'rolled-back';

/** PagerDuty's severity for each incident level. */
export const PAGERDUTY_SEVERITY: Record<Severity, PagerDutySeverity> = {
  P0: 'critical',
  P1: 'error',
  P2: 'warning',
  P3: 'info',
};

/** Label colours: red to green as severity drops. */
export const SEVERITY_COLORS: Record<Severity, string> = { P0: 'b60205', P1: 'd93f0b', P2: 'fbca04', P3: '0e8a16' };

export const severityLabel = (s: Severity) => `severity:${s}`;

/** P0 is the highest: true when `a` is more severe than `b`. */
export function moreSevere(a: Severity, b: Severity): boolean {
  return SEVERITIES.indexOf(a) < SEVERITIES.indexOf(b);
}

/** What the person wrote about the incident (all free text: neutralised before it is posted). */
export interface IncidentText {
  summary: string;
  impact: string;
  rootCause: string;
  resolution: string;
  timeline: string[];
  actionItems: string[];
}

export interface IncidentOptions {
  repository: RepoRef;
  /** Dedupe key, stored as a hidden marker in the issue body. */
  key: string;
  status: IncidentStatus;
  severity: Severity;
  title: string;
  environment?: string;
  text: IncidentText;
  /** Labels put on a new issue; the first is the one incidents are looked up by. The severity label comes on top. */
  labels: string[];
  assignees: string[];
  /** A user template (its text), replacing the built-in one. */
  template?: string;
  includeRunContext: boolean;
  reports: LoadedReport[];
  /** A closed incident closed this recently is reopened; undefined: never reopen. */
  reopenWindowMs?: number;
  run: RunContext;
  slack?: { webhookUrl: string };
  pagerduty?: { routingKey: string; url: string };
  /** status check: the start of the window. */
  since?: Date;
  /** Response target of each severity, in ms: shown on the issue; `review` comments on issues past it. */
  responseTargets: Record<Severity, number>;
  /** Severities that `review` looks at (default P0 and P1). */
  reviewSeverities: Severity[];
  /** With status resolved: also tell Slack that the run succeeded, even when no incident was open. */
  success?: { kind: SuccessKind; version?: string; environmentUrl?: string };
  /** Values that must never be posted anywhere (token, webhook URL, routing key). */
  secrets: string[];
}

export interface NotificationResult {
  channel: 'slack' | 'pagerduty';
  event: string;
  ok: boolean;
  error?: string;
}

export interface IncidentResult {
  action: IncidentAction;
  key: string;
  issue?: { number: number; url: string; title: string };
  /** A closed incident the new one follows (outside the reopen window). */
  previous?: { number: number; url: string };
  /** Set when an open incident's severity was raised. */
  escalatedFrom?: Severity;
  severity: Severity;
  /** Time from the first failure to resolution, for `closed`. */
  durationMs?: number;
  labelsCreated: string[];
  failedJobs: FailedJob[];
  /** Why run context is missing, when it is (e.g. `actions: read` not granted). */
  runContextNote?: string;
  notifications: NotificationResult[];
  /** Issues closed as duplicates of this one (two runs raced to create it). */
  duplicatesClosed: number[];
  /** review: the open incidents past their response target, and whether this run commented on them. */
  overdue?: OverdueIncident[];
  /** status check: what went wrong in the window (empty: it stayed quiet). */
  findings?: string[];
  /** notify-on-success: how long the run took, from its first job's start (when the Actions API could say). */
  runDurationMs?: number;
}

export interface OverdueIncident {
  number: number;
  url: string;
  title: string;
  severity: Severity;
  /** The last update: the newest comment (or the issue itself) that is not an overdue reminder. */
  lastUpdate: Date;
  targetMs: number;
  /** False when a reminder for this stretch of silence was already posted. */
  commented: boolean;
}

/** A result before anything was done. */
export function newResult(o: IncidentOptions): IncidentResult {
  return {
    action: 'none',
    key: o.key,
    severity: o.severity,
    labelsCreated: [],
    failedJobs: [],
    notifications: [],
    duplicatesClosed: [],
  };
}
