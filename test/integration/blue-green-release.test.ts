/**
 * Blue-green releases through the bundle against a real nginx: deploy-command readies the idle colour with the
 * release version, the smoke checks ask its servers directly, and only then does traffic move; `action: retire`,
 * a later run, stops the old colour once it is idle and its hold has passed. The backends here answer with the
 * version their deploy wrote, so a deploy is seen through nginx the way a person would see it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { sampleColours, startNginx, type NginxServer } from '../harness/nginx.js';
import { startSshd, type SshServer } from '../harness/sshd.js';
import { runProcess } from '../harness/process.js';
import { tempDir } from '../harness/tmp.js';
import { formatUpstream } from '../../src/nginx/upstream.js';
import type { TrafficState } from '../../src/switch/types.js';

/** A colour's app: `/` answers `<colour> <version>`, `/health` `{"status":"healthy","version":…}`, the version read from its file. */
interface App {
  colour: string;
  server: string;
  versionFile: string;
  stop(): Promise<void>;
}

async function startApp(colour: string, dir: string, version: string): Promise<App> {
  const versionFile = path.join(dir, `${colour}.version`);
  await writeFile(versionFile, version);
  const server = http.createServer((req, res) => {
    void readFile(versionFile, 'utf8')
      .catch(() => 'stopped')
      .then((v) => {
        if (req.url === '/health') {
          const ok = v !== 'stopped';
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: ok ? 'healthy' : 'stopped', version: v, colour }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${colour} ${v}\n`);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    colour,
    server: `127.0.0.1:${port}`,
    versionFile,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let dir: { path: string; cleanup(): Promise<void> };
let blue: App;
let green: App;
let nginx: NginxServer;
let deployLog: string;
let retireLog: string;
let deployScript: string;
let failingScript: string;
let retireScript: string;

beforeEach(async () => {
  dir = await tempDir('opskit-bg-release-');
  blue = await startApp('blue', dir.path, '1.0.0');
  green = await startApp('green', dir.path, '0.9.0');
  nginx = await startNginx({ servers: [blue.server] }); // a hand-written upstream: blue is live
  deployLog = path.join(dir.path, 'deploy.log');
  retireLog = path.join(dir.path, 'retire.log');
  // The deploy writes the version the colour's app answers with: what `docker compose up -d` of a new image does.
  deployScript = await script(
    'deploy.sh',
    `printf '%s|%s|%s|%s\\n' "$OPSKIT_COLOUR" "$OPSKIT_VERSION" "$OPSKIT_SERVERS" "\${1-}" >> '${deployLog}'\n` +
      `printf '%s' "$OPSKIT_VERSION" > '${dir.path}/'"$OPSKIT_COLOUR.version"\n`,
  );
  failingScript = await script(
    'deploy-fails.sh',
    `printf '%s\\n' "$OPSKIT_COLOUR" >> '${deployLog}'\necho "pull access denied for app:$OPSKIT_VERSION" >&2\nexit 3\n`,
  );
  retireScript = await script(
    'retire.sh',
    `printf '%s|%s|%s\\n' "$OPSKIT_COLOUR" "$OPSKIT_SERVERS" "\${OPSKIT_VERSION-unset}" >> '${retireLog}'\n` +
      `rm -f '${dir.path}/'"$OPSKIT_COLOUR.version"\n`,
  );
});

afterEach(async () => {
  await Promise.all([nginx?.stop(), blue?.stop(), green?.stop()]);
  await dir?.cleanup();
});

async function script(name: string, body: string): Promise<string> {
  const file = path.join(dir.path, name);
  await writeFile(file, `#!/bin/sh\nset -eu\n${body}`);
  await chmod(file, 0o755);
  return file;
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
    'health-successes': '2',
    'health-timeout': '10s',
    'bake-time': '1s',
    'verify-url': `${nginx.url}/`,
    ...extra,
  };
}

const SMOKE = `
- name: health
  url: /health
  expect-json:
    $.status: healthy
    $.version: 2.0.0
- name: home
  url: /
  expect-body: /^(blue|green) 2\\.0\\.0/
`;

function release(extra: Record<string, string> = {}): Record<string, string> {
  return inputs({
    'deploy-command': `${deployScript} --pull`,
    version: '2.0.0',
    'smoke-checks': SMOKE,
    'smoke-timeout': '5s',
    'verify-expect': 'green 2.0.0',
    ...extra,
  });
}

function failure(run: ActionRun): string {
  const line = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
}

const lines = async (file: string) =>
  existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean) : [];

/** Everything around the upstream file, byte for byte, and where nginx sends traffic. */
async function snapshot() {
  const files = readdirSync(path.dirname(nginx.upstreamFile))
    // The run lock's file stays; the deploy record is checked on its own.
    .filter((f) => !f.endsWith('.lock') && !f.endsWith('.deployed'))
    .sort();
  return { files, upstream: await nginx.readUpstream(), traffic: await sampleColours(`${nginx.url}/`, 40) };
}

describe('blue-green-switch releases', () => {
  it('deploys the version to the idle colour, smoke tests its servers directly, then moves traffic to it', async () => {
    const run = await runAction('blue-green-switch', release());
    expect(failure(run)).toBe('');
    expect(run.code).toBe(0);
    // The deploy ran once, for green, with the version and green's servers, the arguments as written.
    expect(await lines(deployLog)).toEqual([`green|2.0.0|${green.server}|--pull`]);
    expect(run.outputs).toMatchObject({
      live: 'green',
      previous: 'blue',
      deployed: '2.0.0',
      weights: 'blue=0,green=100',
    });
    expect(run.outputs['switched-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The smoke checks went to green's server itself, before the health gate and the switch.
    const log = run.stdout;
    expect(log).toContain(`smoke checks of green before any traffic moves: 2 check(s) on each of 1 server(s)`);
    expect(log.indexOf('smoke checks of green: 2/2 passed')).toBeGreaterThan(
      log.indexOf('deploy-command for green: done'),
    );
    expect(log.indexOf('health gate:')).toBeGreaterThan(log.indexOf('smoke checks of green: 2/2 passed'));
    expect(await sampleColours(`${nginx.url}/`, 40)).toEqual({ green: 40 });
    expect((await (await fetch(`${nginx.url}/`)).text()).trim()).toBe('green 2.0.0');
    expect(run.summary).toContain('| deploy-command | green on this machine |');
    expect(run.summary).toContain('(OPSKIT_VERSION=2.0.0)');
    expect(run.summary).toContain('| smoke checks | green servers (no traffic) |');
    expect(run.summary).toContain('2/2 passed');
  });

  it('moves no traffic when deploy-command fails, and says why', async () => {
    const before = await snapshot();
    const run = await runAction('blue-green-switch', release({ 'deploy-command': failingScript }));
    expect(run.code).toBe(1);
    const error = failure(run);
    expect(error).toContain('deploy-command failed on this machine for green (version 2.0.0): exit code 3');
    expect(error).toContain('pull access denied for app:2.0.0');
    expect(error).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(await lines(deployLog)).toEqual(['green']);
    expect(run.stdout).not.toContain('health gate:');
    expect(run.stdout).not.toContain('smoke checks of green');
    expect(await snapshot()).toEqual(before); // the file as it was, no .previous; traffic all on blue
    expect(before.traffic).toEqual({ blue: 40 });
    expect(run.outputs).toMatchObject({ live: 'blue', deployed: '' });
    expect(run.summary).toContain('❌ exit code 3');
  });

  it('moves no traffic when the idle colour fails its smoke checks after the deploy', async () => {
    const before = await snapshot();
    // The deploy "succeeds" but the app answers with another version than the checks expect.
    const token = 'Bearer smoke-s3cret-4f9a1c';
    const run = await runAction(
      'blue-green-switch',
      release({ version: '2.0.1', 'smoke-headers': `authorization: ${token}` }),
    );
    expect(run.masked).toContain(token);
    expect(run.visible).not.toContain('smoke-s3cret-4f9a1c');
    expect(run.code).toBe(1);
    const error = failure(run);
    expect(error).toContain('the smoke checks of green failed before any traffic moved');
    expect(error).toContain(`${green.server} health`);
    expect(error).toContain('$.version');
    expect(error).toContain('green now runs 2.0.1 without traffic: a rollback to green would make it live');
    expect(error).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(await lines(deployLog)).toEqual([`green|2.0.1|${green.server}|--pull`]);
    expect(run.stdout).not.toContain('health gate:');
    expect(await snapshot()).toEqual(before);
    expect(run.outputs).toMatchObject({ live: 'blue', deployed: '2.0.1' });
  });

  it('stops a deploy-command that outlives command-timeout and moves no traffic', async () => {
    const before = await snapshot();
    const started = Date.now();
    const run = await runAction(
      'blue-green-switch',
      release({ 'deploy-command': 'sleep 30', 'command-timeout': '1s' }),
    );
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(failure(run)).toContain(
      'deploy-command failed on this machine for green (version 2.0.0): it did not finish',
    );
    expect(failure(run)).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(await snapshot()).toEqual(before);
  });

  it('stops deploy-command when the job is cancelled, and moves no traffic', async () => {
    const before = await snapshot();
    const pids = path.join(dir.path, 'pids');
    // env execs the script, so its parent is the action's process; exec makes the sleep the script itself.
    const slow = await script('deploy-slow.sh', `printf '%s %s\\n' "$PPID" "$$" > '${pids}'\nexec sleep 60\n`);
    const started = Date.now();
    const running = runAction('blue-green-switch', release({ 'deploy-command': slow }));
    while (!existsSync(pids) || !(await readFile(pids, 'utf8')).includes('\n'))
      await new Promise((r) => setTimeout(r, 50));
    const [action, command] = (await readFile(pids, 'utf8')).trim().split(' ').map(Number);
    process.kill(action!, 'SIGTERM'); // what the runner sends a cancelled job
    const run = await running;
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.code).toBe(1);
    expect(failure(run)).toContain(
      'deploy-command failed on this machine for green (version 2.0.0): the run was cancelled',
    );
    expect(failure(run)).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(() => process.kill(command!, 0)).toThrow(); // the command is gone
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to deploy to a colour that has traffic, running nothing', async () => {
    const before = await snapshot();
    const run = await runAction('blue-green-switch', release({ to: 'blue' }));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('blue has traffic (blue 100%): a release readies only the idle colour');
    expect(await lines(deployLog)).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('releases again the other way: the old colour is the idle one now', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0);
    const second = await runAction(
      'blue-green-switch',
      release({ version: '2.0.0', 'verify-expect': 'blue 2.0.0', 'deploy-command': deployScript }),
    );
    expect(failure(second)).toBe('');
    expect(await lines(deployLog)).toEqual([`green|2.0.0|${green.server}|--pull`, `blue|2.0.0|${blue.server}|`]);
    expect(second.outputs).toMatchObject({ live: 'blue', previous: 'green' });
  });
});

describe('switching back after a release', () => {
  it('rolls back from a new colour that died, not counting what the configuration being replaced still sent it', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0);
    await green.stop(); // the new version crashes under real traffic
    const run = await runAction('blue-green-switch', inputs({ action: 'rollback' }));
    expect(failure(run)).toBe('');
    expect(run.outputs).toMatchObject({ live: 'blue', previous: 'green' });
    expect(await sampleColours(`${nginx.url}/`, 40)).toEqual({ blue: 40 });
    expect(run.stdout).toMatch(/step 1\/1: blue 100%: passed: \d+ verify request\(s\), 0 failed/);
  });

  it('still fails a rollback when verify-url never answers 2xx, and puts traffic back', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0);
    const run = await runAction(
      'blue-green-switch',
      inputs({ action: 'rollback', 'verify-url': 'http://127.0.0.1:1/' }),
    );
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('verify-url did not answer 2xx 3 times in a row within 10s of the reload');
    expect(failure(run)).toContain('Reverted: traffic is back on green 100%');
    // The revert's reload reaches every nginx worker within moments (the run does not wait for it).
    let traffic = await sampleColours(`${nginx.url}/`, 20);
    for (let i = 0; i < 50 && traffic.blue; i++) {
      await new Promise((r) => setTimeout(r, 100));
      traffic = await sampleColours(`${nginx.url}/`, 20);
    }
    expect(traffic).toEqual({ green: 20 });
  }, 60_000);
});

