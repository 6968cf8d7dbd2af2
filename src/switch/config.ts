/** Turns the blue-green-switch inputs into typed options, rejecting anything that could not be honoured. */
import { ConfigurationError, inputError } from '../errors.js';
import { type Inputs, parseInteger, parseTextMatcher } from '../inputs.js';
import { parseCommandLine } from '../nginx/command.js';
import { checkSecrets, parseCheckList } from '../smoke/config.js';
import type { SmokeOptions } from '../smoke/types.js';
import type { SshOptions } from '../ssh/ssh.js';
import { IDLE_BASE, type CommandSpec } from './release.js';
import { COLOURS, type Colour, type HealthOptions, type SwitchOptions, type VerifyOptions } from './types.js';

export const ACTIONS = ['switch', 'rollback', 'status', 'retire'] as const;
export const PROVIDERS = ['nginx'] as const;

export interface BlueGreenConfig {
  action: (typeof ACTIONS)[number];
  provider: (typeof PROVIDERS)[number];
  nginx: {
    file: string;
    upstreamName: string;
    keepalive: number;
    testCommand: string[];
    reloadCommand: string[];
  };
  servers: Record<Colour, string[]>;
  to: 'idle' | Colour;
  steps: number[];
  bakeMs: number;
  health: HealthOptions;
  verify?: VerifyOptions;
  errorBudget: number;
  sudo: boolean;
  ssh?: Omit<SshOptions, 'sudo' | 'tempDir'>;
  /** Values to mask: the private key and each of its lines. */
  secrets: string[];
  /** A release (action switch): deploy-command with the version, then smoke checks of the idle colour. */
  release?: { version?: string; deploy?: CommandSpec; smoke?: SmokeOptions };
  /** action retire: the command that stops the colour that is not live, and its hold after the switch. */
  retire?: { command: CommandSpec; holdMs: number; skipIfHeld: boolean };
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
const KEY_TYPES = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s/;

export const HEALTH_INTERVAL_MS = 1000;
export const VERIFY_INTERVAL_MS = 250;
export const VERIFY_TIMEOUT_MS = 5000;
export const SETTLE_MS = 10_000;

/** The switch's options from the parsed inputs (all but `action`); `holder` names who takes the lock. */
export function switchOptions(config: BlueGreenConfig, holder: string): Omit<SwitchOptions, 'action'> {
  return {
    to: config.to,
    steps: config.steps,
    bakeMs: config.bakeMs,
    servers: config.servers,
    health: config.health,
    verify: config.verify,
    errorBudget: config.errorBudget,
    settleMs: SETTLE_MS,
    holder,
  };
}

export function parseBlueGreenConfig(inputs: Inputs): BlueGreenConfig {
  const action = inputs.enum('action', ACTIONS, 'switch');
  const provider = inputs.enum('provider', PROVIDERS, 'nginx');
  const file = parseAbsolutePath('upstream-file', inputs.required('upstream-file'));
  const upstreamName = inputs.string('upstream-name', 'app');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(upstreamName))
    throw inputError('upstream-name', 'an nginx upstream name (letters, digits, _ . -)', upstreamName);

  const moving = action !== 'status';
  const servers = { blue: parseServers(inputs, 'blue', moving), green: parseServers(inputs, 'green', moving) };
  for (const s of servers.blue) {
    if (servers.green.includes(s))
      throw new ConfigurationError(`inputs 'blue' and 'green' both list ${s}; a server belongs to one colour`);
  }

  const to = inputs.enum('to', ['idle', ...COLOURS] as const, 'idle');
  if (action === 'rollback' && to !== 'idle') {
    throw new ConfigurationError(
      `input 'to' does not go with action 'rollback', which returns to the colour recorded as previous; ` +
        `remove 'to', or use action: switch with to: ${to}`,
    );
  }
  const steps = parseSteps(inputs.string('steps', '100'));
  const bakeMs = inputs.duration('bake-time', '30s');

