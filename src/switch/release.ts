/**
 * Blue-green releases, around the switch: deploy-command readies the idle colour with the release version, the
 * smoke checks are asked of each of its servers directly, and only then does traffic move (./run.ts calls the
 * PrepareTarget made here after it has taken the lock and chosen the target). Retiring the old colour is a
 * separate run, later (`action: retire`): it stops the colour that is not live once its hold has passed since the
 * switch recorded in the state, and never a colour that has any traffic.
 *
 * Commands are argument arrays (no shell). The release version, the colour and its servers reach them as
 * environment variables set by `env NAME=value … command` (each argument quoted for the remote shell by
 * ../ssh/quote.ts), never by putting an input's text into a command line.
 */
import { ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeShares } from './shares.js';
import { runSmokeTests } from '../smoke/run.js';
import type { SmokeOptions, SmokeReport } from '../smoke/types.js';
import { describeCommand, type Forward, type Host } from '../ssh/host.js';
import { formatDuration } from '../util/time.js';
import {
  otherColour,
  type Colour,
  type CommandReport,
  type IdleSmokeReport,
  type PrepareTarget,
  type ReleaseReport,
  type RetireResult,
  type TrafficProvider,
  type TrafficState,
} from './types.js';

export interface CommandSpec {
  /** The input it came from, for messages. */
  input: 'deploy-command' | 'retire-command';
  argv: string[];
  timeoutMs: number;
}

/** The host where smoke checks resolve relative check URLs before they are re-based on each server. */
export const IDLE_BASE = 'http://idle.invalid/';

const OUTPUT_LINES = 20;
const PROGRESS_EVERY_MS = 30_000;

/** The variables a command gets: OPSKIT_COLOUR, OPSKIT_SERVERS (space separated), OPSKIT_VERSION when there is one. */
export function commandEnv(colour: Colour, servers: readonly string[], version?: string): Record<string, string> {
  return {
    OPSKIT_COLOUR: colour,
    OPSKIT_SERVERS: servers.join(' '),
    ...(version !== undefined ? { OPSKIT_VERSION: version } : {}),
  };
}

/** Runs deploy-command or retire-command on the host (as the ssh user: not through sudo), with `env`'s variables. */
export async function runColourCommand(
  host: Host,
  spec: CommandSpec,
  colour: Colour,
  env: Record<string, string>,
  logger: Logger,
  signal?: AbortSignal,
): Promise<CommandReport> {
  const started = performance.now();
  const command = describeCommand(spec.argv);
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  logger.info(`${spec.input} for ${colour} on ${host.label}: ${command} (with ${Object.keys(env).join(', ')})`);
  const report: CommandReport = {
    ok: false,
    input: spec.input,
    colour,
    where: host.label,
    command,
    code: -1,
    durationMs: 0,
    output: '',
  };
  // A deploy that pulls an image can take minutes: say it is still running, at a steady pace.
  const progress = setInterval(
    () =>
      logger.info(
        `${spec.input} for ${colour} still running (${formatDuration(performance.now() - started)} of ${formatDuration(spec.timeoutMs)})`,
      ),
    PROGRESS_EVERY_MS,
  );
  try {
    const result = await host.exec(['env', ...vars, ...spec.argv], {
      privileged: false,
      timeoutMs: spec.timeoutMs,
      signal,
    });
    report.code = result.code;
    report.output = lastLines(`${result.stdout.toString('utf8')}\n${result.stderr}`, OUTPUT_LINES);
    if (result.transportError) report.detail = result.transportError;
    else if (signal?.aborted) report.detail = 'the run was cancelled, so it was stopped';
    else if (result.timedOut)
      report.detail = `it did not finish within ${formatDuration(spec.timeoutMs)} and was stopped`;
    else if (result.code === 127) report.detail = `${spec.argv[0]} was not found on ${host.label} (exit code 127)`;
    else if (result.code !== 0) report.detail = `exit code ${result.code}`;
    report.ok = result.code === 0 && !result.timedOut && !result.transportError && !signal?.aborted;
  } catch (err) {
    report.detail = `it could not start: ${errorMessage(err)}`;
  } finally {
    clearInterval(progress);
  }
  report.durationMs = performance.now() - started;
  if (report.output) logger.info(`${spec.input} output (last lines):\n${report.output}`);
  logger.info(
    `${spec.input} for ${colour}: ${report.ok ? 'done' : `FAILED (${report.detail})`} in ${formatDuration(report.durationMs)}`,
  );
  return report;
}

