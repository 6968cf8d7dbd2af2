/**
 * Runs a bundled action the way the runner does (scripts/runner/action.js): `node dist/<name>/index.js` under
 * Node 24 with an INPUT_* variable for every input of its action.yml (the given value, else the default), the
 * GITHUB_OUTPUT/STEP_SUMMARY/STATE/ENV/PATH files, RUNNER_TEMP and GITHUB_WORKSPACE, and its pre/post steps.
 * A test that wants an input absent altogether says so with `absent`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseActionYml } from '../../scripts/action-docs.js';
import {
  actionDir,
  runActionBundle,
  parseFileCommands,
  type RunnerOptions,
  type RunnerResult,
} from '../../scripts/runner/action.js';
import { node24 } from './node24.js';

export type ActionRun = RunnerResult;

export interface RunOptions extends Omit<RunnerOptions, 'node'> {
  /** `${{ github.token }}` for inputs that default to it (post-incident-issue's github-token). */
  githubToken?: string;
}

export async function runAction(
  name: string,
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun> {
  const { githubToken, ...rest } = options;
  return runActionBundle(name, inputs, {
    ...rest,
    // The working directory is the workspace on a runner: a test that names one names both.
    workspace: rest.workspace ?? rest.cwd,
    context: { ...rest.context, github: { token: githubToken ?? '', ...rest.context?.github } },
    node: node24(),
  });
}

/** The `name<<DELIM\nvalue\nDELIM` file format that @actions/core writes. */
export const parseOutputFile = parseFileCommands;

/** What a failed run that had no value for any output leaves: every output of action.yml, set empty. */
export function emptyOutputs(name: string): Record<string, string> {
  const meta = parseActionYml(readFileSync(path.join(actionDir(name), 'action.yml'), 'utf8'));
  return Object.fromEntries(Object.keys(meta.outputs ?? {}).map((k) => [k, '']));
}