  const healthPath = inputs.string('health-path', '/health');
  if (!/^\/[^\s#]*$/.test(healthPath))
    throw inputError('health-path', 'a path starting with /, like /health', healthPath);
  const health: HealthOptions = {
    path: healthPath,
    successes: inputs.integer('health-successes', 3, 1, 100),
    timeoutMs: inputs.duration('health-timeout', '2m'),
    intervalMs: HEALTH_INTERVAL_MS,
  };
  if (health.timeoutMs <= 0)
    throw inputError('health-timeout', 'a duration above zero, like 2m', inputs.raw('health-timeout'));

  const verifyUrl = inputs.url('verify-url');
  const expectRaw = inputs.raw('verify-expect');
  if (expectRaw && !verifyUrl)
    throw new ConfigurationError("input 'verify-expect' needs 'verify-url' (the URL it is checked against)");
  const verify: VerifyOptions | undefined = verifyUrl
    ? {
        url: verifyUrl,
        expect: expectRaw ? parseTextMatcher('verify-expect', expectRaw) : undefined,
        timeoutMs: VERIFY_TIMEOUT_MS,
        intervalMs: VERIFY_INTERVAL_MS,
      }
    : undefined;
  const errorBudget = inputs.integer('error-budget', 0, 0, 1_000_000);

  const sudo = inputs.boolean('sudo', false);
  const { ssh, secrets } = parseSsh(inputs);
  const testCommand = parseCommandLine('nginx-test-command', inputs.string('nginx-test-command', 'nginx -t'));
  const reloadCommand = parseCommandLine(
    'nginx-reload-command',
    inputs.string('nginx-reload-command', 'nginx -s reload'),
  );
  const keepalive = inputs.integer('keepalive', 32, 0, 10_000);
  const { release, retire } = parseReleaseInputs(inputs, action);

  return {
    action,
    provider,
    nginx: { file, upstreamName, keepalive, testCommand, reloadCommand },
    servers,
    to,
    steps,
    bakeMs,
    health,
    verify,
    errorBudget,
    sudo,
    ssh,
    secrets,
    release,
    retire,
  };
}

/** The inputs each action takes beyond the switch's own: a release's for switch, retire's for retire. */
const RELEASE_INPUTS = ['deploy-command', 'version', 'smoke-checks', 'smoke-headers', 'smoke-timeout'] as const;
const RETIRE_INPUTS = ['retire-command', 'retire-after', 'skip-if-held'] as const;

/** A version as image tags, git refs and semver write it: no spaces, no control characters, at most 200 characters. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+:@/=-]{0,199}$/;

function parseReleaseInputs(
  inputs: Inputs,
  action: BlueGreenConfig['action'],
): Pick<BlueGreenConfig, 'release' | 'retire'> {
  const foreign = (names: readonly string[], goesWith: string) => {
    for (const name of names)
      if (inputs.has(name))
        throw new ConfigurationError(`input '${name}' goes with ${goesWith}, not with action '${action}'`);
  };
  if (action !== 'switch') foreign(RELEASE_INPUTS, "action 'switch' (a release readies the idle colour)");
  if (action !== 'retire') foreign(RETIRE_INPUTS, "action 'retire' (a separate, later run)");
  const commandTimeoutMs = inputs.duration('command-timeout', '10m');
  if (commandTimeoutMs <= 0)
    throw inputError('command-timeout', 'a duration above zero, like 10m', inputs.raw('command-timeout'));

  if (action === 'retire') {
    if (!inputs.has('retire-command')) {
      throw new ConfigurationError(
        "input 'retire-command' is required with action 'retire': the command that stops the old colour " +
          '(it gets OPSKIT_COLOUR and OPSKIT_SERVERS), e.g. docker compose -p app-blue down',
      );
    }
    return {
      retire: {
        command: command('retire-command', inputs.raw('retire-command'), commandTimeoutMs),
        holdMs: inputs.duration('retire-after', '1h'),
        skipIfHeld: inputs.boolean('skip-if-held', false),
      },
    };
  }
  if (action !== 'switch') return {};

  const deploy = inputs.has('deploy-command')
    ? command('deploy-command', inputs.raw('deploy-command'), commandTimeoutMs)
    : undefined;
  const version = inputs.raw('version') || undefined;
  if (version !== undefined && !VERSION.test(version))
    throw inputError(
      'version',
      'a release version like 1.4.2, v1.4.2 or an image tag (no spaces, at most 200 characters)',
      version,
    );
  if (deploy && version === undefined) {
    throw new ConfigurationError(
      "input 'version' is required with 'deploy-command': the release the idle colour is deployed with (OPSKIT_VERSION)",
    );
  }
  if (version !== undefined && !deploy)
    throw new ConfigurationError("input 'version' needs 'deploy-command' (the command that deploys it)");

  let smoke: SmokeOptions | undefined;
  const rawChecks = inputs.yaml('smoke-checks');
  if (rawChecks !== undefined) {
    const headers = inputs.stringMap('smoke-headers');
    const checks = parseCheckList('smoke-checks', rawChecks, new URL(IDLE_BASE), headers);
    checks.forEach((c, i) => {
      if (c.url.origin !== new URL(IDLE_BASE).origin)
        throw inputError(
          `smoke-checks[${i + 1}].url`,
          'a path like /health: the checks are asked of each server of the idle colour directly',
          c.url.toString(),
        );
    });
    smoke = {
      checks,
      timeoutMs: inputs.duration('smoke-timeout', '2m'),
      requestTimeoutMs: 10_000,
      retryIntervalMs: 1000,
      maxRetryIntervalMs: 5000,
      consecutiveSuccesses: 1,
      samples: 0,
      concurrency: 10,
      secrets: checkSecrets(checks, headers),
    };
    if (smoke.timeoutMs <= 0)
      throw inputError('smoke-timeout', 'a duration above zero, like 2m', inputs.raw('smoke-timeout'));
  } else {
    for (const name of ['smoke-headers', 'smoke-timeout'])
      if (inputs.has(name)) throw new ConfigurationError(`input '${name}' needs 'smoke-checks' (the checks it is for)`);
  }
  return deploy || smoke ? { release: { version, deploy, smoke } } : {};
}

function command(input: CommandSpec['input'], raw: string, timeoutMs: number): CommandSpec {
  const argv = parseCommandLine(input, raw);
  if (argv[0]!.startsWith('-') || argv[0]!.includes('='))
    throw inputError(
      input,
      'a command and its arguments, like docker compose up -d (no leading option or VAR=value)',
      raw,
    );
  return { input, argv, timeoutMs };
}

function parseAbsolutePath(input: string, raw: string): string {
  // eslint-disable-next-line no-control-regex
  if (!raw.startsWith('/') || raw.endsWith('/') || /[\x00-\x1f\x7f]/.test(raw) || /(^|\/)\.\.(\/|$)/.test(raw))
    throw inputError(input, 'an absolute file path, like /etc/nginx/conf.d/app-upstream.conf', raw);
  return raw;
}

/** `host:port` per line (or comma separated): a hostname, an IPv4 address or a [bracketed] IPv6 address. */
export function parseServers(inputs: Inputs, colour: Colour, required: boolean): string[] {
  const list = inputs.list(colour);
  if (list.length === 0 && required) {
    throw new ConfigurationError(
      `input '${colour}' is required but was not supplied: list the ${colour} servers as host:port, one per line`,
    );
  }
  const seen = new Set<string>();
  for (const server of list) {
    if (!isServer(server))
      throw inputError(colour, 'servers as host:port, one per line (like 10.0.0.5:8080 or [fd00::5]:8080)', server);
    if (seen.has(server)) throw new ConfigurationError(`input '${colour}' lists ${server} twice`);
    seen.add(server);
  }
  return list;
}

function isServer(text: string): boolean {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return false;
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  if (host.startsWith('[')) return IPV6.test(host.slice(1, -1));
  return IPV4.test(host) || HOSTNAME.test(host);
}

/** `10,50,100`: whole percentages from 1 to 100, rising, ending at 100. */
export function parseSteps(raw: string): number[] {
  const expected = 'rising percentages of traffic for the target, ending at 100, like 10,50,100';
  const parts = raw.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) throw inputError('steps', expected, raw);
  const steps = parts.map((p) => {
    if (!/^\d+%?$/.test(p)) throw inputError('steps', expected, raw);
    return parseInteger('steps', p.replace('%', ''), 1, 100);
  });
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) throw inputError('steps', `${expected} (each above the one before)`, raw);
  }
  if (steps[steps.length - 1] !== 100) throw inputError('steps', `${expected} (the last must be 100)`, raw);
  return steps;
}