/**
 * The smoke checks (relative to IDLE_BASE) asked of every server of `colour` directly. From this runner; when the
 * host is remote, through an ssh tunnel per server, so a server the host reaches (127.0.0.1:8001 on it) is asked
 * as the host sees it.
 */
export async function smokeIdle(
  colour: Colour,
  servers: readonly string[],
  smoke: SmokeOptions,
  host: Host,
  logger: Logger,
): Promise<IdleSmokeReport> {
  const started = performance.now();
  const forwards: Forward[] = [];
  try {
    const targets: string[] = [];
    for (const server of servers) {
      if (!host.forward) targets.push(server);
      else {
        const forward = await host.forward(server);
        forwards.push(forward);
        targets.push(forward.address);
      }
    }
    const checks = servers.flatMap((server, i) =>
      smoke.checks.map((check) => ({
        ...check,
        name: `${server} ${check.name}`,
        url: new URL(`${check.url.pathname}${check.url.search}`, `http://${targets[i]}/`),
      })),
    );
    logger.info(
      `smoke checks of ${colour} before any traffic moves: ${smoke.checks.length} check(s) on each of ${servers.length} server(s), ` +
        `within ${formatDuration(smoke.timeoutMs)}${host.forward ? ` (through ssh tunnels from ${host.label})` : ''}`,
    );
    return summarise(colour, await runSmokeTests({ ...smoke, checks }, logger), logger);
  } catch (err) {
    // A tunnel that could not be opened: the checks could not be asked, which is a failure of the idle colour's checks.
    const reason = errorMessage(err);
    logger.info(`smoke checks of ${colour}: ${reason}`);
    return {
      ok: false,
      colour,
      durationMs: performance.now() - started,
      checks: [{ name: `${colour} servers`, passed: false, reason, attempts: 0 }],
    };
  } finally {
    await Promise.all(forwards.map((f) => f.close()));
  }
}

function summarise(colour: Colour, report: SmokeReport, logger: Logger): IdleSmokeReport {
  const out: IdleSmokeReport = {
    ok: report.passed,
    colour,
    durationMs: report.durationMs,
    checks: report.checks.map((c) => ({ name: c.name, passed: c.passed, reason: c.reason, attempts: c.attempts })),
  };
  logger.info(
    `smoke checks of ${colour}: ${out.checks.filter((c) => c.passed).length}/${out.checks.length} passed (${formatDuration(out.durationMs)})`,
  );
  return out;
}

export interface ReleaseOptions {
  host: Host;
  version?: string;
  deploy?: CommandSpec;
  smoke?: SmokeOptions;
  logger: Logger;
  /** Where each deploy is recorded (beside the upstream file), for rollback to refuse a redeployed colour. */
  deployRecordFile?: string;
  runUrl?: string;
  now?: () => Date;
}

/** The last deploy-command started, on which colour, with which version (`<upstream-file>.deployed`). */
export interface DeployRecord {
  colour: Colour;
  version?: string;
  time: string;
  ok: boolean;
  run?: string;
}

export async function readDeployRecord(host: Host, file: string): Promise<DeployRecord | undefined> {
  const bytes = await host.readFile(file);
  if (!bytes) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<DeployRecord>;
    if ((parsed.colour === 'blue' || parsed.colour === 'green') && typeof parsed.time === 'string')
      return parsed as DeployRecord;
  } catch {
    // unreadable: treated as no record
  }
  return undefined;
}

/**
 * Why a rollback to `to` would not be a rollback: a deploy-command ran on it after the switch that left it (a
 * release whose checks or switch failed), so it no longer runs the version that was live there.
 */
