/**
 * SIGINT and SIGTERM for actions that change things (db-backup, db-restore, migrate-with-backup,
 * blue-green-switch). A cancelled job gets SIGINT, SIGTERM 7.5 s later, and SIGKILL 2.5 s after that.
 *
 * The first signal aborts `signal` with an {@link Interrupted} reason. Work that was given the signal
 * stops its children, undoes what it started (temp databases, partial objects, temp copies) and
 * throws an Interrupted error whose message says, in one line, the state it leaves things in. Later
 * signals are logged and otherwise ignored: their default action would end the process in the
 * middle of that cleanup.
 */
import { ExternalError } from '../errors.js';
import type { Logger } from '../logger.js';

/** A run stopped by a signal; the message says what state things were left in. */
export class Interrupted extends ExternalError {
  constructor(
    readonly signalName: string,
    readonly state?: string,
  ) {
    super(state ? `interrupted by ${signalName}: ${state}` : `interrupted by ${signalName}`);
  }

  /** The same interruption, saying what state things were left in. */
  withState(state: string): Interrupted {
    return new Interrupted(this.signalName, state);
  }
}

export interface Cancellation {
  /** Aborted (with an Interrupted reason) by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Listens for SIGINT/SIGTERM until disposed; `what` names the work in the log lines (`the restore`). */
export function cancelOnSignals(logger: Logger, what: string): Cancellation {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warning(`${name} received again: still stopping ${what} and cleaning up`);
      return;
    }
    logger.warning(`${name} received: stopping ${what} and cleaning up`);
    controller.abort(new Interrupted(name));
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}

/** The interruption `signal` was aborted with, or undefined while it runs on. */
export function interruption(signal: AbortSignal | undefined): Interrupted | undefined {
  if (!signal?.aborted) return undefined;
  const reason: unknown = signal.reason;
  return reason instanceof Interrupted ? reason : new Interrupted('an abort');
}

/** Throws the interruption when `signal` has been aborted. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  const stop = interruption(signal);
  if (stop) throw stop;
}

/**
 * Runs `stop` when `signal` aborts (at once when it already has); the returned function stops
 * listening. For children and streams that must end when the run is cancelled.
 */
export function onAbort(signal: AbortSignal | undefined, stop: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    stop();
    return () => undefined;
  }
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}
