/**
 * Slack incoming-webhook and PagerDuty Events API v2 simulators on one loopback HTTP server,
 * checking each request against what the vendors document and answering like them.
 *
 *   const n = await startNotifySim();
 *   // inputs: slack-webhook-url = n.slack.url, pagerduty-routing-key = n.pagerduty.routingKey,
 *   //         pagerduty-api-url = n.pagerduty.url
 *   expect(n.pagerduty.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
 *   expect(n.violations).toEqual([]);
 *   await n.stop();
 *
 * Slack (`POST <slack.url>`, a path like /services/T…/B…/<secret>): the body must be JSON with a
 * non-empty `text` or a `blocks` array; blocks must have a known `type`, section/context texts of
 * type mrkdwn/plain_text within Slack's lengths (section text ≤ 3000, header ≤ 150, ≤ 10 fields,
 * ≤ 50 blocks). Answers `200 ok` (text/plain); `400 invalid_payload` (not JSON), `400 no_text`,
 * `400 invalid_blocks`; another path `404 no_service`.
 *
 * PagerDuty (`POST <pagerduty.url>` = /v2/enqueue): `routing_key` must be a 32-character string,
 * `event_action` trigger/acknowledge/resolve, `dedup_key` ≤ 255 characters (required for
 * acknowledge/resolve), and a trigger needs `payload.summary` (≤ 1024), `payload.source` and
 * `payload.severity` (critical/error/warning/info). Answers `202 {status:'success', message:'Event
 * processed', dedup_key}`, or `400 {status:'invalid event', message:'Event object is invalid',
 * errors:[…]}` with PagerDuty's wording (e.g. "Length of 'routing_key' is incorrect (should be 32
 * characters)").
 *
 * API:
 *   slack.url            the webhook URL (a credential, as Slack's are)
 *   slack.messages       the accepted messages (parsed JSON), in order
 *   pagerduty.url        the Events API v2 enqueue URL
 *   pagerduty.routingKey a valid 32-character routing key
 *   pagerduty.events     the accepted events (parsed JSON, routing_key included), in order
 *   pagerduty.alerts     Map dedup_key → 'triggered' | 'acknowledged' | 'resolved' (PagerDuty's view)
 *   requests             every request: {service: 'slack' | 'pagerduty' | 'unknown', path, body (text), status}
 *   violations           each request that breaks the documented contract, with the reason
 *   failNext(service, status, times = 1, retryAfter?)  the next request(s) to a service answer `status`
 *                        (a 429 with Retry-After, a 500) without taking effect
 *   stop()
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type NotifyService = 'slack' | 'pagerduty';

export interface NotifyRequest {
  service: NotifyService | 'unknown';
  path: string;
  body: string;
  status: number;
}

export interface NotifySim {
  slack: { url: string; messages: Record<string, unknown>[] };
  pagerduty: {
    url: string;
    routingKey: string;
    events: Record<string, unknown>[];
    alerts: Map<string, 'triggered' | 'acknowledged' | 'resolved'>;
  };
  requests: NotifyRequest[];
  violations: string[];
  failNext(service: NotifyService, status: number, times?: number, retryAfter?: number): void;
  stop(): Promise<void>;
}

const PD_ACTIONS = ['trigger', 'acknowledge', 'resolve'];
const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'];
const SLACK_BLOCK_TYPES = new Set([
  'section',
  'header',
  'context',
  'divider',
  'actions',
  'image',
  'rich_text',
  'input',
]);

export async function startNotifySim(): Promise<NotifySim> {
  const slackPath = `/services/T0SIM${hex(4)}/B0SIM${hex(4)}/${hex(12)}`;
  const routingKey = hex(16); // 32 characters
  const slackMessages: Record<string, unknown>[] = [];
  const events: Record<string, unknown>[] = [];
  const alerts = new Map<string, 'triggered' | 'acknowledged' | 'resolved'>();
  const requests: NotifyRequest[] = [];
  const violations: string[] = [];
  const failures = new Map<NotifyService, { status: number; times: number; retryAfter?: number }>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const service: NotifyRequest['service'] =
        path === '/v2/enqueue' ? 'pagerduty' : path.startsWith('/services/') ? 'slack' : 'unknown';
      const record: NotifyRequest = { service, path, body, status: 0 };
      requests.push(record);
      const answer = (status: number, payload: string | object, headers: Record<string, string> = {}) => {
        record.status = status;
        const json = typeof payload !== 'string';
        res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain', ...headers });
        res.end(json ? JSON.stringify(payload) : payload);
      };
      if (req.method !== 'POST' || service === 'unknown') {
        violations.push(`${req.method} ${path}: neither the Slack webhook nor the PagerDuty Events API`);
        return answer(404, 'no_service');
      }
      const failure = failures.get(service);
      if (failure && failure.times > 0) {
        failure.times -= 1;
        const headers: Record<string, string> = failure.retryAfter ? { 'retry-after': String(failure.retryAfter) } : {};
        return service === 'slack'
          ? answer(failure.status, failure.status === 429 ? 'rate_limited' : 'internal_error', headers)
          : answer(
              failure.status,
              { status: 'throttle event', message: 'Requests for this service are arriving too quickly' },
              headers,
            );
      }
      if (service === 'slack') return slack(path, body, answer);
      return pagerduty(body, answer);
    });
  });

  function slack(path: string, body: string, answer: (s: number, p: string | object) => void): void {
    if (path !== slackPath) {
      violations.push(`slack: POST to unknown webhook ${path}`);
      return answer(404, 'no_service');
    }
    let msg: unknown;
    try {
      msg = JSON.parse(body);
    } catch {
      violations.push('slack: body is not JSON');
      return answer(400, 'invalid_payload');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      violations.push('slack: body is not a JSON object');
      return answer(400, 'invalid_payload');
    }
    const m = msg as { text?: unknown; blocks?: unknown };
    const hasText = typeof m.text === 'string' && m.text.trim().length > 0;
    if (!hasText && !Array.isArray(m.blocks)) {
      violations.push('slack: neither text nor blocks');
      return answer(400, 'no_text');
    }
    if (m.text !== undefined && (typeof m.text !== 'string' || m.text.length > 40_000)) {
      violations.push('slack: text must be a string of at most 40,000 characters');
      return answer(400, 'invalid_payload');
    }
    if (m.blocks !== undefined) {
      const problems = blockProblems(m.blocks);
      if (problems.length) {
        violations.push(`slack: invalid blocks: ${problems.join('; ')}`);
        return answer(400, 'invalid_blocks');
      }
    }
    slackMessages.push(msg as Record<string, unknown>);
    answer(200, 'ok');
  }

  function pagerduty(body: string, answer: (s: number, p: string | object) => void): void {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(body) as Record<string, unknown>;
      if (!e || typeof e !== 'object' || Array.isArray(e)) throw new Error('not an object');
    } catch {
      violations.push('pagerduty: body is not a JSON object');
      return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid JSON'] });
    }
    const errors: string[] = [];
    if (typeof e.routing_key !== 'string') errors.push("'routing_key' is missing or blank");
    else if (e.routing_key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (!PD_ACTIONS.includes(e.event_action as string)) {
      errors.push("'event_action' is missing or invalid (should be one of trigger, acknowledge, resolve)");
    }
    if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255)) {
      errors.push("'dedup_key' must be a string of at most 255 characters");
    }
    if ((e.event_action === 'acknowledge' || e.event_action === 'resolve') && typeof e.dedup_key !== 'string') {
      errors.push("'dedup_key' is required for acknowledge and resolve events");
    }
    if (e.event_action === 'trigger') {
      const p = e.payload as Record<string, unknown> | undefined;
      if (!p || typeof p !== 'object') errors.push("'payload' is missing");
      else {
        if (typeof p.summary !== 'string' || !p.summary) errors.push("'payload.summary' is missing or blank");
        else if (p.summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
        if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing or blank");
        if (!PD_SEVERITIES.includes(p.severity as string)) {
          errors.push("'payload.severity' is invalid (should be one of critical, error, warning, info)");
        }
        if (p.custom_details !== undefined && (typeof p.custom_details !== 'object' || p.custom_details === null)) {
          errors.push("'payload.custom_details' must be an object");
        }
      }
      for (const l of Array.isArray(e.links) ? e.links : []) {
        if (typeof (l as { href?: unknown }).href !== 'string') errors.push("each of 'links' needs an href");
      }
    }
    if (errors.length) {
      violations.push(`pagerduty: ${errors.join('; ')}`);
      return answer(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const dedupKey = (e.dedup_key as string | undefined) ?? hex(16);
    events.push(e);
    const now = alerts.get(dedupKey);
    if (e.event_action === 'trigger') alerts.set(dedupKey, 'triggered');
    else if (now && now !== 'resolved')
      alerts.set(dedupKey, e.event_action === 'resolve' ? 'resolved' : 'acknowledged');
    answer(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    slack: { url: `${base}${slackPath}`, messages: slackMessages },
    pagerduty: { url: `${base}/v2/enqueue`, routingKey, events, alerts },
    requests,
    violations,
    failNext(service, status, times = 1, retryAfter) {
      failures.set(service, { status, times, retryAfter });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function textProblems(where: string, t: unknown, max: number, types = ['mrkdwn', 'plain_text']): string[] {
  const text = t as { type?: unknown; text?: unknown } | undefined;
  if (!text || typeof text !== 'object') return [`${where}: text object missing`];
  if (!types.includes(text.type as string)) return [`${where}: text type must be ${types.join(' or ')}`];
  if (typeof text.text !== 'string' || text.text.length === 0) return [`${where}: text must be a non-empty string`];
  if (text.text.length > max) return [`${where}: text longer than ${max} characters`];
  return [];
}

function blockProblems(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return ['blocks must be an array'];
  if (blocks.length > 50) return ['more than 50 blocks'];
  return blocks.flatMap((b, i): string[] => {
    const block = b as { type?: unknown; text?: unknown; fields?: unknown; elements?: unknown };
    const where = `blocks[${i}]`;
    if (!block || typeof block !== 'object' || !SLACK_BLOCK_TYPES.has(block.type as string)) {
      return [`${where}: unknown block type ${JSON.stringify(block?.type)}`];
    }
    switch (block.type) {
      case 'header':
        return textProblems(`${where}.text`, block.text, 150, ['plain_text']);
      case 'section': {
        if (block.text === undefined && block.fields === undefined) return [`${where}: a section needs text or fields`];
        const out = block.text === undefined ? [] : textProblems(`${where}.text`, block.text, 3000);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length > 10) out.push(`${where}.fields: at most 10`);
          else block.fields.forEach((f, j) => out.push(...textProblems(`${where}.fields[${j}]`, f, 2000)));
        }
        return out;
      }
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) {
          return [`${where}.elements: 1 to 10 elements`];
        }
        return block.elements.flatMap((el, j) => textProblems(`${where}.elements[${j}]`, el, 3000));
      default:
        return [];
    }
  });
}