export function redeployedRefusal(
  record: DeployRecord | undefined,
  to: Colour,
  state: TrafficState | undefined,
): string | undefined {
  if (!record || record.colour !== to || !state?.time) return undefined;
  const deployed = Date.parse(record.time);
  if (!Number.isFinite(deployed) || deployed <= Date.parse(state.time)) return undefined;
  return (
    `${to} was deployed again at ${record.time}${record.version ? ` (version ${record.version})` : ''}, after it was ` +
    `last live${record.ok ? '' : ', and that release failed before its switch'}: it no longer runs what was live there, ` +
    `so a rollback to it would make that version live. Deploy the version you want on ${to} and switch to it`
  );
}

/** deploy-command, then the smoke checks, for the colour the switch is about to move traffic to. */
export function releasePreparer(options: ReleaseOptions): PrepareTarget {
  const { host, version, deploy, smoke, logger } = options;
  const now = options.now ?? (() => new Date());
  const record = async (colour: Colour, ok: boolean) => {
    if (!deploy || !options.deployRecordFile) return;
    const entry: DeployRecord = { colour, version, time: now().toISOString(), ok, run: options.runUrl };
    await host.writeFileAtomic(options.deployRecordFile, `${JSON.stringify(entry)}\n`);
  };
  return async (colour, servers, signal) => {
    const report: ReleaseReport = { ok: false, colour, version };
    if (deploy) {
      // Recorded before it runs: a deploy that fails half-way has changed the colour too.
      await record(colour, false);
      report.deploy = await runColourCommand(
        host,
        deploy,
        colour,
        commandEnv(colour, servers, version),
        logger,
        signal,
      );
      if (!report.deploy.ok) {
        report.reason =
          `deploy-command failed on ${host.label} for ${colour}${version ? ` (version ${version})` : ''}: ${report.deploy.detail}` +
          (report.deploy.output ? `:\n${lastLines(report.deploy.output, 6)}` : '');
        return report;
      }
    }
    if (signal?.aborted) {
      report.reason = 'the run was cancelled before the smoke checks';
      return report;
    }
    if (smoke) {
      report.smoke = await smokeIdle(colour, servers, smoke, host, logger);
      if (!report.smoke.ok) {
        const failed = report.smoke.checks.filter((c) => !c.passed);
        report.reason =
          `the smoke checks of ${colour} failed before any traffic moved: ` +
          failed.map((c) => `${c.name}: ${c.reason ?? 'failed'}`).join('; ') +
          (report.deploy
            ? `. ${colour} now runs ${version ?? 'the new version'} without traffic: a rollback to ${colour} would make it live`
            : '');
        return report;
      }
    }
    report.ok = true;
    await record(colour, true);
    return report;
  };
}

export interface RetireOptions {
  command: CommandSpec;
  /** How long the old colour is kept after the switch (retire-after). */
  holdMs: number;
  servers: Record<Colour, string[]>;
  /** Who holds the lock (run URL). */
  holder: string;
  runUrl?: string;
  /** A colour still within its hold is not an error: nothing is stopped and the run succeeds (a schedule). */
  skipIfHeld?: boolean;
}

export interface RetireDeps {
  provider: TrafficProvider;
  host: Host;
  /** The file beside the upstream file that records what was retired after which switch. */
  recordFile: string;
  logger: Logger;
  now?: () => Date;
  /** A cancelled job: retire-command is stopped and nothing is recorded. */
  signal?: AbortSignal;
}

interface RetiredRecord {
  colour: Colour;
  /** The switch time the colour was retired after. */
  idleSince: string;
  retiredAt: string;
  run?: string;
}

/**
 * Stops the colour that is not live with retire-command, under the switch's lock, when it has no traffic, no
 * switch is under way and its hold has passed since the switch recorded in the state. Refusals change nothing.
 */
