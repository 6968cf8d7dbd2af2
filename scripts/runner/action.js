/**
 * Runs a bundled action the way a GitHub runner does, for the tests (test/harness/action.ts) and for
 * `npm run action`:
 * - every input of action.yml gets an `INPUT_*` variable: the given value, else its `default:` (with
 *   `${{ github.token }}`-style expressions evaluated), else empty; names upper-cased with spaces turned to `_`
 *   and hyphens kept, as the runner names them. An input is left out only when the caller says so (`absent`).
 * - GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE, GITHUB_ENV and GITHUB_PATH files, RUNNER_TEMP and
 *   GITHUB_WORKSPACE;
 * - `runs.pre` before and `runs.post` after `runs.main` (post with the STATE_* the main step saved, and the
 *   GITHUB_ENV/GITHUB_PATH changes of earlier steps), honouring `pre-if`/`post-if` (post defaults to always()).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseActionYml } from '../action-docs.js';
import { condition, interpolate, toText } from './expressions.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of an action: `actions/<name>`, or the repository root for `checklist` (the root action.yml). */
export function actionDir(name, root = ROOT) {
  return name === 'checklist' || name === '.' ? root : path.join(root, 'actions', name);
}

/** The action names `npm run action` and the tests know: every actions/<name>/action.yml, and `checklist`. */
export async function actionNames(root = ROOT) {
  const dirs = await readdir(path.join(root, 'actions'), { withFileTypes: true });
  const names = dirs
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'action.yml')))
    .map((d) => d.name)
    .sort();
  return [...names, 'checklist'];
}

/** Parsed action.yml of an action (plain scalars kept as strings, the way the runner passes them). */
export async function loadActionMetadata(name, root = ROOT) {
  const file = path.join(actionDir(name, root), 'action.yml');
  if (!existsSync(file)) throw new Error(`no action named '${name}' (no ${path.relative(root, file)})`);
  return parseActionYml(await readFile(file, 'utf8'));
}

/** The runner's name for an input's variable: `INPUT_` + upper case, spaces to `_`, hyphens kept. */
export function inputVariable(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * The INPUT_* variables a runner sets for a step that uses this action with these `with:` values.
 * @param {Record<string, unknown>} metadata parsed action.yml
 * @param {Record<string, string>} given the step's `with:` values (already evaluated)
 * @param {{ absent?: readonly string[], context?: Record<string, unknown> }} [options]
 */
export function inputVariables(metadata, given, options = {}) {
  const declared = /** @type {Record<string, { default?: unknown } | null>} */ (metadata.inputs ?? {});
  const absent = new Set(options.absent ?? []);
  const context = { github: {}, ...options.context };
  /** @type {Record<string, string>} */
  const env = {};
  for (const [name, spec] of Object.entries(declared)) {
    if (absent.has(name)) continue;
    const fallback = spec?.default;
    env[inputVariable(name)] =
      fallback === undefined || fallback === null ? '' : toText(interpolate(fallback, context));
  }
  for (const [name, value] of Object.entries(given)) {
    if (absent.has(name)) throw new Error(`input '${name}' is both given and marked absent`);
    env[inputVariable(name)] = value;
  }
  return env;
}

/** The `name<<DELIM\nvalue\nDELIM` (or `name=value`) format of GITHUB_OUTPUT, GITHUB_STATE and GITHUB_ENV. */
export function parseFileCommands(text) {
  /** @type {Record<string, string>} */
  const values = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = /** @type {string} */ (lines[i]);
    const m = /^([^<=]+)<<(.+)$/.exec(line);
    if (m) {
      const end = lines.indexOf(/** @type {string} */ (m[2]), i + 1);
      values[/** @type {string} */ (m[1])] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) {
      const [k, ...v] = line.split('=');
      values[/** @type {string} */ (k)] = v.join('=');
    }
  }
  return values;
}

/**
 * Runs an action's bundle (pre, main, post) like the runner.
 * @param {string} name an action under actions/, or `checklist` for the root action
 * @param {Record<string, string>} inputs the step's `with:` values
 * @param {import('./action.d.ts').RunnerOptions} [options]
 * @returns {Promise<import('./action.d.ts').RunnerResult>}
 */
