import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../src/util/backoff.js';
import { mapWithConcurrency } from '../../src/util/pool.js';
import { percentile, summarizeLatencies } from '../../src/util/stats.js';
import { formatDuration, sleep } from '../../src/util/time.js';

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('backoffDelay', () => {
  const fixed = { initialMs: 100, maxMs: 10_000, random: () => 0.5 };

  it('doubles from the initial wait when jitter is neutral', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, fixed))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('treats attempt 0 or below as the first wait', () => {
    expect(backoffDelay(0, fixed)).toBe(100);
    expect(backoffDelay(-3, fixed)).toBe(100);
  });

  it('honours a custom factor', () => {
    expect(backoffDelay(3, { ...fixed, factor: 3 })).toBe(900);
  });

  it('caps at maxMs', () => {
    expect(backoffDelay(20, fixed)).toBe(10_000);
    expect(backoffDelay(8, { ...fixed, maxMs: 5000 })).toBe(5000);
  });

  it('spreads by ±20% at the extremes of random()', () => {
    expect(backoffDelay(3, { ...fixed, random: () => 0 })).toBe(320);
    expect(backoffDelay(3, { ...fixed, random: () => 1 })).toBe(480);
  });

  it('never jitters above maxMs, but may jitter below it', () => {
    expect(backoffDelay(30, { ...fixed, random: () => 1 })).toBe(10_000);
    expect(backoffDelay(30, { ...fixed, random: () => 0 })).toBe(8000);
  });

  it('has no spread with jitter 0', () => {
    expect(backoffDelay(2, { ...fixed, jitter: 0, random: () => 0 })).toBe(200);
  });

  it('stays within ±20% with Math.random', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, { initialMs: 100, maxMs: 10_000 });
      expect(d).toBeGreaterThanOrEqual(640);
      expect(d).toBeLessThanOrEqual(960);
    }
  });
});

describe('mapWithConcurrency', () => {
  it('keeps the input order even when later items finish first', async () => {
    const out = await mapWithConcurrency([30, 5, 20, 1, 10], 3, async (ms, i) => {
      await tick(ms);
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10']);
  });

  it('never runs more than limit at once, and reaches the limit', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 12 }, (_, i) => i);
    const out = await mapWithConcurrency(items, 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick(5 + (n % 4) * 3);
      running--;
      return n * 2;
    });
    expect(peak).toBe(3);
    expect(running).toBe(0);
    expect(out).toEqual(items.map((n) => n * 2));
  });

  it('runs every item once when the limit is larger than the list', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const out = await mapWithConcurrency(['a', 'b', 'c'], 50, async (s, i) => {
      running++;
      peak = Math.max(peak, running);
      seen.push(i);
      await tick(5);
      running--;
      return s.toUpperCase();
    });
    expect(out).toEqual(['A', 'B', 'C']);
    expect(seen.sort()).toEqual([0, 1, 2]);
    expect(peak).toBe(3);
  });

  it('runs one at a time with limit 1 and returns [] for no items', async () => {
    let running = 0;
    let peak = 0;
    await mapWithConcurrency([1, 2, 3, 4], 1, async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(2);
      running--;
    });
    expect(peak).toBe(1);
    expect(await mapWithConcurrency([], 4, async () => 1)).toEqual([]);
  });
});

describe('percentile and summarizeLatencies', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose

  it('uses nearest rank on 1..100', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 95)).toBe(95);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile(oneToHundred, 0)).toBe(1);
    expect(percentile(oneToHundred, 0.5)).toBe(1);
    expect(percentile(oneToHundred, 95.5)).toBe(96);
  });

  it('uses nearest rank on a small sample', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
    expect(percentile([7], 95)).toBe(7);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('is undefined on an empty sample', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(summarizeLatencies([])).toEqual({
      count: 0,
      min: undefined,
      p50: undefined,
      p95: undefined,
      p99: undefined,
      max: undefined,
    });
  });

  it('summarizes 1..100', () => {
    expect(summarizeLatencies(oneToHundred)).toEqual({ count: 100, min: 1, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('rounds to one decimal', () => {
    expect(summarizeLatencies([1.234, 5.678])).toEqual({ count: 2, min: 1.2, p50: 1.2, p95: 5.7, p99: 5.7, max: 5.7 });
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [950, '950ms'],
    [1000, '1.0s'],
    [1500, '1.5s'],
    [12_400, '12s'],
    [60_000, '1m00s'],
    [65_000, '1m05s'],
    [65_300, '1m05s'],
    [3_600_000, '1h00m00s'],
    [3_725_000, '1h02m05s'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('sleep', () => {
  it('resolves after the wait', async () => {
    const started = Date.now();
    await expect(sleep(20)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    controller.abort(reason);
    const started = Date.now();
    await expect(sleep(10_000, controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects early when the signal aborts during the wait', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(sleep(10_000, controller.signal)).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