export async function runRetire(options: RetireOptions, deps: RetireDeps): Promise<RetireResult> {
  const { provider, host, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  const result: RetireResult = {
    ok: false,
    where: provider.where,
    holdMs: options.holdMs,
    already: false,
    durationMs: 0,
  };
  const lock = await provider.lock(options.holder).catch((err: unknown) => {
    result.error = err;
    return undefined;
  });
  if (!lock) {
    result.durationMs = performance.now() - started;
    return result;
  }
  try {
    const state = await provider.readState();
    result.state = state;
    const refusal = retireRefusal(state, provider.where, options.holdMs, now());
    if (state) {
      result.colour = otherColour(state.live);
      result.idleSince = state.time;
    }
    if (refusal) {
      result.held = refusal.held;
      if (refusal.held && options.skipIfHeld) {
        logger.info(`${refusal.reason}. Nothing was stopped (skip-if-held)`);
        result.ok = true;
        return result;
      }
      result.error = new ExternalError(`${refusal.reason}. Nothing was stopped`);
      return result;
    }
    const colour = result.colour!;
    const record = await readRecord(host, deps.recordFile);
    if (record && record.colour === colour && record.idleSince === state!.time) {
      logger.info(
        `${colour} was retired already at ${record.retiredAt} (after the switch of ${record.idleSince}): nothing to do`,
      );
      result.already = true;
      result.ok = true;
      return result;
    }
    logger.info(
      `retiring ${colour}: idle since ${state!.time} (${formatDuration(now().getTime() - Date.parse(state!.time!))} ago, ` +
        `hold ${formatDuration(options.holdMs)}); live: ${describeShares(state!.shares)}`,
    );
    result.command = await runColourCommand(
      host,
      options.command,
      colour,
      commandEnv(colour, options.servers[colour]),
      logger,
      deps.signal,
    );
    if (!result.command.ok) {
      result.error = new ExternalError(
        `retire-command failed on ${host.label} for ${colour}: ${result.command.detail}` +
          (result.command.output ? `:\n${lastLines(result.command.output, 6)}` : '') +
          `. Traffic was not touched (${describeShares(state!.shares)})`,
      );
      return result;
    }
    const retired: RetiredRecord = {
      colour,
      idleSince: state!.time!,
      retiredAt: now().toISOString(),
      run: options.runUrl,
    };
    await host.writeFileAtomic(deps.recordFile, `${JSON.stringify(retired)}\n`);
    result.ok = true;
    return result;
  } catch (err) {
    result.error = err;
    return result;
  } finally {
    result.durationMs = performance.now() - started;
    await lock.release().catch((err: unknown) => logger.warning(`could not release the lock: ${errorMessage(err)}`));
  }
}

/** Why the colour that is not live may not be stopped now, or undefined when it may. */
export function retireRefusal(
  state: TrafficState | undefined,
  where: string,
  holdMs: number,
  now: Date,
): { reason: string; held: boolean } | undefined {
  const no = (reason: string, held = false) => ({ reason, held });
  if (!state) return no(`nothing to retire: ${where} records no state yet`);
  const idle = otherColour(state.live);
  if (state.target)
    return no(
      `a switch to ${state.target} is under way (${describeShares(state.shares)}): neither colour can be retired until it finishes or is rolled back`,
    );
  if (state.shares[idle] > 0)
    return no(`${idle} still has ${state.shares[idle]}% of traffic (${describeShares(state.shares)})`);
  if (state.source !== 'header' || !state.time) {
    return no(
      `${where} is not a file written by a switch (no switch time recorded), so ${idle}'s hold cannot be measured; ` +
        'retire after a blue-green-switch has moved traffic',
    );
  }
  const since = Date.parse(state.time);
  if (!Number.isFinite(since)) return no(`the switch time recorded in ${where} ('${state.time}') is not a time`);
  const held = now.getTime() - since;
  if (held < holdMs) {
    return no(
      `${idle} is held for ${formatDuration(holdMs)} after the switch to ${state.live} at ${state.time}: ` +
        `${formatDuration(Math.max(0, held))} have passed, it can be retired from ${new Date(since + holdMs).toISOString()}`,
      true,
    );
  }
  return undefined;
}

async function readRecord(host: Host, file: string): Promise<RetiredRecord | undefined> {
  const bytes = await host.readFile(file);
  if (!bytes) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<RetiredRecord>;
    if ((parsed.colour === 'blue' || parsed.colour === 'green') && typeof parsed.idleSince === 'string')
      return parsed as RetiredRecord;
  } catch {
    // an unreadable record is no record: the command runs (retire commands stop what runs, so running one twice is safe)
  }
  return undefined;
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n)
    .join('\n');
}
