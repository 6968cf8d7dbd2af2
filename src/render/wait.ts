/**
 * Following a deploy to its end. Polling adapts: every 2 s while a status is fresh, then an eighth
 * of the time spent in it (slow during long builds), never over 10 s. Each status change is
 * logged, with a heartbeat at most once a minute. (A 2 s floor, not 1 s, and an eighth, not a tenth:
 * over deploys of 1 to 10 minutes that is fewer API calls than a fixed 5 s poll (more for the
 * shortest, fewer for long builds), and live is still seen within 10 s; docs/benchmarks.md, Render
 * deploy polling.)
 */
import type { Logger } from '../logger.js';
import { formatDuration, sleep } from '../util/time.js';
import type { RenderClient } from './client.js';
import { type Deploy, ENDED } from './types.js';

export const POLL_MAX_MS = 10_000;
const POLL_MIN_MS = 2_000;
const HEARTBEAT_MS = 60_000;

export function nextPollMs(msInStatus: number): number {
  return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, Math.round(msInStatus / 8)));
}

export interface TimelineEntry {
  status: string;
  at: string;
  /** Seconds since the wait began. */
  t: number;
}

export interface WaitResult {
  deploy: Deploy;
  timeline: TimelineEntry[];
  timedOut: boolean;
}

/** Where the wait reads the time and sleeps; tests and the benchmark pass a virtual one. */
export interface WaitClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: WaitClock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

export async function waitForDeploy(
  client: RenderClient,
  serviceId: string,
  deployId: string,
  o: { timeoutMs: number; logger: Logger; label?: string; clock?: WaitClock },
): Promise<WaitResult> {
  const clock = o.clock ?? realClock;
  const start = clock.now();
  const timeline: TimelineEntry[] = [];
  let last = '';
  let since = start;
  let heartbeat = start;
  const label = o.label ?? 'deploy';
  for (;;) {
    const deploy = await client.getDeploy(serviceId, deployId);
    const now = clock.now();
    const status = deploy.status ?? 'unknown';
    if (status !== last) {
      timeline.push({ status, at: new Date(now).toISOString(), t: Math.round((now - start) / 100) / 10 });
      o.logger.info(`${label} ${deployId} ${status} (${formatDuration(now - start)})`);
      last = status;
      since = now;
      heartbeat = now;
    } else if (now - heartbeat >= HEARTBEAT_MS) {
      o.logger.info(
        `${label} ${deployId} still ${status} (${formatDuration(now - since)} in this state, ${formatDuration(now - start)} in all)`,
      );
      heartbeat = now;
    }
    if (ENDED.has(status)) return { deploy, timeline, timedOut: false };
    const remaining = o.timeoutMs - (now - start);
    if (remaining <= 0) return { deploy, timeline, timedOut: true };
    await clock.sleep(Math.min(nextPollMs(now - since), remaining));
  }
}