describe('rollback after a failed release', () => {
  it('refuses to roll back to a colour a failed release deployed to, since it no longer runs the old version', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0); // green 2.0.0 live, blue previous
    // The next release deploys 3.0.0 to blue, which fails its checks (they expect 2.0.0): no traffic moves.
    const failed = await runAction('blue-green-switch', release({ version: '3.0.0', 'verify-expect': 'blue 3.0.0' }));
    expect(failed.code).toBe(1);
    const record = JSON.parse(await readFile(`${nginx.upstreamFile}.deployed`, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ colour: 'blue', version: '3.0.0', ok: false });
    const upstream = await nginx.readUpstream();

    const rollback = await runAction('blue-green-switch', inputs({ action: 'rollback' }));
    expect(rollback.code).toBe(1);
    expect(failure(rollback)).toMatch(
      /blue was deployed again at \S+ \(version 3\.0\.0\), after it was last live, and that release failed before its switch: .*Nothing was changed: traffic stays on green 100%/,
    );
    expect(await nginx.readUpstream()).toBe(upstream);
    expect(await sampleColours(`${nginx.url}/`, 20)).toEqual({ green: 20 });

    // A release that succeeds makes blue live again; green, left with 2.0.0, is a rollback target again.
    const good = await runAction(
      'blue-green-switch',
      release({ 'smoke-checks': '', 'smoke-timeout': '', 'verify-expect': 'blue 3.0.0', version: '3.0.0' }),
    );
    expect(failure(good)).toBe('');
    const back = await runAction('blue-green-switch', inputs({ action: 'rollback' }));
    expect(failure(back)).toBe('');
    expect(back.outputs).toMatchObject({ live: 'green' });
  });
});

