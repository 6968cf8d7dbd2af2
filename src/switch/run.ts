/**
 * The switch: lock, read what is live, health gate on the target, then for each step apply the shares and
 * bake; on any failure after traffic moved, put back the state from before the run. Returns a result with
 * the error (whose message says where traffic is now) rather than throwing, so the caller can still write
 * its summary and outputs.
 */
import { ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeShares } from './shares.js';
import { formatDuration } from '../util/time.js';
import { describeGateFailure, healthGate } from './health.js';
import { describeState, planMove, stateAt, type MovePlan } from './plan.js';
import type {
  Colour,
  HealthProbe,
  PrepareTarget,
  ProviderLock,
  SwitchOptions,
  SwitchResult,
  TrafficProvider,
  TrafficState,
} from './types.js';
import { bake, describeCounts } from './verify.js';

export interface SwitchDeps {
  provider: TrafficProvider;
  probe: HealthProbe;
  logger: Logger;
  /** Aborts the run (the job was cancelled): the bake stops and the state before is put back. */
  signal?: AbortSignal;
  /** Recorded in the state: the workflow run's URL. */
  runUrl?: string;
  now?: () => Date;
  /**
   * A release (deploy-command, smoke checks): readies the target colour after the lock is taken and before its
   * health gate; when it fails, no traffic moves. Only a colour without traffic is readied.
   */
  prepare?: PrepareTarget;
  /** A rollback: why going back to `to` would not be a rollback (it was deployed again since), or undefined. */
  rollbackRefusal?: (to: Colour, before: TrafficState | undefined) => Promise<string | undefined>;
}

