import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, emptyOutputs } from '../harness/action.js';
import { runProcess } from '../harness/process.js';
import { tempDir } from '../harness/tmp.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let file: string;
let key: string;
const ORIGINAL = 'upstream app {\n    server 127.0.0.1:9001;\n}\n';

beforeAll(async () => {
  dir = await tempDir('opskit-bg-inputs-');
  file = path.join(dir.path, 'app-upstream.conf');
  await writeFile(file, ORIGINAL);
  const keyFile = path.join(dir.path, 'id_ed25519');
  const r = await runProcess('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  expect(r.code).toBe(0);
  key = await readFile(keyFile, 'utf8');
});
afterAll(async () => {
  await dir.cleanup();
});

const base = () => ({
  'upstream-file': file,
  blue: '127.0.0.1:9001',
  green: '127.0.0.1:9002',
  // Would fail loudly if the action ever got as far as running them.
  'nginx-test-command': '/nonexistent/nginx -t',
  'nginx-reload-command': '/nonexistent/nginx -s reload',
});
const KNOWN = '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2yZ0c0Jw0b8m3mJ0m7y0E0Z3p2v3a8O7l9x2Y6k0aQ';

// [what is wrong, inputs over the base, the input the message names, a fragment of what is accepted]
const cases: [string, Record<string, string>, string, string][] = [
  ['a colour with no servers', { blue: '' }, "input 'blue' is required", 'host:port, one per line'],
  ['green missing for a rollback', { action: 'rollback', green: '' }, "input 'green' is required", 'host:port'],
  ['steps not reaching 100', { steps: '10,50' }, "input 'steps'", 'the last must be 100'],
  ['steps going down', { steps: '50,10,100' }, "input 'steps'", 'each above the one before'],
  ['a step of 0', { steps: '0,100' }, "input 'steps'", 'from 1 to 100'],
  ['steps in words', { steps: 'ten,fifty,all' }, "input 'steps'", 'like 10,50,100'],
  [
    'ssh-host without ssh-known-hosts',
    { 'ssh-host': 'lb1.example.com', 'ssh-user': 'deploy', 'ssh-key': '${KEY}' },
    "input 'ssh-known-hosts' is required with 'ssh-host'",
    'ssh-keyscan',
  ],
  [
    'ssh-host without ssh-user',
    { 'ssh-host': 'lb1.example.com', 'ssh-known-hosts': KNOWN },
    "input 'ssh-user' is required",
    'user to log in as',
  ],
  ['ssh-key without ssh-host', { 'ssh-key': '${KEY}' }, "input 'ssh-key' needs 'ssh-host'", 'the host nginx runs on'],
  [
    'an ssh-key that is not a private key',
    { 'ssh-host': '127.0.0.1', 'ssh-user': 'root', 'ssh-known-hosts': KNOWN, 'ssh-key': 'hunter2-not-a-key-at-all' },
    "input 'ssh-key'",
    'OpenSSH or PEM',
  ],
  [
    'ssh-known-hosts that is not known_hosts',
    { 'ssh-host': '127.0.0.1', 'ssh-user': 'root', 'ssh-known-hosts': 'trust me', 'ssh-key': '${KEY}' },
    "input 'ssh-known-hosts'",
    'ssh-keyscan',
  ],
  [
    'ssh-host with a user in it',
    { 'ssh-host': 'root@lb1', 'ssh-user': 'root', 'ssh-known-hosts': KNOWN },
    "input 'ssh-host'",
    'use ssh-user and ssh-port',
  ],
  [
    'an ssh-port out of range',
    { 'ssh-host': 'lb1', 'ssh-user': 'root', 'ssh-known-hosts': KNOWN, 'ssh-port': '70000' },
    "input 'ssh-port'",
    'from 1 to 65535',
  ],
  ['an unknown action', { action: 'deploy' }, "input 'action'", 'one of switch, rollback, status'],
  ['an unknown provider', { provider: 'haproxy' }, "input 'provider'", 'one of nginx'],
  ['an unknown colour in to', { to: 'purple' }, "input 'to'", 'one of idle, blue, green'],
  [
    'to with a rollback',
    { action: 'rollback', to: 'green' },
    "input 'to' does not go with action 'rollback'",
    'use action: switch',
  ],
  ['a bake-time in words', { 'bake-time': 'a while' }, "input 'bake-time'", 'duration like 30s'],
  ['a unitless health-timeout', { 'health-timeout': '120' }, "input 'health-timeout'", 'duration'],
  ['a zero health-timeout', { 'health-timeout': '0s' }, "input 'health-timeout'", 'above zero'],
  ['health-successes of 0', { 'health-successes': '0' }, "input 'health-successes'", 'from 1 to 100'],
  ['a health-path without a slash', { 'health-path': 'health' }, "input 'health-path'", 'starting with /'],
  ['a negative error-budget', { 'error-budget': '-1' }, "input 'error-budget'", 'whole number'],
  [
    'a relative upstream-file',
    { 'upstream-file': 'conf.d/app-upstream.conf' },
    "input 'upstream-file'",
    'absolute file path',
  ],
  ['no upstream-file', { 'upstream-file': '' }, "input 'upstream-file' is required", 'not supplied'],
  ['an upstream-name with a space', { 'upstream-name': 'my app' }, "input 'upstream-name'", 'nginx upstream name'],
  ['a server without a port', { green: 'green.internal' }, "input 'green'", 'host:port'],
  ['a server with a port out of range', { green: '10.0.0.5:99999' }, "input 'green'", 'host:port'],
  [
    'a server trying to inject nginx config',
    { green: '10.0.0.5:80; include /etc/passwd' },
    "input 'green'",
    'host:port',
  ],
  [
    'a server in both colours',
    { green: '127.0.0.1:9001' },
    "inputs 'blue' and 'green' both list 127.0.0.1:9001",
    'one colour',
  ],
  [
    'a server listed twice',
    { green: '127.0.0.1:9002\n127.0.0.1:9002' },
    "input 'green' lists 127.0.0.1:9002 twice",
    'twice',
  ],
  [
    'a reload command that needs a shell',
    { 'nginx-reload-command': 'nginx -t && nginx -s reload' },
    "input 'nginx-reload-command'",
    'no shell',
  ],
  [
    'a test command with $VARS',
    { 'nginx-test-command': 'nginx -c $CONF -t' },
    "input 'nginx-test-command'",
    'no shell',
  ],
  [
    'an unclosed quote in a command',
    { 'nginx-test-command': "nginx -g 'pid /run/x.pid; -t" },
    "input 'nginx-test-command'",
    'not closed',
  ],
  [
    'verify-expect without verify-url',
    { 'verify-expect': 'v2' },
    "input 'verify-expect' needs 'verify-url'",
    'checked against',
  ],
  [
    'an invalid /regex/ in verify-expect',
    { 'verify-url': 'http://127.0.0.1:1/', 'verify-expect': '/(v2/' },
    "input 'verify-expect'",
    'regular expression',
  ],
  ['a verify-url that is not http', { 'verify-url': 'ftp://lb.example.com/' }, "input 'verify-url'", 'http://'],
  ['keepalive in words', { keepalive: 'many' }, "input 'keepalive'", 'whole number'],
  ['sudo as a word', { sudo: 'please' }, "input 'sudo'", 'true or false'],
];

describe('blue-green-switch rejects bad input before doing anything', () => {
  it.each(cases)('%s', async (_what, raw, names, accepted) => {
    const inputs = Object.fromEntries(
      Object.entries({ ...base(), ...raw }).map(([k, v]) => [k, v.replaceAll('${KEY}', key)]),
    );
    const run = await runAction('blue-green-switch', inputs);
    expect(run.code).toBe(1);
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(error).toContain(`::error::blue-green-switch failed: ${names}`);
    expect(error.replace(/%0A/g, '\n').replace(/%25/g, '%')).toContain(accepted);
    expect(run.stdout).not.toMatch(/at .*index\.js:\d+/); // no stack trace
    expect(run.stdout).not.toContain('internal error');
    expect(await readFile(file, 'utf8')).toBe(ORIGINAL); // the file untouched
    expect(readdirSync(dir.path).sort()).toEqual(['app-upstream.conf', 'id_ed25519', 'id_ed25519.pub']); // no lock, no .previous
    expect(run.outputs).toEqual(emptyOutputs('blue-green-switch'));
    // The private key never shows, whole or line by line.
    for (const line of key.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))) {
      expect(run.visible).not.toContain(line);
    }
    if (inputs['ssh-key'] === key) expect(run.masked.length).toBeGreaterThan(1);
    expect(run.visible).not.toContain('hunter2-not-a-key-at-all');
  });

  it('has at least ten cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  it('reads nothing from a host when only the status is asked and upstream-file is missing', async () => {
    const run = await runAction('blue-green-switch', {
      action: 'status',
      'upstream-file': path.join(dir.path, 'none.conf'),
    });
    expect(run.code).toBe(0);
    expect(run.outputs).toEqual(emptyOutputs('blue-green-switch'));
    expect(run.stdout).toContain('::warning::');
    expect(existsSync(path.join(dir.path, 'none.conf'))).toBe(false);
  });
});
