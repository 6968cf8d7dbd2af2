import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import { Inputs } from '../../src/inputs.js';
import { parseBlueGreenConfig, parseKnownHosts, parseSteps } from '../../src/switch/config.js';
import { planMove, stateAt } from '../../src/switch/plan.js';
import type { TrafficState } from '../../src/switch/types.js';
import { settleRun } from '../../src/switch/verify.js';

const servers = { blue: ['10.0.1.10:80'], green: ['10.0.2.10:80'] };
const live = (colour: 'blue' | 'green', extra: Partial<TrafficState> = {}): TrafficState => ({
  live: colour,
  shares: colour === 'blue' ? { blue: 100, green: 0 } : { blue: 0, green: 100 },
  servers,
  source: 'header',
  ...extra,
});
const sw = (to: 'idle' | 'blue' | 'green', steps = [10, 50, 100]) => ({ action: 'switch' as const, to, steps });

describe('planning a move', () => {
  it('switches to the idle colour through every step', () => {
    expect(planMove(sw('idle'), live('blue'), 'f', true)).toEqual({
      to: 'green',
      from: 'blue',
      shares: [10, 50, 100],
      unchanged: false,
    });
  });

  it('does nothing when the target already has all traffic', () => {
    expect(planMove(sw('blue'), live('blue'), 'f', true)).toMatchObject({ unchanged: true, shares: [] });
  });

  it('continues an unfinished switch from the share it reached', () => {
    const half = live('blue', { target: 'green', shares: { blue: 50, green: 50 } });
    expect(planMove(sw('idle'), half, 'f', true)).toMatchObject({ to: 'green', shares: [100] });
    expect(planMove(sw('green', [25, 75, 100]), half, 'f', true).shares).toEqual([75, 100]);
  });

  it('gives all traffic back at once when going back to the colour an unfinished switch left', () => {
    const half = live('blue', { target: 'green', shares: { blue: 50, green: 50 } });
    expect(planMove(sw('blue'), half, 'f', true)).toMatchObject({ to: 'blue', shares: [100] });
  });

  it('moves everything in one step when nothing is live yet, and needs an explicit colour', () => {
    expect(planMove(sw('green'), undefined, 'f', true)).toMatchObject({ to: 'green', shares: [100] });
    expect(() => planMove(sw('idle'), undefined, 'f', true)).toThrow(/set to: blue or to: green/);
  });

  it('moves in one step with a provider that cannot split traffic', () => {
    expect(planMove(sw('idle'), live('blue'), 'f', false).shares).toEqual([100]);
  });

  it('rolls back to previous, or to where an unfinished switch started', () => {
    const rb = { action: 'rollback' as const, to: 'idle' as const, steps: [10, 100] };
    expect(planMove(rb, live('green', { previous: 'blue' }), 'f', true)).toMatchObject({ to: 'blue', shares: [100] });
    const half = live('blue', { previous: 'green', target: 'green', shares: { blue: 50, green: 50 } });
    expect(planMove(rb, half, 'f', true)).toMatchObject({ to: 'blue', shares: [100] });
    expect(() => planMove(rb, live('green'), 'f', true)).toThrow(ConfigurationError);
    expect(() => planMove(rb, undefined, 'f', true)).toThrow(/nothing to roll back/);
  });

  it('records live, previous and target at each step', () => {
    const before = live('blue', { previous: 'green' });
    const plan = planMove(sw('idle'), before, 'f', true);
    const meta = { time: 't' };
    expect(stateAt(plan, before, 10, servers, meta)).toMatchObject({
      live: 'blue',
      previous: 'green',
      target: 'green',
      shares: { blue: 90, green: 10 },
    });
    const done = stateAt(plan, before, 100, servers, meta);
    expect(done).toMatchObject({ live: 'green', previous: 'blue', shares: { blue: 0, green: 100 } });
    expect(done.target).toBeUndefined();
    expect(
      stateAt(planMove(sw('green'), undefined, 'f', true), undefined, 100, servers, meta).previous,
    ).toBeUndefined();
  });

  it('waits for more matching answers in a row the more the old configuration already sent to the target', () => {
    expect(settleRun(0)).toBe(5);
    expect(settleRun(10)).toBe(5);
    expect(settleRun(50)).toBe(10);
    expect(settleRun(90)).toBe(40);
  });
});

describe('blue-green-switch inputs', () => {
  const read = (values: Record<string, string>) => new Inputs((name) => values[name] ?? '');

  it('parses steps with percent signs and spaces', () => {
    expect(parseSteps('10%, 50%, 100%')).toEqual([10, 50, 100]);
    expect(parseSteps('100')).toEqual([100]);
  });

  it('gives known_hosts keys without a host the host pattern', () => {
    expect(parseKnownHosts('ssh-ed25519 AAAAC3Nza', 'lb1', 22)).toBe('lb1 ssh-ed25519 AAAAC3Nza\n');
    expect(parseKnownHosts('ssh-ed25519 AAAAC3Nza\r\n', 'lb1', 2222)).toBe('[lb1]:2222 ssh-ed25519 AAAAC3Nza\n');
    expect(parseKnownHosts('# c\n|1|abc=|def= ecdsa-sha2-nistp256 AAAAE2', 'lb1', 22)).toBe(
      '|1|abc=|def= ecdsa-sha2-nistp256 AAAAE2\n',
    );
  });

  it('reads every input with its default', () => {
    const config = parseBlueGreenConfig(
      read({
        'upstream-file': '/etc/nginx/conf.d/app.conf',
        blue: '10.0.1.10:80, [fd00::1]:80',
        green: 'green-1.internal:8080',
      }),
    );
    expect(config).toMatchObject({
      action: 'switch',
      provider: 'nginx',
      nginx: {
        file: '/etc/nginx/conf.d/app.conf',
        upstreamName: 'app',
        keepalive: 32,
        testCommand: ['nginx', '-t'],
        reloadCommand: ['nginx', '-s', 'reload'],
      },
      servers: { blue: ['10.0.1.10:80', '[fd00::1]:80'], green: ['green-1.internal:8080'] },
      to: 'idle',
      steps: [100],
      bakeMs: 30_000,
      health: { path: '/health', successes: 3, timeoutMs: 120_000 },
      errorBudget: 0,
      sudo: false,
      secrets: [],
    });
    expect(config.ssh).toBeUndefined();
    expect(config.verify).toBeUndefined();
  });

  it('normalises a pasted key and masks it line by line', () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\r\nAAAAline-one-secret\r\nBBBBline-two-secret\r\n-----END OPENSSH PRIVATE KEY-----';
    const config = parseBlueGreenConfig(
      read({
        'upstream-file': '/f.conf',
        blue: '10.0.0.1:80',
        green: '10.0.0.2:80',
        'ssh-host': 'lb1',
        'ssh-user': 'deploy',
        'ssh-key': key,
        'ssh-known-hosts': 'ssh-ed25519 AAAAC3Nza',
      }),
    );
    expect(config.ssh?.privateKey).toBe(
      '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAline-one-secret\nBBBBline-two-secret\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    expect(config.secrets).toEqual(expect.arrayContaining(['AAAAline-one-secret', 'BBBBline-two-secret']));
    expect(config.ssh?.knownHosts).toBe('lb1 ssh-ed25519 AAAAC3Nza\n');
  });
});
