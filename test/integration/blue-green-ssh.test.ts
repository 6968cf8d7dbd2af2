/**
 * blue-green-switch in remote mode: every file and nginx operation through a real sshd on loopback, with a
 * generated client key and known_hosts; the health gate runs on the "remote" host with curl.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import {
  sampleColours,
  startColourBackend,
  startNginx,
  type ColourBackend,
  type NginxServer,
} from '../harness/nginx.js';
import { startProcess } from '../harness/process.js';
import { startSshd, type SshServer } from '../harness/sshd.js';

let sshd: SshServer;
let blue: ColourBackend;
let green: ColourBackend;
let nginx: NginxServer;
let runnerTemp: string;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});
beforeEach(async () => {
  blue = await startColourBackend('blue', 'v1');
  green = await startColourBackend('green', 'v2');
  nginx = await startNginx({ servers: [blue.server] });
  runnerTemp = await mkdtemp(path.join(os.tmpdir(), 'opskit-bg-runner-'));
});
afterEach(async () => {
  await Promise.all([nginx?.stop(), blue?.kill(), green?.kill()]);
  // The key file, known_hosts and the control socket are gone.
  expect(readdirSync(runnerTemp)).toEqual([]);
  await rm(runnerTemp, { recursive: true, force: true });
});

function remote(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
    'health-successes': '2',
    'health-timeout': '20s',
    'bake-time': '1s',
    'verify-url': `${nginx.url}/`,
    'ssh-host': sshd.host,
    'ssh-port': String(sshd.port),
    'ssh-user': sshd.user,
    'ssh-key': sshd.clientKey,
    'ssh-known-hosts': sshd.knownHosts,
    ...extra,
  };
}

function failure(run: ActionRun): string {
  const line = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function expectKeyHidden(run: ActionRun): void {
  const lines = sshd.clientKey.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'));
  expect(lines.length).toBeGreaterThan(2);
  for (const line of lines) {
    expect(run.visible).not.toContain(line);
    expect(run.masked).toContain(line);
  }
}

const run = (inputs: Record<string, string>) => runAction('blue-green-switch', inputs, { runnerTemp });

describe('blue-green-switch over ssh', () => {
  it('switches through ssh, reads the status through ssh, and never shows the key', async () => {
    const logins = (await sshd.log()).split('Accepted publickey').length;
    const switched = await run(remote({ steps: '50,100', 'verify-expect': 'v2' }));
    expect(failure(switched)).toBe('');
    expect(switched.code).toBe(0);
    expect(switched.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });
    expect(switched.stdout).toContain(`probed from ${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(switched.summary).toContain(`on ${sshd.user}@127.0.0.1:${sshd.port}`);
    expect((await sshd.log()).split('Accepted publickey').length).toBeGreaterThan(logins);
    expect(await sampleColours(`${nginx.url}/`, 50)).toEqual({ green: 50 });
    expectKeyHidden(switched);

    const status = await run({
      action: 'status',
      'upstream-file': nginx.upstreamFile,
      'ssh-host': sshd.host,
      'ssh-port': String(sshd.port),
      'ssh-user': sshd.user,
      'ssh-key': sshd.clientKey,
      'ssh-known-hosts': sshd.knownHosts,
    });
    expect(status.code).toBe(0);
    expect(status.outputs).toMatchObject({ live: 'green', previous: 'blue', weights: 'blue=0,green=100' });

    const rollback = await run(remote({ action: 'rollback' }));
    expect(rollback.code).toBe(0);
    expect(rollback.outputs).toMatchObject({ live: 'blue', previous: 'green', weights: 'blue=100,green=0' });
    expectKeyHidden(rollback);
  }, 90_000);

  it('refuses to connect when the host key does not match ssh-known-hosts', async () => {
    const before = await nginx.readUpstream();
    const refused = await run(remote({ 'ssh-known-hosts': sshd.otherKnownHosts }));
    expect(refused.code).toBe(1);
    expect(failure(refused)).toContain(`ssh to ${sshd.user}@127.0.0.1:${sshd.port} refused`);
    expect(failure(refused)).toContain('Host key verification failed');
    expect(await nginx.readUpstream()).toBe(before);
    expectKeyHidden(refused);
  }, 60_000);

  it('fails on the remote lock held by another run', async () => {
    const before = await nginx.readUpstream();
    // Another run on the host holds the lock (--no-fork: the lock dies with this one process).
    const holder = startProcess('flock', ['--no-fork', `${nginx.upstreamFile}.lock`, 'sleep', '60']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const locked = await run(remote());
      expect(locked.code).toBe(1);
      expect(failure(locked)).toMatch(
        /^blue-green-switch failed: another run holds the lock .*\.lock on .*@127\.0\.0\.1/,
      );
      expect(await nginx.readUpstream()).toBe(before);
    } finally {
      await holder.stop('SIGKILL');
    }
  }, 60_000);

  it('runs the health gate on the host and reports what curl saw', async () => {
    green.setHealthy(false);
    const before = await nginx.readUpstream();
    const unhealthy = await run(remote({ 'health-timeout': '3s' }));
    expect(unhealthy.code).toBe(1);
    expect(failure(unhealthy)).toContain(`green is not healthy: ${green.server}/health: 503`);
    expect(await nginx.readUpstream()).toBe(before);
  }, 60_000);
});