/** The ssh key and each of its lines: mask them before anything else is parsed or logged. */
export function sshKeySecrets(raw: string): string[] {
  const key = normaliseKey(raw);
  return key ? [raw, key, key.trim(), ...keyLines(key)] : [];
}

function parseSsh(inputs: Inputs): { ssh?: BlueGreenConfig['ssh']; secrets: string[] } {
  const key = normaliseKey(inputs.raw('ssh-key'));
  const secrets = sshKeySecrets(inputs.raw('ssh-key'));
  const host = inputs.raw('ssh-host');
  if (!host) {
    for (const name of ['ssh-key', 'ssh-known-hosts', 'ssh-user']) {
      if (inputs.has(name)) throw new ConfigurationError(`input '${name}' needs 'ssh-host' (the host nginx runs on)`);
    }
    return { secrets };
  }
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (!(IPV4.test(bare) || HOSTNAME.test(bare) || (IPV6.test(bare) && bare.includes(':'))))
    throw inputError('ssh-host', 'a host name or IP address (no user@ or :port: use ssh-user and ssh-port)', host);
  const port = inputs.integer('ssh-port', 22, 1, 65535);
  const user = inputs.raw('ssh-user');
  if (!user) throw new ConfigurationError("input 'ssh-user' is required with 'ssh-host': the user to log in as");
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(user)) throw inputError('ssh-user', 'a user name', user);
  const knownHostsRaw = inputs.raw('ssh-known-hosts');
  if (!knownHostsRaw) {
    throw new ConfigurationError(
      `input 'ssh-known-hosts' is required with 'ssh-host': the host's public key as known_hosts lines, ` +
        `e.g. the output of ssh-keyscan -p ${port} ${bare} (checked on a machine you trust); the host key is never trusted on first use`,
    );
  }
  const knownHosts = parseKnownHosts(knownHostsRaw, bare, port);
  if (
    key !== undefined &&
    !/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----\n$/.test(key)
  ) {
    throw new ConfigurationError(
      "input 'ssh-key': expected a private key in OpenSSH or PEM format (-----BEGIN OPENSSH PRIVATE KEY----- … -----END …), without a passphrase",
    );
  }
  return { ssh: { host: bare, user, port, privateKey: key, knownHosts }, secrets };
}

