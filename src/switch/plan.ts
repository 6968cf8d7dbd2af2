/** Which colour traffic moves to, through which percentages, and the state recorded at each step. */
import { ConfigurationError } from '../errors.js';
import { describeShares } from './shares.js';
import { otherColour, type Colour, type SwitchOptions, type TrafficState } from './types.js';

export interface MovePlan {
  to: Colour;
  /** The colour traffic moves away from; undefined for a first switch (nothing live yet). */
  from?: Colour;
  /** The target's share at each step, rising, ending at 100. */
  shares: number[];
  /** The target already has all traffic. */
  unchanged: boolean;
  /** Said in the log when the steps were changed (first switch, unfinished switch, provider without weights). */
  note?: string;
}

export function planMove(
  options: Pick<SwitchOptions, 'action' | 'to' | 'steps'>,
  state: TrafficState | undefined,
  where: string,
  weighted: boolean,
): MovePlan {
  if (options.action === 'rollback') {
    if (!state) throw new ConfigurationError(`nothing to roll back: ${where} records no state yet`);
    // An unfinished switch rolls back to the colour it started from; a finished one to the previous colour.
    const to = state.target ? state.live : state.previous;
    if (!to) {
      throw new ConfigurationError(
        `nothing to roll back to: ${where} records no previous colour (${state.live} is the only colour that has been live)`,
      );
    }
    return { to, from: otherColour(to), shares: [100], unchanged: state.shares[to] === 100 && !state.target };
  }

  let to: Colour;
  if (options.to !== 'idle') to = options.to;
  else if (!state) {
    throw new ConfigurationError(
      `input 'to': ${where} records no live colour yet (a first switch), so 'idle' means nothing; set to: blue or to: green`,
    );
  } else to = state.target ?? otherColour(state.live);

  if (!state) {
    const note =
      options.steps.length > 1 ? 'no colour is live yet: all traffic goes to the target in one step' : undefined;
    return { to, shares: [100], unchanged: false, note };
  }
  const from = otherColour(to);
  const current = state.shares[to];
  if (current >= 100) return { to, from, shares: [], unchanged: true };
  if (state.live === to) {
    // Going back to the colour an unfinished switch started from: all at once, like a rollback.
    return {
      to,
      from,
      shares: [100],
      unchanged: false,
      note: `an unfinished switch to ${from} is under way (${describeShares(state.shares)}): ${to} gets all traffic back in one step`,
    };
  }
  let shares = options.steps.filter((s) => s > current);
  let note: string | undefined;
  if (current > 0) note = `${to} already has ${current}%: continuing with ${shares.join(', ')}%`;
  if (!weighted && shares.length > 1) {
    shares = [100];
    note = 'this provider cannot split traffic: moving all of it in one step';
  }
  return { to, from, shares, unchanged: false, note };
}

/** The state recorded while `plan.to` has `share` percent. */
export function stateAt(
  plan: MovePlan,
  before: TrafficState | undefined,
  share: number,
  servers: Record<Colour, string[]>,
  meta: { time: string; run?: string },
): TrafficState {
  const shares = { blue: 0, green: 0 };
  shares[plan.to] = share;
  shares[otherColour(plan.to)] = 100 - share;
  const base = { shares, servers, time: meta.time, run: meta.run, source: 'header' as const };
  if (share >= 100) {
    // A switch that finishes makes the colour it left the previous one; going back to the colour that was
    // live (an unfinished switch undone) keeps the recorded previous.
    const previous = !before ? undefined : before.live === plan.to ? before.previous : before.live;
    return { ...base, live: plan.to, previous };
  }
  return { ...base, live: before!.live, previous: before!.previous, target: plan.to };
}

/** `green 100%` / `blue 90%, green 10% (switching to green)` / `nothing recorded yet`. */
export function describeState(state: TrafficState | undefined): string {
  if (!state) return 'nothing recorded yet';
  const extra = state.target ? ` (switch to ${state.target} under way)` : '';
  return `${describeShares(state.shares)}${extra}`;
}
