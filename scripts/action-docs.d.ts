/** Types for scripts/action-docs.js (plain ESM JavaScript), so TypeScript tests can import it. */

/** One entry of an action.yml `inputs` mapping. Plain scalars are kept as written, hence strings. */
export interface ActionInput {
  description?: string;
  required?: boolean | string;
  default?: string | number | boolean | null;
  deprecationMessage?: string;
  [key: string]: unknown;
}

/** One entry of an action.yml `outputs` mapping. */
export interface ActionOutput {
  description?: string;
  value?: string;
  [key: string]: unknown;
}

/** The parts of an action.yml the docs are generated from. */
export interface ActionMetadata {
  name?: string;
  description?: string;
  inputs?: Record<string, ActionInput | null> | null;
  outputs?: Record<string, ActionOutput | null> | null;
  runs?: unknown;
  [key: string]: unknown;
}

/** action.yml text, or its already-parsed content. */
export type ActionYml = string | ActionMetadata;

export type Section = 'inputs' | 'outputs';

export interface ActionEntry {
  /** Directory name under actions/, or "." for the root action. */
  name: string;
  /** Absolute path of the action's directory. */
  dir: string;
  /** Absolute path of its action.yml (or action.yaml). */
  actionYmlPath: string;
  /** Absolute path where its README.md belongs (the file may not exist). */
  readmePath: string;
}

export interface CheckResult {
  /** True when both generated sections match action.yml (cell padding and blank lines ignored). */
  ok: boolean;
  /** E.g. "missing opskit:inputs markers", "outputs table is out of date". */
  problems: string[];
  /** The regenerated README, or undefined when markers are missing/malformed or action.yml is invalid. */
  expected: string | undefined;
}

export interface ProcessResult {
  action: ActionEntry;
  status: 'ok' | 'updated' | 'drift' | 'error';
  problems: string[];
}

export const SECTIONS: readonly ['inputs', 'outputs'];
export const MARKERS: Readonly<Record<Section, Readonly<{ start: string; end: string }>>>;
/** The command the messages tell to run: "npm run docs". */
export const DOCS_COMMAND: string;

/** Thrown by updateReadme when a README's markers are missing, duplicated, misordered or overlapping. */
export class MarkerError extends Error {
  constructor(problems: string[]);
  readonly problems: string[];
}

/** Parses action.yml text; plain scalars keep their source spelling (`default: 010` stays "010"). */
export function parseActionYml(text: string): ActionMetadata;

/** `| Input | Required | Default | Description |` table (no trailing newline), or `_No inputs._`. */
export function formatInputsTable(actionYml: ActionYml): string;

/** `| Output | Description |` table (no trailing newline), or `_No outputs._`. */
export function formatOutputsTable(actionYml: ActionYml): string;

/**
 * `readmeText` with the content between the opskit markers replaced by the generated tables; text outside the
 * markers is preserved byte for byte. Throws MarkerError when markers are missing or malformed.
 */
export function updateReadme(readmeText: string, actionYml: ActionYml): string;

/** Compares a README's generated sections with `actionYml`; reports problems instead of throwing. */
export function checkReadme(readmeText: string, actionYml: ActionYml): CheckResult;

/** `actions/<name>/action.yml` entries under `root` (sorted), plus the root action when its README has markers. */
export function findActions(root: string): ActionEntry[];

/** Checks every action's README under `root`; with `write: true` rewrites the ones that drift. */
export function processActions(root: string, options?: { write?: boolean }): ProcessResult[];

/** The CLI (`--check`, `--root <dir>`); returns the exit code. */
export function main(
  argv: string[],
  io?: { stdout?: (line: string) => void; stderr?: (line: string) => void; defaultRoot?: string },
): number;
