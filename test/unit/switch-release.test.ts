import { describe, expect, it } from '@jest/globals';
import { Inputs } from '../../src/inputs.js';
import { parseBlueGreenConfig } from '../../src/switch/config.js';
import { commandEnv, redeployedRefusal, retireRefusal } from '../../src/switch/release.js';
import type { TrafficState } from '../../src/switch/types.js';

const servers = { blue: ['10.0.1.10:80'], green: ['10.0.2.10:80', '10.0.2.11:80'] };
const switched = '2026-12-03T10:00:00.000Z';
const greenLive = (extra: Partial<TrafficState> = {}): TrafficState => ({
  live: 'green',
  previous: 'blue',
  shares: { blue: 0, green: 100 },
  servers,
  time: switched,
  source: 'header',
  ...extra,
});
const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('when the old colour may be retired', () => {
  it('once its hold has passed since the switch, and not a moment before', () => {
    expect(retireRefusal(greenLive(), 'f', HOUR, at('2026-12-03T11:00:00.000Z'))).toBeUndefined();
    expect(retireRefusal(greenLive(), 'f', HOUR, at('2026-12-03T10:59:59.000Z'))).toEqual({
      held: true,
      reason: expect.stringContaining('it can be retired from 2026-12-03T11:00:00.000Z'),
    });
  });

  it('never while it has traffic or a switch is under way, whatever the hold', () => {
    const later = at('2026-12-04T10:00:00.000Z');
    const half = greenLive({ live: 'blue', target: 'green', shares: { blue: 50, green: 50 } });
    expect(retireRefusal(half, 'f', 0, later)).toEqual({
      held: false,
      reason: expect.stringContaining('a switch to green is under way'),
    });
    // A state written by hand with both colours weighted (no target recorded).
    const both = greenLive({ shares: { blue: 10, green: 90 } });
    expect(retireRefusal(both, 'f', 0, later)?.reason).toContain('blue still has 10% of traffic');
  });

  it('never without a recorded switch time', () => {
    const later = at('2026-12-04T10:00:00.000Z');
    expect(retireRefusal(undefined, 'f', 0, later)?.reason).toContain('records no state yet');
    expect(retireRefusal(greenLive({ source: 'inferred', time: undefined }), 'f', 0, later)?.reason).toContain(
      "blue's hold cannot be measured",
    );
    expect(retireRefusal(greenLive({ time: 'yesterday' }), 'f', 0, later)?.reason).toContain('is not a time');
  });
});

describe('what the commands get', () => {
  it('the colour, its servers and the version as variables', () => {
    expect(commandEnv('green', servers.green, '2.0.0')).toEqual({
      OPSKIT_COLOUR: 'green',
      OPSKIT_SERVERS: '10.0.2.10:80 10.0.2.11:80',
      OPSKIT_VERSION: '2.0.0',
    });
    expect(commandEnv('blue', servers.blue)).toEqual({ OPSKIT_COLOUR: 'blue', OPSKIT_SERVERS: '10.0.1.10:80' });
  });
});

describe('release inputs', () => {
  const parse = (extra: Record<string, string>) =>
    parseBlueGreenConfig(
      new Inputs(
        (name) => ({ 'upstream-file': '/etc/nginx/app.conf', blue: 'b:1', green: 'g:1', ...extra })[name] ?? '',
      ),
    );

  it('keeps the command as arguments and accepts image-like versions', () => {
    const config = parse({
      'deploy-command': "docker compose -p 'app green' up -d",
      version: 'ghcr.io/acme/app:1.2.3',
    });
    expect(config.release?.deploy?.argv).toEqual(['docker', 'compose', '-p', 'app green', 'up', '-d']);
    expect(config.release?.version).toBe('ghcr.io/acme/app:1.2.3');
    expect(config.release?.deploy?.timeoutMs).toBe(600_000);
  });

  it.each([['1.0 beta'], ['$(id)'], ['`id`'], ['-rf'], ['a'.repeat(201)]])('refuses the version %s', (version) => {
    expect(() => parse({ 'deploy-command': 'deploy.sh', version })).toThrow("input 'version'");
  });

  it('resolves smoke-check paths for the idle servers and refuses absolute URLs', () => {
    const config = parse({ 'deploy-command': 'd', version: '1', 'smoke-checks': '- url: /health?deep=1' });
    expect(config.release?.smoke?.checks[0]?.url.toString()).toBe('http://idle.invalid/health?deep=1');
    expect(() =>
      parse({ 'deploy-command': 'd', version: '1', 'smoke-checks': '- url: http://10.0.0.1/health' }),
    ).toThrow("input 'smoke-checks[1].url'");
  });

  it('takes retire inputs only for action retire, and a command first', () => {
    expect(parse({ action: 'retire', 'retire-command': 'stop.sh', 'retire-after': '24h' }).retire).toMatchObject({
      command: { argv: ['stop.sh'] },
      holdMs: 24 * HOUR,
      skipIfHeld: false,
    });
    expect(() => parse({ action: 'retire' })).toThrow("input 'retire-command' is required");
    expect(() => parse({ action: 'status', 'retire-after': '1h' })).toThrow(
      "input 'retire-after' goes with action 'retire'",
    );
    expect(() => parse({ action: 'retire', 'retire-command': 'stop.sh', version: '1' })).toThrow(
      "input 'version' goes with action 'switch'",
    );
  });
});

describe('when a rollback is not a rollback', () => {
  const record = (colour: 'blue' | 'green', time: string, ok = false) => ({ colour, time, version: '3.0.0', ok });

  it('refuses the colour deployed to after the switch that left it', () => {
    expect(redeployedRefusal(record('blue', '2026-12-03T10:30:00.000Z'), 'blue', greenLive())).toContain(
      'blue was deployed again at 2026-12-03T10:30:00.000Z (version 3.0.0)',
    );
  });

  it('allows it when the deploy was before that switch, was to the other colour, or there is none', () => {
    expect(redeployedRefusal(record('blue', '2026-12-03T09:59:00.000Z', true), 'blue', greenLive())).toBeUndefined();
    expect(redeployedRefusal(record('green', '2026-12-03T10:30:00.000Z'), 'blue', greenLive())).toBeUndefined();
    expect(redeployedRefusal(undefined, 'blue', greenLive())).toBeUndefined();
  });
});