export async function runSwitch(options: SwitchOptions, deps: SwitchDeps): Promise<SwitchResult> {
  const { provider, probe, logger, signal } = deps;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  const result: SwitchResult = {
    ok: false,
    action: options.action,
    where: provider.where,
    steps: [],
    unchanged: false,
    reverted: false,
    durationMs: 0,
    verifyUrl: options.verify?.url.toString(),
  };
  let lock: ProviderLock | undefined;
  let before: TrafficState | undefined;
  let moved = false;

  /** After traffic moved: put the state before the run back, and say where traffic is. */
  const revert = async (reason: string): Promise<Error> => {
    try {
      const restored = await provider.restore();
      result.reverted = restored;
      result.now = before;
      return new ExternalError(`${reason}. Reverted: traffic is back on ${describeBefore(before)}`);
    } catch (err) {
      return new ExternalError(
        `${reason}. Putting the state before this run back failed too: ${errorMessage(err)}. ` +
          `Traffic may still be at ${result.now ? describeShares(result.now.shares) : 'an unknown state'}; check ${provider.where}`,
      );
    }
  };

  try {
    lock = await provider.lock(options.holder);
    before = await provider.readState();
    result.before = before;
    result.now = before;
    logger.info(`${provider.where}: ${describeState(before)}`);

    const plan = planMove(options, before, provider.where, provider.weighted);
    result.to = plan.to;
    result.from = plan.from;
    if (plan.note) logger.info(plan.note);
    const busy = before && (before.shares[plan.to] > 0 || before.target !== undefined);
    if (deps.prepare && busy) {
      result.error = new ExternalError(
        `${plan.to} has traffic (${describeState(before)}): a release readies only the idle colour, before any traffic ` +
          `moves. Nothing was changed: traffic stays on ${describeBefore(before)}` +
          (before?.target ? '; finish the switch under way or roll it back first' : ''),
      );
      return result;
    }
    if (options.action === 'rollback' && deps.rollbackRefusal && !plan.unchanged) {
      const refusal = await deps.rollbackRefusal(plan.to, before);
      if (refusal) {
        result.error = new ExternalError(`${refusal}. Nothing was changed: traffic stays on ${describeBefore(before)}`);
        return result;
      }
    }
    if (plan.unchanged) {
      logger.info(`${plan.to} already has all traffic: nothing to do`);
      result.ok = true;
      result.unchanged = true;
      return result;
    }
    logger.info(
      `${options.action === 'rollback' ? 'rolling back' : 'switching'} to ${plan.to}: ${plan.shares.map((s) => `${s}%`).join(' → ')}` +
        `${plan.shares.length > 1 || options.bakeMs > 0 ? `, baking ${formatDuration(options.bakeMs)} at each step` : ''}`,
    );

    if (deps.prepare) {
      const release = await deps.prepare(plan.to, options.servers[plan.to], signal);
      result.release = release;
      if (!release.ok) {
        result.error = new ExternalError(
          `${release.reason ?? `readying ${plan.to} failed`}. Nothing was changed: traffic stays on ${describeBefore(before)}`,
        );
        return result;
      }
    }

    const gate = await healthGate(plan.to, options.servers[plan.to], probe, options.health, logger, signal);
    result.gate = gate;
    if (!gate.ok) {
      result.error = new ExternalError(
        `${describeGateFailure(gate, options.health)}. Nothing was changed: traffic stays on ${describeBefore(before)}`,
      );
      return result;
    }

    for (const [i, share] of plan.shares.entries()) {
      const label = `step ${i + 1}/${plan.shares.length}: ${plan.to} ${share}%`;
      if (!lock.held()) throw new ExternalError(`the lock on ${provider.where} was lost (did the connection drop?)`);
      const state = stateAt(plan, before, share, options.servers, { time: now().toISOString(), run: deps.runUrl });
      const stepStarted = performance.now();
      try {
        await provider.apply(state);
      } catch (err) {
        result.steps.push(failedStep(plan, i, share, state, performance.now() - stepStarted, errorMessage(err)));
        const reason = `${label} failed: ${errorMessage(err)}`;
        result.error = moved
          ? await revert(reason)
          : new ExternalError(`${reason}. Traffic stays on ${describeBefore(before)}`);
        return result;
      }
      moved = true;
      result.now = state;
      logger.info(
        `${label} (${describeShares(state.shares)}) is live; ${options.verify ? 'verifying and ' : ''}baking ${formatDuration(options.bakeMs)}`,
      );
      const spec = {
        label,
        colour: plan.to,
        share,
        durationMs: options.bakeMs,
        verify: options.verify,
        useExpect: options.action === 'switch',
        servers: options.servers[plan.to],
        health: options.health,
        probe,
        budget: options.errorBudget,
        settleMs: options.settleMs,
        previousShare: i === 0 ? (before?.shares[plan.to] ?? 0) : plan.shares[i - 1]!,
      };
      const outcome = await bake(spec, logger, signal);
      result.steps.push({
        index: i + 1,
        of: plan.shares.length,
        colour: plan.to,
        share,
        shares: state.shares,
        ...outcome,
        durationMs: performance.now() - stepStarted,
      });
      logger.info(`${label}: ${outcome.ok ? 'passed' : 'FAILED'}: ${describeCounts(outcome, spec)}`);
      if (!outcome.ok) {
        result.error = await revert(`${label} failed: ${outcome.reason}`);
        return result;
      }
    }
    result.ok = true;
    logger.info(
      `${plan.to} is live with all traffic${result.now?.previous ? `; ${result.now.previous} is previous` : ''} ` +
        `(${formatDuration(performance.now() - started)})`,
    );
    return result;
  } catch (err) {
    result.error = moved ? await revert(errorMessage(err)) : err;
    return result;
  } finally {
    result.durationMs = performance.now() - started;
    if (lock) {
      await lock.release().catch((err: unknown) => logger.warning(`could not release the lock: ${errorMessage(err)}`));
    }
  }
}

function failedStep(
  plan: MovePlan,
  i: number,
  share: number,
  state: TrafficState,
  durationMs: number,
  reason: string,
): SwitchResult['steps'][number] {
  return {
    index: i + 1,
    of: plan.shares.length,
    colour: plan.to,
    share,
    shares: state.shares,
    ok: false,
    requests: 0,
    failed: 0,
    matched: 0,
    probes: 0,
    probeFailures: 0,
    durationMs,
    reason,
    failures: [],
  };
}

function describeBefore(before: TrafficState | undefined): string {
  return before ? describeShares(before.shares) : 'the setup before this run (there was no upstream file)';
}
