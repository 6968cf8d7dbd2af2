/**
 * The upstream file opskit owns: a header that records the state (live, previous, shares, time, run),
 * then one `upstream` block whose servers carry nginx weights for the current shares. A colour at 0% is
 * left out of the block (nginx has no weight 0, and a decommissioned host must not break `nginx -t`); the
 * header still lists its servers so `status` and people can see them.
 */
import { ConfigurationError } from '../errors.js';
import { describeShares } from '../switch/shares.js';
import { COLOURS, type Colour, type Shares, type TrafficState } from '../switch/types.js';

export interface UpstreamSpec {
  name: string;
  state: TrafficState;
  /** Idle keepalive connections to the servers per worker; 0 for none. */
  keepalive: number;
  maxFails: number;
  failTimeout: string;
}

const STATE_LINE = /^# opskit-state: (.*)$/m;

/**
 * nginx weights (≥ 1, smallest whole numbers) that give `share` percent to the target's servers and the rest
 * to the other's, whatever the number of servers on each side: 10% with 1 + 1 servers is 1 and 9; with 2
 * target and 3 other servers, 1 and 6 (2×1 of 2×1 + 3×6 = 10%). A side at 0% gets weight 0 (left out).
 */
export function nginxWeights(
  share: number,
  targetServers: number,
  otherServers: number,
): { target: number; other: number } {
  if (share >= 100) return { target: 1, other: 0 };
  if (share <= 0) return { target: 0, other: 1 };
  const target = share * otherServers;
  const other = (100 - share) * targetServers;
  const g = gcd(target, other);
  return { target: target / g, other: other / g };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Per-colour nginx weight for the state's shares (0 = not in the block). */
export function colourWeights(state: TrafficState): Shares {
  const [a, b] = COLOURS;
  const w = nginxWeights(state.shares[a], state.servers[a].length, state.servers[b].length);
  return { [a]: w.target, [b]: w.other } as Shares;
}

export function formatUpstream(spec: UpstreamSpec): string {
  const { state } = spec;
  const weights = colourWeights(state);
  const oneLine = (s: string | undefined) => (s ?? '').replace(/[\r\n]+/g, ' ');
  const lines = [
    '# Managed by opskit blue-green-switch. Do not edit: the next run replaces this file (the one before it is',
    '# kept beside it as .previous). The state below is what `action: status` reads.',
    state.target
      ? `# live: ${state.live} (switching to ${state.target}), previous: ${state.previous ?? 'none'}, traffic: ${describeShares(state.shares)}`
      : `# live: ${state.live}, previous: ${state.previous ?? 'none'}, traffic: ${describeShares(state.shares)}`,
    `# updated ${oneLine(state.time)}${state.run ? ` by ${oneLine(state.run)}` : ''}`,
    ...COLOURS.map(
      (c) =>
        `# ${c} ${state.shares[c]}%${weights[c] === 0 ? ' (not in the upstream)' : ` (weight ${weights[c]})`}: ${state.servers[c].join(' ') || 'no servers'}`,
    ),
    `# opskit-state: ${JSON.stringify(stateRecord(state))}`,
    '',
    `upstream ${spec.name} {`,
  ];
  for (const c of COLOURS) {
    if (weights[c] === 0) continue;
    for (const server of state.servers[c]) {
      lines.push(
        `    server ${server} weight=${weights[c]} max_fails=${spec.maxFails} fail_timeout=${spec.failTimeout}; # ${c}`,
      );
    }
  }
  if (spec.keepalive > 0) lines.push(`    keepalive ${spec.keepalive};`);
  lines.push('}', '');
  return lines.join('\n');
}

function stateRecord(state: TrafficState) {
  return {
    version: 1,
    live: state.live,
    previous: state.previous ?? null,
    target: state.target ?? null,
    shares: state.shares,
    servers: state.servers,
    time: state.time ?? null,
    run: state.run ?? null,
  };
}

/**
 * The state recorded in an upstream file. A file without opskit's header is read as hand-written: when
 * every server of its `upstream <name>` block belongs to one colour, that colour is live.
 */
export function readUpstreamState(
  text: string,
  file: string,
  name: string,
  servers: Record<Colour, string[]>,
): TrafficState | undefined {
  const line = STATE_LINE.exec(text);
  if (line) return parseStateRecord(line[1]!, file);
  if (!text.trim()) return undefined;
  return inferState(text, file, name, servers);
}

function parseStateRecord(json: string, file: string): TrafficState {
  const damaged = (why: string) =>
    new ConfigurationError(
      `upstream-file ${file}: its opskit-state line is damaged (${why}); restore it from ${file}.previous or remove the file`,
    );
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw damaged('not JSON');
  }
  if (!data || typeof data !== 'object') throw damaged('not an object');
  if (data.version !== 1) throw damaged(`unknown version ${String(data.version)}`);
  const colour = (v: unknown, what: string, optional: boolean): Colour | undefined => {
    if (optional && (v === null || v === undefined)) return undefined;
    if (v === 'blue' || v === 'green') return v;
    throw damaged(`${what} is ${JSON.stringify(v)}`);
  };
  const shares = data.shares as Record<string, unknown> | undefined;
  const servers = data.servers as Record<string, unknown> | undefined;
  const okShares =
    shares &&
    COLOURS.every((c) => Number.isInteger(shares[c]) && (shares[c] as number) >= 0 && (shares[c] as number) <= 100) &&
    COLOURS.reduce((sum, c) => sum + (shares[c] as number), 0) === 100;
  if (!okShares) throw damaged('shares must be two percentages adding up to 100');
  const okServers =
    servers && COLOURS.every((c) => Array.isArray(servers[c]) && (servers[c] as unknown[]).every(isString));
  if (!okServers) throw damaged('servers must list each colour');
  return {
    live: colour(data.live, 'live', false)!,
    previous: colour(data.previous, 'previous', true),
    target: colour(data.target, 'target', true),
    shares: { blue: shares.blue as number, green: shares.green as number },
    servers: { blue: servers.blue as string[], green: servers.green as string[] },
    time: isString(data.time) ? data.time : undefined,
    run: isString(data.run) ? data.run : undefined,
    source: 'header',
  };
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function inferState(
  text: string,
  file: string,
  name: string,
  servers: Record<Colour, string[]>,
): TrafficState | undefined {
  const body = upstreamBlock(stripComments(text), name);
  if (body === undefined) {
    throw new ConfigurationError(
      `upstream-file ${file} has no opskit header and no 'upstream ${name}' block, so which colour is live cannot be told; ` +
        'check upstream-file and upstream-name, or remove the file to start afresh',
    );
  }
  const listed = [...body.matchAll(/(?:^|[;{\s])server\s+([^\s;]+)([^;]*);/g)]
    .filter((m) => !/\b(backup|down)\b/.test(m[2]!))
    .map((m) => m[1]!);
  const owner = (s: string) => COLOURS.find((c) => servers[c].includes(s));
  const colours = new Set(listed.map(owner));
  const [only] = [...colours];
  if (listed.length === 0 || colours.size !== 1 || only === undefined) {
    throw new ConfigurationError(
      `upstream-file ${file} has no opskit header, and the servers of 'upstream ${name}' (${listed.join(', ') || 'none'}) ` +
        'are not all blue servers or all green servers, so which colour is live cannot be told; ' +
        'list them in blue or green, or make the file name one colour only',
    );
  }
  const shares = { blue: 0, green: 0, [only]: 100 } as Shares;
  return { live: only, shares, servers, source: 'inferred' };
}

function stripComments(text: string): string {
  return text.replace(/#[^\n]*/g, '');
}

/** The text between the braces of `upstream <name> { … }` (upstream blocks do not nest). */
function upstreamBlock(text: string, name: string): string | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:^|[\\s;}])upstream\\s+${escaped}\\s*\\{([^}]*)\\}`).exec(text);
  return m?.[1];
}
