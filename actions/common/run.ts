/**
 * The one wrapper every action's entry point uses: inputs read through @actions/core, a Logger
 * for the library, secrets masked before anything is logged, and errors reported as
 * `<action> failed: …` with exit code 1 (no stack for user mistakes and service refusals).
 */
import * as core from '@actions/core';
import os from 'node:os';
import { isUserFacing, errorMessage } from '../../src/errors.js';
import { type RunContext, runContextFromEnv } from '../../src/github/context.js';
import { Inputs } from '../../src/inputs.js';
import type { Logger } from '../../src/logger.js';
import { scrub, secretPartsOfUrl } from '../../src/redact.js';
import { SPECS } from './specs.generated.js';

export interface ActionContext {
  inputs: Inputs;
  logger: Logger;
  /** RUNNER_TEMP (the OS temp folder outside a runner): scratch space removed with the job. */
  tempDir: string;
  /** GITHUB_WORKSPACE (the current folder outside a runner): where relative paths of inputs are resolved. */
  workspace: string;
  /** The workflow run (GITHUB_* variables), with its URL including the attempt. */
  run: RunContext;
  /** Mask a value (and, for a URL, its password and a webhook's path) in every later log line; remembered for error messages. */
  secret(value: string | undefined): void;
  secrets: readonly string[];
  /** Set an output (each declared output not set by the end of the run, success or failure, is set empty). */
  output(name: string, value: string): void;
  /** Whether an output was set already. */
  written(name: string): boolean;
}

export const coreLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
};

export async function runAction(actionName: string, body: (ctx: ActionContext) => Promise<void>): Promise<void> {
  const spec = SPECS[actionName];
  if (!spec) throw new Error(`no action.yml spec for '${actionName}' (run npm run docs)`);
  const secrets: string[] = [];
  const written = new Set<string>();
  const ctx: ActionContext = {
    inputs: new Inputs((name) => core.getInput(name), spec.inputs),
    logger: coreLogger,
    tempDir: process.env.RUNNER_TEMP || os.tmpdir(),
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    run: runContextFromEnv(process.env),
    secrets,
    secret(value) {
      if (!value) return;
      for (const v of [value, ...secretPartsOfUrl(value, { whole: true })]) {
        core.setSecret(v);
        secrets.push(v);
      }
    },
    output(name, value) {
      if (!spec.outputs.includes(name)) throw new Error(`output '${name}' is not declared in action.yml`);
      core.setOutput(name, value);
      written.add(name);
    },
    written: (name) => written.has(name),
  };
  try {
    // Before anything else runs or logs: every input action.yml declares secret.
    for (const name of spec.secrets) ctx.secret(ctx.inputs.raw(name));
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
  } finally {
    // A later step reads every documented output: one this run had no value for is there, empty.
    for (const name of spec.outputs) if (!written.has(name)) core.setOutput(name, '');
  }
}