describe('blue-green-switch action retire', () => {
  const retire = (extra: Record<string, string> = {}) =>
    inputs({ action: 'retire', 'retire-command': retireScript, 'retire-after': '1h', ...extra });
  const clean = (extra: Record<string, string>) => {
    const out = { ...extra };
    for (const k of ['bake-time', 'health-successes', 'health-timeout', 'verify-url']) delete out[k];
    return out;
  };

  it('refuses the old colour within its hold, then stops it once the hold has passed, once', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0);
    const upstream = await nginx.readUpstream();

    const early = await runAction('blue-green-switch', clean(retire()));
    expect(early.code).toBe(1);
    expect(failure(early)).toMatch(
      /blue is held for 1h\S* after the switch to green at \S+: \S+ have passed, it can be retired from \S+\. Nothing was stopped/,
    );
    expect(await lines(retireLog)).toEqual([]);
    expect(early.outputs).toMatchObject({ live: 'green', retired: '' });

    // On a schedule, a colour still within its hold is not a failure.
    const scheduled = await runAction('blue-green-switch', clean(retire({ 'skip-if-held': 'true' })));
    expect(scheduled.code).toBe(0);
    expect(scheduled.stdout).toContain('Nothing was stopped (skip-if-held)');
    expect(await lines(retireLog)).toEqual([]);

    await new Promise((r) => setTimeout(r, 1100));
    const due = await runAction('blue-green-switch', clean(retire({ 'retire-after': '1s' })));
    expect(failure(due)).toBe('');
    expect(due.code).toBe(0);
    expect(due.outputs).toMatchObject({ live: 'green', retired: 'blue' });
    expect(await lines(retireLog)).toEqual([`blue|${blue.server}|unset`]);
    expect(existsSync(blue.versionFile)).toBe(false); // the old colour is stopped
    expect(await nginx.readUpstream()).toBe(upstream); // traffic untouched
    expect(await sampleColours(`${nginx.url}/`, 20)).toEqual({ green: 20 });
    expect(due.summary).toContain('Retired blue');
    const record = JSON.parse(await readFile(`${nginx.upstreamFile}.retired`, 'utf8')) as Record<string, string>;
    expect(record).toMatchObject({ colour: 'blue', idleSince: due.outputs['switched-at'] });

    // A later run does not stop it again.
    const again = await runAction('blue-green-switch', clean(retire({ 'retire-after': '1s' })));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('blue was retired already');
    expect(again.outputs.retired).toBe('');
    expect(await lines(retireLog)).toHaveLength(1);
  });

  it('stops retire-command when the job is cancelled, recording nothing as retired', async () => {
    expect((await runAction('blue-green-switch', release())).code).toBe(0);
    const pids = path.join(dir.path, 'retire-pids');
    const slow = await script('retire-slow.sh', `printf '%s %s\\n' "$PPID" "$$" > '${pids}'\nexec sleep 60\n`);
    const running = runAction('blue-green-switch', clean(retire({ 'retire-command': slow, 'retire-after': '0s' })));
    while (!existsSync(pids) || !(await readFile(pids, 'utf8')).includes('\n'))
      await new Promise((r) => setTimeout(r, 50));
    const [action, command] = (await readFile(pids, 'utf8')).trim().split(' ').map(Number);
    process.kill(action!, 'SIGTERM');
    const run = await running;
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('retire-command failed on this machine for blue: the run was cancelled');
    expect(() => process.kill(command!, 0)).toThrow();
    expect(existsSync(`${nginx.upstreamFile}.retired`)).toBe(false);
    expect(run.outputs.retired).toBe('');
  });

  it('refuses while a switch is under way (both colours have traffic), even with skip-if-held', async () => {
    // What a runner killed at step 1 of 50,100 leaves behind: 50/50 recorded and live, long ago.
    const half: TrafficState = {
      live: 'blue',
      target: 'green',
      shares: { blue: 50, green: 50 },
      servers: { blue: [blue.server], green: [green.server] },
      time: new Date(Date.now() - 86_400_000).toISOString(),
      source: 'header',
    };
    await writeFile(
      nginx.upstreamFile,
      formatUpstream({ name: 'app', state: half, keepalive: 8, maxFails: 1, failTimeout: '10s' }),
    );
    expect((await runProcess('sh', ['-c', nginx.reloadCommand])).code).toBe(0);
    const run = await runAction('blue-green-switch', clean(retire({ 'retire-after': '0s', 'skip-if-held': 'true' })));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('a switch to green is under way');
    expect(failure(run)).toContain('Nothing was stopped');
    expect(await lines(retireLog)).toEqual([]);
  });

  it('refuses a hand-written upstream, whose switch time is unknown', async () => {
    const run = await runAction('blue-green-switch', clean(retire({ 'retire-after': '0s' })));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain("green's hold cannot be measured");
    expect(await lines(retireLog)).toEqual([]);
  });
});

