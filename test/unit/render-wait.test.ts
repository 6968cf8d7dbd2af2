/**
 * waitForDeploy on a virtual clock: a fake client answers getDeploy from a script of statuses by virtual time,
 * and the clock records every sleep the wait asks for (nothing really sleeps).
 */
import { describe, expect, it } from '@jest/globals';
import type { Logger } from '../../src/logger.js';
import type { RenderClient } from '../../src/render/client.js';
import type { DeployStatus } from '../../src/render/types.js';
import { nextPollMs, POLL_MAX_MS, type WaitClock, waitForDeploy } from '../../src/render/wait.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const S = 1000;
const MIN = 60 * S;

/** Each status from its `from` (ms after T0) until the next one's. */
type Script = { status: DeployStatus; from: number }[];

function harness(script: Script) {
  let t = T0;
  const sleeps: number[] = [];
  const calls: number[] = [];
  const logs: { at: number; line: string }[] = [];
  const clock: WaitClock = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
  const statusAt = (ms: number) => script.filter((s) => s.from <= ms).at(-1)?.status ?? 'created';
  const client = {
    getDeploy: async (_serviceId: string, deployId: string) => {
      calls.push(t - T0);
      return { id: deployId, status: statusAt(t - T0) };
    },
  } as unknown as RenderClient;
  const log = (line: string) => void logs.push({ at: t - T0, line });
  const logger: Logger = { debug: log, info: log, warning: log, error: log };
  const wait = (timeoutMs = 30 * MIN) => waitForDeploy(client, 'srv-1', 'dep-1', { timeoutMs, logger, clock });
  return { sleeps, calls, logs, wait, elapsed: () => t - T0 };
}

/** A 5-minute deploy: created 2 s, build until 3m30s, update until 5m, then live. */
const FIVE_MINUTES: Script = [
  { status: 'created', from: 0 },
  { status: 'build_in_progress', from: 2 * S },
  { status: 'update_in_progress', from: 3.5 * MIN },
  { status: 'live', from: 5 * MIN },
];

/** Indexes into `calls` where a new status was first seen (the first call included). */
function changeIndexes(calls: number[], statusAt: (ms: number) => string): number[] {
  return calls.flatMap((c, i) => (i === 0 || statusAt(c) !== statusAt(calls[i - 1]!) ? [i] : []));
}

describe('nextPollMs', () => {
  it.each([
    [-5, 2000],
    [0, 2000],
    [5 * S, 2000],
    [10 * S, 2000],
    [15 * S, 2000],
    [16_003, 2000],
    [16_004, 2001],
    [20 * S, 2500],
    [40 * S, 5000],
    [79_990, 9999],
    [80 * S, 10_000],
    [10 * MIN, 10_000],
    [24 * 60 * MIN, 10_000],
  ])('%d ms in a status -> next poll in %d ms', (msInStatus, expected) => {
    expect(nextPollMs(msInStatus)).toBe(expected);
  });

  it('caps at POLL_MAX_MS (10 s)', () => {
    expect(POLL_MAX_MS).toBe(10_000);
  });
});

