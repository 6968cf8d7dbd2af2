/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`): trigger, acknowledge and resolve alerts keyed by
 * `dedup_key`. Events with a dedup key are idempotent, so 429, 5xx and network failures are retried
 * with backoff, as PagerDuty's documentation asks. A 400 (`invalid event`) is reported with
 * PagerDuty's own reasons. The routing key is a credential and never appears in a message.
 */
import { ExternalError } from '../errors.js';
import { httpRequest, RequestFailure } from '../http/request.js';
import type { Logger } from '../logger.js';
import { backoffDelay } from '../util/backoff.js';
import { sleep } from '../util/time.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
export const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof PD_SEVERITIES)[number];

export interface PagerDutyTrigger {
  event_action: 'trigger';
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  client?: string;
  client_url?: string;
  links?: { href: string; text?: string }[];
}

export interface PagerDutyFollowUp {
  event_action: 'acknowledge' | 'resolve';
  dedup_key: string;
}

export type PagerDutyEvent = PagerDutyTrigger | PagerDutyFollowUp;

export interface PagerDutyOptions {
  routingKey: string;
  url?: string;
  timeoutMs?: number;
  attempts?: number;
  logger: Logger;
}

export interface PagerDutyAccepted {
  status: string;
  message: string;
  dedup_key: string;
}

/** The documented limits, checked before sending so a mistake is ours to report, not a 400. */
export const PD_SUMMARY_MAX = 1024;
export const PD_DEDUP_KEY_MAX = 255;
export const PD_ROUTING_KEY_LENGTH = 32;

export async function sendPagerDutyEvent(event: PagerDutyEvent, options: PagerDutyOptions): Promise<PagerDutyAccepted> {
  const attempts = options.attempts ?? 4;
  const body = JSON.stringify({ routing_key: options.routingKey, ...event });
  const what = `the ${event.event_action} event`;
  for (let attempt = 1; ; attempt++) {
    let status: number;
    let text: string;
    let retryAfter: number | undefined;
    try {
      const res = await httpRequest({
        url: new URL(options.url ?? PAGERDUTY_EVENTS_URL),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: options.timeoutMs ?? 15_000,
        maxBodyBytes: 64 * 1024,
      });
      status = res.status;
      text = res.body;
      retryAfter = Number(res.headers['retry-after']) || undefined;
    } catch (err) {
      const why = err instanceof RequestFailure ? err.message : String(err);
      if (attempt < attempts) {
        options.logger.warning(`PagerDuty: ${why}; retrying ${what}`);
        await sleep(backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 }));
        continue;
      }
      throw new ExternalError(`could not reach PagerDuty to send ${what}: ${why}`);
    }
    if (status >= 200 && status < 300) return parseAccepted(text, event.dedup_key);
    if ((status === 429 || status >= 500) && attempt < attempts) {
      const wait = retryAfter
        ? Math.min(60_000, retryAfter * 1000)
        : backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 });
      options.logger.warning(`PagerDuty answered ${status}; retrying ${what} in ${Math.round(wait / 100) / 10}s`);
      await sleep(wait);
      continue;
    }
    throw new ExternalError(`PagerDuty rejected ${what} (${status} ${describeRejection(text)})`, status);
  }
}

function parseAccepted(text: string, dedupKey: string): PagerDutyAccepted {
  try {
    const data = JSON.parse(text) as Partial<PagerDutyAccepted>;
    return { status: data.status ?? 'success', message: data.message ?? '', dedup_key: data.dedup_key ?? dedupKey };
  } catch {
    return { status: 'success', message: '', dedup_key: dedupKey };
  }
}

/** `invalid event: Event object is invalid — Length of 'routing_key' is incorrect (should be 32 characters)` */
function describeRejection(text: string): string {
  try {
    const data = JSON.parse(text) as { status?: unknown; message?: unknown; errors?: unknown };
    const errors = Array.isArray(data.errors) ? data.errors.map(String) : [];
    const head = [data.status, data.message].filter((x) => typeof x === 'string' && x).join(': ');
    return [head || 'no reason given', errors.join('; ')].filter(Boolean).join(' — ');
  } catch {
    return text.trim().slice(0, 200) || 'no reason given';
  }
}