describe('blue-green-switch release inputs', () => {
  it.each<[string, Record<string, string>, string]>([
    ['deploy-command without version', { version: '' }, "input 'version' is required with 'deploy-command'"],
    ['a version with shell text', { version: '2.0.0;touch /tmp/x' }, "input 'version': expected a release version"],
    ['a deploy-command with a pipe', { 'deploy-command': 'deploy.sh | tee log' }, "input 'deploy-command'"],
    [
      'an absolute smoke-check URL',
      { 'smoke-checks': '- url: https://example.com/health' },
      "input 'smoke-checks[1].url'",
    ],
    ['smoke-checks that are not a list', { 'smoke-checks': 'url: /health' }, "input 'smoke-checks'"],
    [
      'deploy-command with rollback',
      { action: 'rollback', to: '' },
      "input 'deploy-command' goes with action 'switch'",
    ],
    ['retire-command with switch', { 'retire-command': 'true' }, "input 'retire-command' goes with action 'retire'"],
    ['a command-timeout in words', { 'command-timeout': 'long' }, "input 'command-timeout'"],
    [
      'smoke-timeout without smoke-checks',
      { 'smoke-checks': '', 'smoke-timeout': '1m' },
      "input 'smoke-timeout' needs 'smoke-checks'",
    ],
  ])('refuses %s, changing and running nothing', async (_what, extra, message) => {
    const before = await snapshot();
    const run = await runAction('blue-green-switch', release(extra));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain(`blue-green-switch failed: ${message}`);
    expect(run.stdout).not.toContain('internal error');
    expect(await lines(deployLog)).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses action retire without retire-command', async () => {
    const run = await runAction('blue-green-switch', { ...inputs(), action: 'retire' });
    expect(run.code).toBe(1);
    expect(failure(run)).toContain("input 'retire-command' is required with action 'retire'");
  });
});