describe('waitForDeploy (virtual clock)', () => {
  it('records the status timeline and returns at live', async () => {
    const h = harness(FIVE_MINUTES);
    const r = await h.wait();
    expect(r.timedOut).toBe(false);
    expect(r.deploy).toEqual({ id: 'dep-1', status: 'live' });
    expect(r.timeline.map((e) => e.status)).toEqual(['created', 'build_in_progress', 'update_in_progress', 'live']);
    // 2 s polls while `created` is fresh: build_in_progress is seen exactly when it starts.
    expect(r.timeline.slice(0, 2)).toEqual([
      { status: 'created', at: new Date(T0).toISOString(), t: 0 },
      { status: 'build_in_progress', at: new Date(T0 + 2 * S).toISOString(), t: 2 },
    ]);
    // Each later status is seen within one capped poll of the moment it began, and `at` agrees with `t`.
    for (const [i, entry] of r.timeline.entries()) {
      const began = FIVE_MINUTES[i]!.from;
      expect(entry.t * S).toBeGreaterThanOrEqual(began);
      expect(entry.t * S - began).toBeLessThanOrEqual(POLL_MAX_MS);
      expect(Math.abs(Date.parse(entry.at) - T0 - entry.t * S)).toBeLessThanOrEqual(50);
    }
    // It returned at the poll that saw live, and asked for no sleep after it.
    expect(h.elapsed()).toBe(h.calls.at(-1));
    expect(h.calls).toHaveLength(h.sleeps.length + 1);
  });

  it('never asks to sleep more than 10 s, and reaches the cap in a long status', async () => {
    const h = harness(FIVE_MINUTES);
    await h.wait();
    expect(Math.max(...h.sleeps)).toBe(POLL_MAX_MS);
    expect(h.sleeps.every((ms) => ms >= 2000 && ms <= POLL_MAX_MS)).toBe(true);
    const gaps = h.calls.slice(1).map((c, i) => c - h.calls[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(POLL_MAX_MS);
  });

  it('polls every 2 s right after each status change, then slows down', async () => {
    const h = harness(FIVE_MINUTES);
    const r = await h.wait();
    const statusAt = (ms: number) => FIVE_MINUTES.filter((s) => s.from <= ms).at(-1)!.status;
    const changes = changeIndexes(h.calls, statusAt);
    expect(changes).toHaveLength(r.timeline.length);
    // sleeps[i] follows calls[i]. The status before live lasts long enough to see 8 fresh 2 s polls (the poll is
    // an eighth of the time in the status, at least 2 s: 2 s until 16 s in).
    for (const i of changes.slice(1, -1)) {
      expect(h.sleeps.slice(i, i + 8)).toEqual(Array(8).fill(2000));
    }
    // The update phase lasts 90 s: by its end the poll has slowed (9 s into a status -> 2 s; 80 s -> 10 s).
    const lastUpdatePoll = changes.at(-1)! - 1;
    expect(h.sleeps[lastUpdatePoll]).toBeGreaterThan(5000);
  });

  it('logs a heartbeat at most once a minute during a 5-minute build', async () => {
    const h = harness([
      { status: 'build_in_progress', from: 0 },
      { status: 'live', from: 5 * MIN },
    ]);
    await h.wait();
    const heartbeats = h.logs.filter((l) => / still build_in_progress /.test(l.line));
    const changes = h.logs.filter((l) => !/ still /.test(l.line));
    expect(changes.map((l) => l.line)).toEqual([
      'deploy dep-1 build_in_progress (0ms)',
      expect.stringMatching(/^deploy dep-1 live \(5m[01]\ds\)$/),
    ]);
    // Five minutes hold at most five heartbeats; with 10 s polls each lands within 10 s after its minute.
    expect(heartbeats.length).toBeGreaterThanOrEqual(4);
    expect(heartbeats.length).toBeLessThanOrEqual(5);
    expect(h.logs).toHaveLength(changes.length + heartbeats.length);
    const at = h.logs.map((l) => l.at);
    for (let i = 1; i < at.length - 1; i++) {
      expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(MIN);
      expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(MIN + POLL_MAX_MS);
    }
    expect(heartbeats[0]!.line).toMatch(
      /^deploy dep-1 still build_in_progress \(1m[01]\ds in this state, 1m[01]\ds in all\)$/,
    );
  });

  it('says in which state and since when in a heartbeat after a change', async () => {
    const h = harness([
      { status: 'build_in_progress', from: 0 },
      { status: 'update_in_progress', from: 30 * S },
      { status: 'live', from: 3 * MIN },
    ]);
    await h.wait();
    const heartbeat = h.logs.find((l) => / still /.test(l.line))!;
    const updateSeen = h.logs.find((l) => / update_in_progress \(/.test(l.line))!;
    expect(heartbeat.at - updateSeen.at).toBeGreaterThanOrEqual(MIN);
    expect(heartbeat.line).toMatch(/still update_in_progress \(1m[01]\ds in this state, 1m\d\ds in all\)$/);
  });

  it.each([[25 * S], [45_500], [3 * MIN + 7 * S]])(
    'returns timedOut after %d ms without sleeping past the deadline',
    async (timeoutMs) => {
      const h = harness([{ status: 'build_in_progress', from: 0 }]);
      const r = await h.wait(timeoutMs);
      expect(r.timedOut).toBe(true);
      expect(r.deploy.status).toBe('build_in_progress');
      expect(r.timeline.map((e) => e.status)).toEqual(['build_in_progress']);
      // The last sleep is cut to what remained, so the last poll falls exactly on the deadline.
      expect(h.sleeps.reduce((a, b) => a + b, 0)).toBe(timeoutMs);
      expect(h.elapsed()).toBe(timeoutMs);
      expect(h.calls.at(-1)).toBe(timeoutMs);
      expect(h.sleeps.every((ms) => ms <= POLL_MAX_MS)).toBe(true);
    },
  );

  it('reports a deploy that ends at the deadline as ended, not timed out', async () => {
    const h = harness([
      { status: 'build_in_progress', from: 0 },
      { status: 'build_failed', from: 25 * S },
    ]);
    const r = await h.wait(25 * S);
    expect(r.timedOut).toBe(false);
    expect(r.deploy.status).toBe('build_failed');
  });

  it('uses the real clock when none is given (a deploy already live needs no sleep)', async () => {
    const client = { getDeploy: async (_s: string, id: string) => ({ id, status: 'live' }) } as unknown as RenderClient;
    const lines: string[] = [];
    const logger: Logger = { debug() {}, info: (m) => void lines.push(m), warning() {}, error() {} };
    const before = Date.now();
    const r = await waitForDeploy(client, 'srv-1', 'dep-2', { timeoutMs: 1000, logger, label: 'rollback' });
    expect(r.timedOut).toBe(false);
    expect(r.timeline).toHaveLength(1);
    expect(Date.parse(r.timeline[0]!.at)).toBeGreaterThanOrEqual(before);
    expect(lines).toEqual([expect.stringMatching(/^rollback dep-2 live \(\d+ms\)$/)]);
  });
});
