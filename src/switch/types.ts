/**
 * The blue-green switch, independent of what moves the traffic. A TrafficProvider (nginx today; a
 * Kubernetes Service selector could be another) records and applies a TrafficState; the switch
 * (./run.ts) decides the states, checks health, bakes and verifies, and asks the provider to put the
 * original state back when something fails.
 */
import type { TextMatcher } from '../inputs.js';

export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];

export function otherColour(c: Colour): Colour {
  return c === 'blue' ? 'green' : 'blue';
}

/** Percent of traffic per colour; the two add up to 100. */
export type Shares = Record<Colour, number>;

/** What is live, as recorded where the traffic is routed (for nginx: the upstream file's header). */
export interface TrafficState {
  /** The colour that last received all traffic (while a switch is under way: the one it started from). */
  live: Colour;
  /** The colour live before `live`, the one `rollback` returns to; undefined before the second switch. */
  previous?: Colour;
  /** Set while a weighted switch is under way: the colour traffic is moving to. */
  target?: Colour;
  shares: Shares;
  /** The servers of each colour when the state was written. */
  servers: Record<Colour, string[]>;
  /** ISO time and run URL of the change. */
  time?: string;
  run?: string;
  /** `header`: opskit's own record; `inferred`: read from a hand-written file's servers. */
  source: 'header' | 'inferred';
}

export interface ProviderLock {
  /** False once the lock is no longer held (the process holding it is gone). */
  held(): boolean;
  release(): Promise<void>;
}

export interface TrafficProvider {
  /** `nginx` */
  readonly name: string;
  /** Where the traffic is routed, for messages: `upstream 'app' in /etc/nginx/conf.d/app.conf on root@lb1`. */
  readonly where: string;
  /** Whether it can split traffic by percent; without it only 100% steps are possible. */
  readonly weighted: boolean;
  /** Takes the exclusive lock for the run, or throws (an ExternalError) when another run holds it. */
  lock(holder: string): Promise<ProviderLock>;
  /** The recorded state, or undefined when nothing is recorded yet (no file, an empty file). */
  readState(): Promise<TrafficState | undefined>;
  /**
   * Makes `state` live: for nginx, render, write atomically, `nginx -t`, reload. When it throws, what was
   * in place before this call is back and live.
   */
  apply(state: TrafficState): Promise<void>;
  /**
   * Puts back what was in place when the state was first read in this run, and makes it live again.
   * Returns false when there was nothing to put back (nothing was changed).
   */
  restore(): Promise<boolean>;
}

export interface ProbeResult {
  ok: boolean;
  /** `200`, `503`, `connection refused`, `no answer within 5s`. */
  detail: string;
  latencyMs: number;
}

/** Asks one server for its health path directly (not through the load balancer). */
export interface HealthProbe {
  readonly where: string;
  probe(server: string, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult>;
}

export interface HealthOptions {
  path: string;
  successes: number;
  timeoutMs: number;
  intervalMs: number;
}

export interface VerifyOptions {
  url: URL;
  expect?: TextMatcher;
  /** Per request. */
  timeoutMs: number;
  /** Pause between verify requests during the bake. */
  intervalMs: number;
}

export interface SwitchOptions {
  action: 'switch' | 'rollback';
  /** `idle`: the colour not live now. */
  to: 'idle' | Colour;
  /** Rising percentages for the target, ending at 100. */
  steps: number[];
  bakeMs: number;
  servers: Record<Colour, string[]>;
  health: HealthOptions;
  verify?: VerifyOptions;
  /** Failed requests (verify and health probes) tolerated per step. */
  errorBudget: number;
  /** Longest wait after a reload for the load balancer to answer as the target (100% steps with verify-expect). */
  settleMs: number;
  /** Who holds the lock (run URL), recorded in the lock file. */
  holder: string;
}

export interface GateReport {
  ok: boolean;
  colour: Colour;
  durationMs: number;
  servers: { server: string; ok: boolean; attempts: number; detail: string }[];
}

/** What verifying one step found (verify.ts's bake). */
export interface BakeOutcome {
  ok: boolean;
  /** Verify requests through the load balancer. */
  requests: number;
  failed: number;
  /** Answers that matched verify-expect. */
  matched: number;
  probes: number;
  probeFailures: number;
  durationMs: number;
  /** Why the step failed. */
  reason?: string;
  /** Up to five failures, for the summary. */
  failures: string[];
}

/** One step of a switch: its shares and what verifying it found (durationMs: the whole step). */
export interface StepReport extends BakeOutcome {
  index: number;
  of: number;
  colour: Colour;
  share: number;
  shares: Shares;
}

export interface SwitchResult {
  ok: boolean;
  action: 'switch' | 'rollback';
  /** The colour traffic was moving to. */
  to?: Colour;
  from?: Colour;
  where: string;
  before?: TrafficState;
  /** Where traffic is when the run ends (after a revert: the state before). */
  now?: TrafficState;
  gate?: GateReport;
  steps: StepReport[];
  /** Nothing needed changing (the target already had all traffic). */
  unchanged: boolean;
  /** The original state was put back after a failure. */
  reverted: boolean;
  durationMs: number;
  /** Why the run failed; the message says where traffic is now. */
  error?: unknown;
  verifyUrl?: string;
  /** A release: what deploy-command and the idle smoke checks did before any traffic moved. */
  release?: ReleaseReport;
}

/** One run of deploy-command or retire-command. */
export interface CommandReport {
  ok: boolean;
  /** `deploy-command` / `retire-command` */
  input: string;
  colour: Colour;
  /** Where it ran: `this machine`, `deploy@lb1`. */
  where: string;
  /** The command as a person would type it (without the OPSKIT_* variables). */
  command: string;
  code: number;
  durationMs: number;
  /** `exit code 2`, `did not finish within 10m`, ssh's own failure. */
  detail?: string;
  /** The last lines the command printed. */
  output: string;
}

/** The smoke checks asked of each server of the idle colour directly. */
export interface IdleSmokeReport {
  ok: boolean;
  colour: Colour;
  durationMs: number;
  checks: { name: string; passed: boolean; reason?: string; attempts: number }[];
}

export interface ReleaseReport {
  ok: boolean;
  colour: Colour;
  version?: string;
  deploy?: CommandReport;
  smoke?: IdleSmokeReport;
  /** Why it failed (deploy-command, the smoke checks, or a target that has traffic). */
  reason?: string;
}

/** Readies the target colour before any traffic moves (deploy-command, then the smoke checks). */
export type PrepareTarget = (
  colour: Colour,
  servers: readonly string[],
  signal?: AbortSignal,
) => Promise<ReleaseReport>;

export interface RetireResult {
  ok: boolean;
  where: string;
  /** The colour that was (or would have been) stopped: the one not live. */
  colour?: Colour;
  state?: TrafficState;
  /** When the colour stopped being live (the switch time recorded in the state). */
  idleSince?: string;
  holdMs: number;
  /** It was stopped already after that switch (the .retired record): nothing ran. */
  already: boolean;
  /** Refused because its hold has not passed yet (with skip-if-held, not an error). */
  held?: boolean;
  command?: CommandReport;
  durationMs: number;
  error?: unknown;
}