export async function runActionBundle(name, inputs, options = {}) {
  const root = options.root ?? ROOT;
  const metadata = await loadActionMetadata(name, root);
  const runs = /** @type {Record<string, string>} */ (metadata.runs ?? {});
  if (!/^node\d+$/.test(String(runs.using))) throw new Error(`action '${name}' is not a JavaScript action`);
  const dir = actionDir(name, root);

  const work = await mkdtemp(path.join(os.tmpdir(), `opskit-${name}-`));
  const runnerTemp = options.runnerTemp ?? path.join(work, 'temp');
  const workspace = options.workspace ?? path.join(work, 'workspace');
  await mkdir(runnerTemp, { recursive: true });
  await mkdir(workspace, { recursive: true });
  const files = {
    GITHUB_OUTPUT: path.join(work, 'output'),
    GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'),
    GITHUB_STATE: path.join(work, 'state'),
    GITHUB_ENV: path.join(work, 'env'),
    GITHUB_PATH: path.join(work, 'path'),
  };
  for (const file of Object.values(files)) await writeFile(file, '');

  const context = { ...options.context, github: { token: '', ...options.context?.github } };
  const inputEnv = inputVariables(metadata, inputs, { absent: options.absent, context });
  // pre-if and post-if see the action's inputs as the step passes them (defaults included).
  const inputContext = Object.fromEntries(
    Object.keys(metadata.inputs ?? {}).map((name) => [name, inputEnv[inputVariable(name)] ?? '']),
  );
  /** @type {Record<string, string>} */
  const base = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? work,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: workspace,
    ...files,
    ...options.env,
    ...inputEnv,
  };
  const node = options.node ?? process.execPath;
  const steps = [];
  let stdout = '';
  let stderr = '';
  let code = 0;
  let status = 'success';
  try {
    for (const phase of /** @type {const} */ (['pre', 'main', 'post'])) {
      const entry = runs[phase];
      if (!entry) continue;
      // pre-if and post-if default to always(); main does not run after a failed pre step.
      if (phase === 'main' && status !== 'success') continue;
      if (
        phase !== 'main' &&
        !condition(runs[`${phase}-if`] ?? 'always()', { ...context, inputs: inputContext, status })
      )
        continue;
      const env = { ...base, ...(await fileEnv(files, phase)) };
      const result = await spawnNode(node, path.resolve(dir, entry), env, options.cwd ?? workspace, options);
      steps.push({ phase, ...result });
      stdout += result.stdout;
      stderr += result.stderr;
      if (result.code !== 0) {
        code = result.code;
        status = 'failure';
      }
    }
    const outputs = parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8'));
    const summary = await readFile(files.GITHUB_STEP_SUMMARY, 'utf8');
    const state = parseFileCommands(await readFile(files.GITHUB_STATE, 'utf8'));
    const exported = parseFileCommands(await readFile(files.GITHUB_ENV, 'utf8'));
    const addedPath = (await readFile(files.GITHUB_PATH, 'utf8')).split('\n').filter(Boolean);
    const lines = stdout.split('\n');
    const masked = lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
    const shown = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n');
    const visible = [shown, stderr, JSON.stringify(outputs), summary].join('\n');
    return { code, stdout, stderr, outputs, summary, state, exported, addedPath, masked, visible, steps, inputEnv };
  } finally {
    if (!options.keepFiles) await rm(work, { recursive: true, force: true });
  }
}

/** What a later phase of the same action sees: STATE_* from the main step, GITHUB_ENV and GITHUB_PATH additions. */
async function fileEnv(files, phase) {
  /** @type {Record<string, string>} */
  const env = {};
  if (phase === 'post') {
    for (const [k, v] of Object.entries(parseFileCommands(await readFile(files.GITHUB_STATE, 'utf8')))) {
      env[`STATE_${k}`] = v;
    }
  }
  Object.assign(env, parseFileCommands(await readFile(files.GITHUB_ENV, 'utf8')));
  const added = (await readFile(files.GITHUB_PATH, 'utf8')).split('\n').filter(Boolean);
  if (added.length > 0) env.PATH = [...added.reverse(), process.env.PATH ?? ''].join(path.delimiter);
  return env;
}

function spawnNode(node, entry, env, cwd, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [entry], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d.toString();
      options.onStdout?.(d.toString());
    });
    child.stderr.on('data', (d) => {
      stderr += d.toString();
      options.onStderr?.(d.toString());
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}
