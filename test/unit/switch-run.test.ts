import { describe, expect, it } from '@jest/globals';
import { ExternalError } from '../../src/errors.js';
import { memoryLogger } from '../../src/logger.js';
import { runSwitch } from '../../src/switch/run.js';
import type {
  HealthProbe,
  ProbeResult,
  ProviderLock,
  SwitchOptions,
  TrafficProvider,
  TrafficState,
} from '../../src/switch/types.js';

const servers = { blue: ['b:1'], green: ['g:1'] };
const blueLive: TrafficState = { live: 'blue', shares: { blue: 100, green: 0 }, servers, source: 'header' };

/** A provider in memory: records every state applied and restore; can fail an apply. */
class FakeProvider implements TrafficProvider {
  readonly name = 'fake';
  readonly where = 'the fake balancer';
  readonly weighted = true;
  applied: TrafficState[] = [];
  restored = 0;
  current: TrafficState | undefined;
  locked = false;
  lockHeld = true;
  constructor(
    private readonly initial: TrafficState | undefined,
    private readonly failApplyAt?: number,
  ) {
    this.current = initial;
  }
  async lock(): Promise<ProviderLock> {
    this.locked = true;
    return { held: () => this.lockHeld, release: async () => void (this.locked = false) };
  }
  async readState() {
    return this.current;
  }
  async apply(state: TrafficState) {
    if (this.applied.length + 1 === this.failApplyAt) throw new ExternalError('nginx -t said no');
    this.applied.push(state);
    this.current = state;
  }
  async restore() {
    if (this.current === this.initial) return false;
    this.restored++;
    this.current = this.initial;
    return true;
  }
}

class FakeProbe implements HealthProbe {
  readonly where = 'here';
  calls = 0;
  constructor(private readonly answer: (call: number) => boolean = () => true) {}
  async probe(): Promise<ProbeResult> {
    this.calls++;
    const ok = this.answer(this.calls);
    return { ok, detail: ok ? '200' : '503', latencyMs: 1 };
  }
}

const options = (extra: Partial<SwitchOptions> = {}): SwitchOptions => ({
  action: 'switch',
  to: 'idle',
  steps: [10, 50, 100],
  bakeMs: 0,
  servers,
  health: { path: '/health', successes: 1, timeoutMs: 1000, intervalMs: 10 },
  errorBudget: 0,
  settleMs: 1000,
  holder: 'test',
  ...extra,
});

describe('the switch', () => {
  it('applies each step and ends with the target live, releasing the lock', async () => {
    const provider = new FakeProvider(blueLive);
    const result = await runSwitch(options(), { provider, probe: new FakeProbe(), logger: memoryLogger() });
    expect(result.ok).toBe(true);
    expect(provider.applied.map((s) => s.shares.green)).toEqual([10, 50, 100]);
    expect(result.now).toMatchObject({ live: 'green', previous: 'blue' });
    expect(result.steps.map((s) => s.ok)).toEqual([true, true, true]);
    expect(provider.locked).toBe(false);
  });

  it('changes nothing when the health gate fails', async () => {
    const provider = new FakeProvider(blueLive);
    const result = await runSwitch(options(), { provider, probe: new FakeProbe(() => false), logger: memoryLogger() });
    expect(result.ok).toBe(false);
    expect(provider.applied).toEqual([]);
    expect(String(result.error)).toContain('Nothing was changed: traffic stays on blue 100%');
  });

  it('puts the state before the run back when a probe fails during a bake', async () => {
    const provider = new FakeProvider(blueLive);
    // The gate's probe passes; the first bake probe fails.
    const result = await runSwitch(options(), {
      provider,
      probe: new FakeProbe((n) => n === 1),
      logger: memoryLogger(),
    });
    expect(result.ok).toBe(false);
    expect(provider.applied).toHaveLength(1);
    expect(provider.restored).toBe(1);
    expect(result.reverted).toBe(true);
    expect(result.now).toBe(blueLive);
    expect(String(result.error)).toMatch(
      /step 1\/3: green 10% failed: .*g:1\/health: 503\. Reverted: traffic is back on blue 100%/,
    );
  });

  it('tolerates failures within the error budget', async () => {
    const provider = new FakeProvider(blueLive);
    const probe = new FakeProbe((n) => n !== 2);
    const result = await runSwitch(options({ errorBudget: 1 }), { provider, probe, logger: memoryLogger() });
    expect(result.ok).toBe(true);
    expect(result.steps[0]!.probeFailures).toBe(1);
  });

  it('does not restore when the first apply fails (the provider put its file back itself)', async () => {
    const provider = new FakeProvider(blueLive, 1);
    const result = await runSwitch(options(), { provider, probe: new FakeProbe(), logger: memoryLogger() });
    expect(result.ok).toBe(false);
    expect(provider.restored).toBe(0);
    expect(String(result.error)).toContain('step 1/3: green 10% failed: nginx -t said no. Traffic stays on blue 100%');
  });

  it('restores when a later apply fails', async () => {
    const provider = new FakeProvider(blueLive, 2);
    const result = await runSwitch(options(), { provider, probe: new FakeProbe(), logger: memoryLogger() });
    expect(provider.restored).toBe(1);
    expect(String(result.error)).toContain('step 2/3: green 50% failed: nginx -t said no. Reverted');
  });

  it('stops baking and reverts when the run is cancelled', async () => {
    const provider = new FakeProvider(blueLive);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new ExternalError('the run was cancelled')), 200);
    const result = await runSwitch(options({ bakeMs: 60_000 }), {
      provider,
      probe: new FakeProbe(),
      logger: memoryLogger(),
      signal: cancel.signal,
    });
    expect(result.ok).toBe(false);
    expect(provider.restored).toBe(1);
    expect(String(result.error)).toContain('the run was cancelled. Reverted: traffic is back on blue 100%');
  });

  it('reverts when the lock is lost between steps', async () => {
    const provider = new FakeProvider(blueLive);
    const probe = new FakeProbe(() => {
      if (provider.applied.length === 1) provider.lockHeld = false;
      return true;
    });
    const result = await runSwitch(options(), { provider, probe, logger: memoryLogger() });
    expect(result.ok).toBe(false);
    expect(provider.restored).toBe(1);
    expect(String(result.error)).toContain('the lock on the fake balancer was lost');
  });
});