describe('a release over ssh', () => {
  const ssh = () => ({
    'ssh-host': sshd.host,
    'ssh-port': String(sshd.port),
    'ssh-user': sshd.user,
    'ssh-key': sshd.clientKey,
    'ssh-known-hosts': sshd.knownHosts,
    'health-timeout': '20s',
  });

  let sshd: SshServer;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('moves no traffic when the idle server does not answer through its tunnel', async () => {
    const before = await snapshot();
    await green.stop();
    const run = await runAction('blue-green-switch', release(ssh()));
    expect(run.code).toBe(1);
    const error = failure(run);
    expect(error).toContain('the smoke checks of green failed before any traffic moved');
    expect(error).toContain(`${green.server} health`);
    expect(error).toContain('Nothing was changed: traffic stays on blue 100%');
    expect(await snapshot()).toEqual(before);
  });

  it('runs deploy-command on the host with the version in its environment, quoted whole', async () => {
    const run = await runAction(
      'blue-green-switch',
      release({
        version: '2.0.0',
        // An argument with spaces and shell characters reaches the script as one literal argument.
        'deploy-command': `${deployScript} 'a b;$(touch ${dir.path}/pwned)'`,
        'ssh-host': sshd.host,
        'ssh-port': String(sshd.port),
        'ssh-user': sshd.user,
        'ssh-key': sshd.clientKey,
        'ssh-known-hosts': sshd.knownHosts,
        'health-timeout': '20s',
      }),
    );
    expect(failure(run)).toBe('');
    expect(await lines(deployLog)).toEqual([`green|2.0.0|${green.server}|a b;$(touch ${dir.path}/pwned)`]);
    expect(existsSync(path.join(dir.path, 'pwned'))).toBe(false);
    expect(run.stdout).toContain(`deploy-command for green on ${sshd.user}@${sshd.host}`);
    // The idle smoke checks go through a tunnel from the host, named by the server as the host sees it.
    expect(run.stdout).toContain(`(through ssh tunnels from ${sshd.user}@${sshd.host}`);
    expect(run.stdout).toContain('smoke checks of green: 2/2 passed');
    expect(run.summary).toContain('2/2 passed');
    expect(run.outputs).toMatchObject({ live: 'green', deployed: '2.0.0' });
  });
});
