/**
 * Slack incoming webhooks: POST a JSON message with `text` (and optionally `blocks`); Slack answers
 * `200 ok`, or 4xx with a short reason (`invalid_payload`, `no_text`, `no_service`, …). The webhook
 * URL is a credential: it never appears in a message or log line.
 *
 * A webhook POST is not idempotent, so only answers that prove nothing was posted are retried:
 * 429 (honouring Retry-After) and a refused connection.
 */
import { ExternalError } from '../errors.js';
import { httpRequest, RequestFailure } from '../http/request.js';
import type { Logger } from '../logger.js';
import { sleep } from '../util/time.js';

export interface SlackMessage {
  text: string;
  blocks?: SlackBlock[];
}

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

export interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

export interface SlackOptions {
  webhookUrl: string;
  timeoutMs?: number;
  attempts?: number;
  logger: Logger;
}

export async function postSlackMessage(message: SlackMessage, options: SlackOptions): Promise<void> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let status: number;
    let body: string;
    let retryAfter: string | undefined;
    try {
      const res = await httpRequest({
        url: new URL(options.webhookUrl),
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message),
        timeoutMs: options.timeoutMs ?? 15_000,
        maxBodyBytes: 4096,
      });
      ({ status, body } = res);
      retryAfter = res.headers['retry-after'] as string | undefined;
    } catch (err) {
      const why = err instanceof RequestFailure ? err.message : String(err);
      if (why === 'connection refused' && attempt < attempts) {
        options.logger.warning(`Slack webhook: ${why}; retrying`);
        await sleep(1000 * attempt);
        continue;
      }
      throw new ExternalError(`could not reach the Slack webhook: ${why}`);
    }
    if (status >= 200 && status < 300) return;
    if (status === 429 && attempt < attempts) {
      const wait = Math.min(60, Number(retryAfter) || 1);
      options.logger.warning(`Slack webhook rate limited; retrying in ${wait}s`);
      await sleep(wait * 1000);
      continue;
    }
    throw new ExternalError(
      `Slack refused the message (${status} ${body.trim().slice(0, 200) || 'no reason given'})`,
      status,
    );
  }
}

/** Slack's mrkdwn control characters: escaping them keeps `<!channel>` and `<@U123>` from pinging anyone. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `<url|label>` with the label escaped. */
export function slackLink(url: string, label: string): string {
  return `<${url.replace(/[<>|]/g, encodeURIComponent)}|${escapeSlack(label).replace(/\|/g, '¦')}>`;
}
