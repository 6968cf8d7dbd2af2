/** The Slack and PagerDuty clients against the notify simulator: payload checks, rejections, retries. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ExternalError } from '../../src/errors.js';
import { memoryLogger } from '../../src/logger.js';
import { sendPagerDutyEvent, type PagerDutyTrigger } from '../../src/notify/pagerduty.js';
import { postSlackMessage } from '../../src/notify/slack.js';
import { startNotifySim, type NotifySim } from '../harness/notify-sim.js';

let sim: NotifySim;
beforeAll(async () => {
  sim = await startNotifySim();
});
afterAll(() => sim.stop());
afterEach(() => {
  sim.violations.length = 0;
});

const trigger: PagerDutyTrigger = {
  event_action: 'trigger',
  dedup_key: 'deploy / production',
  payload: { summary: '[P1] deploy failed on production', source: 'production', severity: 'error' },
};

describe('PagerDuty Events API v2 client', () => {
  it('triggers and resolves an alert by dedup_key', async () => {
    const logger = memoryLogger();
    const opts = { routingKey: sim.pagerduty.routingKey, url: sim.pagerduty.url, logger };
    expect(await sendPagerDutyEvent(trigger, opts)).toEqual({
      status: 'success',
      message: 'Event processed',
      dedup_key: 'deploy / production',
    });
    expect(sim.pagerduty.alerts.get('deploy / production')).toBe('triggered');
    await sendPagerDutyEvent({ event_action: 'resolve', dedup_key: 'deploy / production' }, opts);
    expect(sim.pagerduty.alerts.get('deploy / production')).toBe('resolved');
    expect(sim.violations).toEqual([]);
  });

  it("reports PagerDuty's reasons for an invalid routing key, without the key", async () => {
    const key = 'not-a-32-character-key';
    const err = await sendPagerDutyEvent(trigger, {
      routingKey: key,
      url: sim.pagerduty.url,
      logger: memoryLogger(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as ExternalError).message).toBe(
      "PagerDuty rejected the trigger event (400 invalid event: Event object is invalid — Length of 'routing_key' is incorrect (should be 32 characters))",
    );
    expect((err as ExternalError).message).not.toContain(key);
    expect(sim.requests.at(-1)!.status).toBe(400);
    expect(sim.violations).toEqual(["pagerduty: Length of 'routing_key' is incorrect (should be 32 characters)"]);
  });

  it('catches a trigger without source or a valid severity', async () => {
    const bad = { ...trigger, payload: { summary: 'x', severity: 'fatal' } } as unknown as PagerDutyTrigger;
    const err = await sendPagerDutyEvent(bad, {
      routingKey: sim.pagerduty.routingKey,
      url: sim.pagerduty.url,
      logger: memoryLogger(),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain("'payload.source' is missing or blank; 'payload.severity' is invalid");
  });

  it('retries 429 (honouring Retry-After) and 5xx: events with a dedup key are idempotent', async () => {
    const before = sim.pagerduty.events.length;
    sim.failNext('pagerduty', 429, 1, 1);
    const logger = memoryLogger();
    await sendPagerDutyEvent(trigger, { routingKey: sim.pagerduty.routingKey, url: sim.pagerduty.url, logger });
    sim.failNext('pagerduty', 503, 1);
    await sendPagerDutyEvent(trigger, { routingKey: sim.pagerduty.routingKey, url: sim.pagerduty.url, logger });
    expect(sim.pagerduty.events.length).toBe(before + 2);
    expect(logger.lines.filter((l) => l.startsWith('warning: PagerDuty answered'))).toEqual([
      'warning: PagerDuty answered 429; retrying the trigger event in 1s',
      expect.stringMatching(/^warning: PagerDuty answered 503; retrying the trigger event in [\d.]+s$/),
    ]);
  });
});

describe('Slack incoming-webhook client', () => {
  it('posts a message with text and blocks', async () => {
    await postSlackMessage(
      { text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }] },
      { webhookUrl: sim.slack.url, logger: memoryLogger() },
    );
    expect(sim.slack.messages.at(-1)).toEqual({
      text: 'hello',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }],
    });
    expect(sim.violations).toEqual([]);
  });

  it("reports Slack's reason for a refused message, without the webhook URL", async () => {
    const err = await postSlackMessage({ text: ' ' }, { webhookUrl: sim.slack.url, logger: memoryLogger() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('Slack refused the message (400 no_text)');
    const blocks = await postSlackMessage(
      { text: 'x', blocks: [{ type: 'section' } as never] },
      { webhookUrl: sim.slack.url, logger: memoryLogger() },
    ).catch((e: unknown) => e);
    expect((blocks as Error).message).toBe('Slack refused the message (400 invalid_blocks)');
    expect(sim.violations).toEqual([
      'slack: neither text nor blocks',
      'slack: invalid blocks: blocks[0]: a section needs text or fields',
    ]);
  });

  it('retries a 429, but not a 5xx whose message may have been posted', async () => {
    const before = sim.slack.messages.length;
    sim.failNext('slack', 429, 1, 1);
    await postSlackMessage({ text: 'after a wait' }, { webhookUrl: sim.slack.url, logger: memoryLogger() });
    expect(sim.slack.messages.length).toBe(before + 1);
    sim.failNext('slack', 500, 1);
    await expect(
      postSlackMessage({ text: 'once' }, { webhookUrl: sim.slack.url, logger: memoryLogger() }),
    ).rejects.toThrow('Slack refused the message (500 internal_error)');
    expect(sim.slack.messages.length).toBe(before + 1);
  });
});
