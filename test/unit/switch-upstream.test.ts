import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import { colourWeights, nginxWeights, readUpstreamState, formatUpstream } from '../../src/nginx/upstream.js';
import { describeShares, formatShares } from '../../src/switch/shares.js';
import type { TrafficState } from '../../src/switch/types.js';

const servers = { blue: ['10.0.1.10:8080', '10.0.1.11:8080'], green: ['10.0.2.10:8080'] };

function state(extra: Partial<TrafficState> = {}): TrafficState {
  return {
    live: 'blue',
    target: 'green',
    shares: { blue: 90, green: 10 },
    servers,
    time: '2025-06-01T10:00:00.000Z',
    run: 'https://github.com/acme/app/actions/runs/7',
    source: 'header',
    ...extra,
  };
}

const render = (s: TrafficState) =>
  formatUpstream({ name: 'app', state: s, keepalive: 32, maxFails: 1, failTimeout: '10s' });

describe('nginx weights for a share', () => {
  it.each([
    [10, 1, 1, { target: 1, other: 9 }],
    [50, 1, 1, { target: 1, other: 1 }],
    [25, 1, 1, { target: 1, other: 3 }],
    [33, 1, 1, { target: 33, other: 67 }],
    [100, 1, 1, { target: 1, other: 0 }],
    [0, 1, 1, { target: 0, other: 1 }],
    [10, 2, 3, { target: 1, other: 6 }],
    [50, 1, 2, { target: 2, other: 1 }],
  ])('%i%% with %i target and %i other servers', (share, t, o, expected) => {
    const w = nginxWeights(share, t, o);
    expect(w).toEqual(expected);
    if (share > 0 && share < 100) {
      // The share the weights really give, counting servers.
      expect((100 * w.target * t) / (w.target * t + w.other * o)).toBeCloseTo(share, 6);
    }
  });

  it('weights every server of a colour alike', () => {
    expect(colourWeights(state())).toEqual({ blue: 9, green: 2 }); // 2 blue × 9 = 18, 1 green × 2 = 2: 10%
  });
});

describe('the upstream file', () => {
  it('renders weights, leaves a 0% colour out of the block and lists it in the header', () => {
    const text = render(state({ shares: { blue: 0, green: 100 }, live: 'green', previous: 'blue', target: undefined }));
    expect(text).toContain(
      'upstream app {\n    server 10.0.2.10:8080 weight=1 max_fails=1 fail_timeout=10s; # green\n',
    );
    expect(text).not.toMatch(/^\s+server 10\.0\.1/m);
    expect(text).toContain('# blue 0% (not in the upstream): 10.0.1.10:8080 10.0.1.11:8080');
    expect(text).toContain('# live: green, previous: blue, traffic: green 100%');
    expect(text).toContain('    keepalive 32;\n}\n');
  });

  it('reads back what it wrote', () => {
    const s = state();
    expect(readUpstreamState(render(s), '/f', 'app', servers)).toEqual(s);
    const done = state({ live: 'green', previous: 'blue', target: undefined, shares: { blue: 0, green: 100 } });
    expect(readUpstreamState(render(done), '/f', 'app', servers)).toEqual(done);
  });

  it('keeps a run URL with a newline from breaking out of its comment', () => {
    const text = render(state({ run: 'https://x/runs/1\nserver 6.6.6.6:80;' }));
    expect(text).not.toMatch(/^server 6\.6\.6\.6/m);
    expect(
      text
        .split('\n')
        .filter((l) => l.includes('6.6.6.6'))
        .every((l) => l.startsWith('#')),
    ).toBe(true);
  });

  it('omits keepalive when it is 0', () => {
    expect(
      formatUpstream({ name: 'app', state: state(), keepalive: 0, maxFails: 1, failTimeout: '10s' }),
    ).not.toContain('keepalive');
  });

  it('reads a hand-written file whose servers are all of one colour as that colour live', () => {
    const text = `# hand-written\nupstream app {\n  server 10.0.2.10:8080 max_fails=3;\n  keepalive 8;\n}\nupstream other { server 10.0.1.10:8080; }\n`;
    expect(readUpstreamState(text, '/f', 'app', servers)).toMatchObject({
      live: 'green',
      shares: { blue: 0, green: 100 },
      source: 'inferred',
    });
  });

  it('ignores backup and down servers when reading a hand-written file', () => {
    const text = 'upstream app { server 10.0.1.10:8080; server 10.0.2.10:8080 backup; }';
    expect(readUpstreamState(text, '/f', 'app', servers)?.live).toBe('blue');
  });

  it('refuses a hand-written file that mixes colours or names unknown servers', () => {
    const mixed = 'upstream app { server 10.0.1.10:8080; server 10.0.2.10:8080; }';
    expect(() => readUpstreamState(mixed, '/f', 'app', servers)).toThrow(/are not all blue servers or all green/);
    const unknown = 'upstream app { server 192.168.9.9:80; }';
    expect(() => readUpstreamState(unknown, '/f', 'app', servers)).toThrow(ConfigurationError);
    expect(() => readUpstreamState('upstream web { server 10.0.1.10:8080; }', '/f', 'app', servers)).toThrow(
      /no 'upstream app' block/,
    );
  });

  it('treats an empty file as no state', () => {
    expect(readUpstreamState('  \n', '/f', 'app', servers)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{live'],
    ['a wrong colour', JSON.stringify({ version: 1, live: 'red', shares: { blue: 100, green: 0 }, servers })],
    ['shares not adding up', JSON.stringify({ version: 1, live: 'blue', shares: { blue: 60, green: 60 }, servers })],
    ['an unknown version', JSON.stringify({ version: 2 })],
  ])('says a damaged state line is damaged: %s', (_what, json) => {
    expect(() => readUpstreamState(`# opskit-state: ${json}\n`, '/etc/x.conf', 'app', servers)).toThrow(
      /upstream-file \/etc\/x\.conf: its opskit-state line is damaged .*restore it from \/etc\/x\.conf\.previous/,
    );
  });

  it('formats shares for the output and for people', () => {
    expect(formatShares({ blue: 90, green: 10 })).toBe('blue=90,green=10');
    expect(describeShares({ blue: 90, green: 10 })).toBe('blue 90%, green 10%');
    expect(describeShares({ blue: 0, green: 100 })).toBe('green 100%');
  });
});