/** Secrets pasted into settings often lose the final newline or gain \r; ssh rejects such a key. */
function normaliseKey(raw: string): string | undefined {
  if (!raw) return undefined;
  return raw.replace(/\r\n?/g, '\n').trim() + '\n';
}

/** Each line of a key that is secret on its own (the base64 lines), so no line leaks in a multi-line log. */
function keyLines(key: string): string[] {
  return key
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 8 && !l.startsWith('-----'));
}

/**
 * known_hosts lines. A line that is only a key (`ssh-ed25519 AAAA…`, as copied from a host's .pub file) is
 * given the host pattern, `host` or `[host]:port`, so that ssh matches it.
 */
export function parseKnownHosts(raw: string, host: string, port: number): string {
  const pattern = port === 22 ? host : `[${host}]:${port}`;
  const lines = raw
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => (KEY_TYPES.test(l) ? `${pattern} ${l}` : l));
  const valid = lines.every(
    (l) => /^\S+\s+(ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/]+=*(\s.*)?$/.test(l) || l.startsWith('@'),
  );
  if (lines.length === 0 || !valid) {
    throw inputError(
      'ssh-known-hosts',
      `known_hosts lines like '${pattern} ssh-ed25519 AAAA…' (from ssh-keyscan -p ${port} ${host})`,
    );
  }
  return lines.join('\n') + '\n';
}
