/** Types for scripts/runner/action.js (plain ESM JavaScript), so TypeScript tests can import it. */
import type { ChildProcess } from 'node:child_process';

export const ROOT: string;

export interface RunnerOptions {
  /** Extra environment (GITHUB_REPOSITORY, GITHUB_API_URL, …); INPUT_* from inputs win over it. */
  env?: Record<string, string>;
  /** Inputs the step leaves out altogether (no INPUT_* variable, not even the default). */
  absent?: readonly string[];
  /** Expression context for `${{ … }}` defaults, e.g. `{ github: { token } }` for `${{ github.token }}`. */
  context?: { github?: Record<string, unknown>; [name: string]: unknown };
  /** Defaults to a fresh folder, removed afterwards. */
  runnerTemp?: string;
  /** GITHUB_WORKSPACE; defaults to a fresh folder, removed afterwards. */
  workspace?: string;
  /** The working directory of the action (defaults to the workspace). */
  cwd?: string;
  /** The node binary (tests use Node 24, the Actions runtime). */
  node?: string;
  /** The repository the action lives in (defaults to this one). */
  root?: string;
  /** Keep the temp folder with the command files. */
  keepFiles?: boolean;
  onSpawn?: (child: ChildProcess) => void;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

export interface StepRun {
  phase: 'pre' | 'main' | 'post';
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunnerResult {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  state: Record<string, string>;
  exported: Record<string, string>;
  addedPath: string[];
  /** Values registered with `::add-mask::` (the runner hides them and never prints the command). */
  masked: string[];
  /** Everything a person or a later step could see: stdout without mask commands, stderr, outputs, summary. */
  visible: string;
  steps: StepRun[];
  /** The INPUT_* variables the step got. */
  inputEnv: Record<string, string>;
}

export function actionDir(name: string, root?: string): string;
export function actionNames(root?: string): Promise<string[]>;
export function loadActionMetadata(name: string, root?: string): Promise<Record<string, unknown>>;
export function inputVariable(name: string): string;
export function inputVariables(
  metadata: Record<string, unknown>,
  given: Record<string, string>,
  options?: { absent?: readonly string[]; context?: Record<string, unknown> },
): Record<string, string>;
export function parseFileCommands(text: string): Record<string, string>;
export function runActionBundle(
  name: string,
  inputs: Record<string, string>,
  options?: RunnerOptions,
): Promise<RunnerResult>;
