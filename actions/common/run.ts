/**
 * The one wrapper every action's entry point uses: inputs read through @actions/core, a Logger
 * for the library, secrets masked before anything is logged, and errors reported as
 * `<action> failed: …` with exit code 1 (no stack for user mistakes and service refusals).
 */
import * as core from '@actions/core';
import { isUserFacing, errorMessage } from '../../src/errors.js';
import { Inputs } from '../../src/inputs.js';
import type { Logger } from '../../src/logger.js';
import { scrub, secretPartsOfUrl } from '../../src/redact.js';

export interface ActionContext {
  inputs: Inputs;
  logger: Logger;
  /** Mask a value (and, for a URL, its password and a webhook's path) in every later log line; remembered for error messages. */
  secret(value: string | undefined): void;
  secrets: readonly string[];
}

export const coreLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
};

export async function runAction(actionName: string, body: (ctx: ActionContext) => Promise<void>): Promise<void> {
  const secrets: string[] = [];
  const ctx: ActionContext = {
    inputs: new Inputs((name) => core.getInput(name)),
    logger: coreLogger,
    secrets,
    secret(value) {
      if (!value) return;
      for (const v of [value, ...secretPartsOfUrl(value, { whole: true })]) {
        core.setSecret(v);
        secrets.push(v);
      }
    },
  };
  try {
    await body(ctx);
  } catch (err) {
    const message = scrub(errorMessage(err), secrets);
    if (isUserFacing(err)) {
      core.setFailed(`${actionName} failed: ${message}`);
    } else {
      core.setFailed(`${actionName} failed with an internal error (please report it): ${message}`);
      if (err instanceof Error && err.stack) core.debug(scrub(err.stack, secrets));
    }
    process.exitCode = 1;
  }
}

/** Mask each value of an input that is secret as a whole (a password, a token, a header map). */
export function maskInput(ctx: ActionContext, name: string): void {
  const raw = ctx.inputs.raw(name);
  if (raw) ctx.secret(raw);
}
