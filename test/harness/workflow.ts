/**
 * Expands a workflow the way GitHub would run it, for tests: the workflow's own inputs (given values, then their
 * `default:`, typed as declared), each job's `if:` and each step's `with:`/`env:` evaluated with the runner's
 * expression rules (scripts/runner/expressions.js), each `uses:` resolved to one of our actions, one of our
 * reusable workflows (expanded in turn with the caller's `with:` and `secrets:`), or a pinned third-party action.
 * `runJob` then runs a job's steps: our actions through their bundles (scripts/runner/action.js, every default
 * filled), with each step's outputs feeding the expressions of the steps after it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadActionMetadata, ROOT } from '../../scripts/runner/action.js';
import { condition, interpolate, toText, truthy } from '../../scripts/runner/expressions.js';
import { type ActionRun, runAction, type RunOptions } from './action.js';
import { type RunResult, runProcess } from './process.js';

type Json = Record<string, unknown>;

/** Inputs of the third-party actions our workflows pin, from their action.yml at the pinned versions. */
export const THIRD_PARTY_INPUTS: Record<string, string[]> = {
  'actions/checkout': [
    'repository',
    'ref',
    'token',
    'ssh-key',
    'ssh-known-hosts',
    'ssh-strict',
    'ssh-user',
    'persist-credentials',
    'path',
    'clean',
    'filter',
    'sparse-checkout',
    'sparse-checkout-cone-mode',
    'fetch-depth',
    'fetch-tags',
    'show-progress',
    'lfs',
    'submodules',
    'set-safe-directory',
    'github-server-url',
  ],
  'actions/setup-node': [
    'node-version',
    'node-version-file',
    'architecture',
    'check-latest',
    'registry-url',
    'scope',
    'token',
    'cache',
    'package-manager-cache',
    'cache-dependency-path',
    'mirror',
    'mirror-token',
  ],
  'actions/upload-artifact': [
    'name',
    'path',
    'if-no-files-found',
    'retention-days',
    'compression-level',
    'overwrite',
    'include-hidden-files',
  ],
  'actions/download-artifact': ['name', 'path', 'pattern', 'merge-multiple', 'github-token', 'repository', 'run-id'],
};

export type Uses =
  | { kind: 'action'; name: string }
  | { kind: 'workflow'; file: string }
  | { kind: 'third-party'; name: string; ref: string }
  | { kind: 'unknown'; text: string };

const FIRST_PARTY = /^opskit\/opskit(?:\/(?<path>[^@]+))?@(?<ref>.+)$/i;

/** What a `uses:` names: one of our actions (`checklist` for the root one), one of our workflows, or another action. */
export function resolveUses(text: string): Uses {
  const local = /^\.\/(?<path>.*)$/.exec(text)?.groups?.path;
  const remote = FIRST_PARTY.exec(text)?.groups;
  const where = local ?? (remote ? (remote.path ?? '') : undefined);
  if (where !== undefined) {
    const clean = where.replace(/\/$/, '');
    if (clean === '') return { kind: 'action', name: 'checklist' };
    const action = /^actions\/([^/]+)$/.exec(clean)?.[1];
    if (action && existsSync(path.join(ROOT, 'actions', action, 'action.yml'))) return { kind: 'action', name: action };
    if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(clean) && existsSync(path.join(ROOT, clean)))
      return { kind: 'workflow', file: clean };
    return { kind: 'unknown', text };
  }
  const third = /^(?<name>[\w.-]+\/[\w.-]+)(?:\/[^@]*)?@(?<ref>.+)$/.exec(text)?.groups;
  if (third) return { kind: 'third-party', name: third.name!, ref: third.ref! };
  return { kind: 'unknown', text };
}

export interface WorkflowCall {
  /** Values for the workflow's inputs (workflow_call or workflow_dispatch), as a caller's `with:` gives them. */
  inputs?: Record<string, unknown>;
  secrets?: Record<string, string>;
  /** The github context (event_name, repository, ref_name, event, token, …). */
  github?: Json;
  vars?: Record<string, string>;
  /** Results and outputs of jobs this one needs (`needs.<job>.result`, `needs.<job>.outputs.<name>`). */
  needs?: Record<string, { result?: string; outputs?: Record<string, string> }>;
}

export interface ExpandedStep {
  index: number;
  id?: string;
  name: string;
  uses?: Uses;
  run?: string;
  /** The step's `if:`, raw. */
  if?: unknown;
  /** `continue-on-error:`, raw: a failure sets the step's outcome, not the job's status or its conclusion. */
  continueOnError?: unknown;
  /** `with:` as written. */
  rawWith: Json;
  env: Json;
}

export interface ExpandedJob {
  id: string;
  file: string;
  needs: string[];
  if?: unknown;
  environment?: unknown;
  permissions?: unknown;
  steps: ExpandedStep[];
  /** The job's `outputs:` as written. */
  rawOutputs: Json;
  /** A job that calls one of our reusable workflows: the call, its evaluated inputs and secrets, and its jobs. */
  call?: { file: string; inputs: Record<string, unknown>; secrets: Record<string, string>; jobs: ExpandedJob[] };
  /** The context its expressions are evaluated in (inputs, secrets, github, vars, needs). */
  context: Json;
}

export interface Expanded {
  file: string;
  doc: Json;
  inputs: Record<string, unknown>;
  jobs: ExpandedJob[];
  /** Everything that would not work on GitHub: unknown `uses:`, unknown or missing inputs, bad expressions. */
  problems: string[];
}

export function readWorkflow(file: string): Json {
  return parse(readFileSync(path.resolve(ROOT, file), 'utf8')) as Json;
}

function triggers(doc: Json): Json {
  const on = doc.on ?? doc[true as unknown as string];
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((e) => [e, {}]));
  return (on ?? {}) as Json;
}

/** The inputs a workflow declares (workflow_call's, else workflow_dispatch's). */
export function declaredInputs(doc: Json): Record<string, Json> {
  const on = triggers(doc);
  const call = (on.workflow_call as Json | null)?.inputs ?? (on.workflow_dispatch as Json | null)?.inputs;
  return (call ?? {}) as Record<string, Json>;
}

export function declaredSecrets(doc: Json): Record<string, Json> {
  return ((triggers(doc).workflow_call as Json | null)?.secrets ?? {}) as Record<string, Json>;
}

/** A workflow's `inputs` context: given values, else defaults, typed (boolean, number) the way GitHub types them. */
function inputContext(doc: Json, given: Record<string, unknown>, problems: string[], where: string, ctx: Json) {
  const declared = declaredInputs(doc);
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(given))
    if (!(name in declared)) problems.push(`${where}: input '${name}' is not declared by the workflow`);
  for (const [name, spec] of Object.entries(declared)) {
    let value = name in given ? given[name] : spec?.default;
    if (value === undefined) {
      if (spec?.required) problems.push(`${where}: required input '${name}' is not given`);
      value = spec?.type === 'boolean' ? false : spec?.type === 'number' ? 0 : '';
    }
    value = interpolate(value, ctx);
    if (spec?.type === 'boolean' && typeof value === 'string') value = value === 'true';
    if (spec?.type === 'number' && typeof value === 'string') value = Number(value);
    values[name] = value;
  }
  return values;
}

/** Expands a workflow file (relative to the repository root) for one call or event. */
export async function expandWorkflow(file: string, call: WorkflowCall = {}, depth = 0): Promise<Expanded> {
  const doc = readWorkflow(file);
  const problems: string[] = [];
  const github = {
    event_name: 'workflow_dispatch',
    repository: 'acme/app',
    ref_name: 'main',
    event: {},
    ...call.github,
  };
  const base: Json = { github, secrets: call.secrets ?? {}, vars: call.vars ?? {}, env: {}, runner: { temp: '/tmp' } };
  const inputs = inputContext(doc, call.inputs ?? {}, problems, file, base);
  const context: Json = { ...base, inputs };
  for (const [name, spec] of Object.entries(declaredSecrets(doc)))
    if (spec?.required && !(call.secrets ?? {})[name] && depth > 0)
      problems.push(`${file}: required secret '${name}' is not passed`);
  const jobs: ExpandedJob[] = [];
  for (const [id, raw] of Object.entries((doc.jobs ?? {}) as Record<string, Json>)) {
    const needs = ([] as string[]).concat((raw.needs as string | string[] | undefined) ?? []);
    const jobContext: Json = {
      ...context,
      needs: Object.fromEntries(needs.map((n) => [n, { result: 'success', outputs: {}, ...call.needs?.[n] }])),
      env: { ...(doc.env as Json), ...(raw.env as Json) },
      job: {},
      steps: {},
      matrix: {},
      strategy: {},
    };
    const job: ExpandedJob = {
      id,
      file,
      needs,
      if: raw.if,
      environment: raw.environment,
      permissions: raw.permissions,
      steps: [],
      rawOutputs: (raw.outputs ?? {}) as Json,
      context: jobContext,
    };
    const where = `${file} job ${id}`;
    try {
      if (raw.if !== undefined) condition(raw.if, { ...jobContext, status: 'success' });
    } catch (err) {
      problems.push(`${where} if: ${(err as Error).message}`);
    }
    if (typeof raw.uses === 'string') {
      const uses = resolveUses(raw.uses);
      if (uses.kind !== 'workflow') {
        problems.push(`${where}: uses '${raw.uses}', which is not one of our reusable workflows`);
      } else {
        const evaluated = evaluateMap((raw.with ?? {}) as Json, jobContext, problems, `${where} with`);
        const secrets = Object.fromEntries(
          Object.entries(evaluateMap((raw.secrets ?? {}) as Json, jobContext, problems, `${where} secrets`)).map(
            ([k, v]) => [k, toText(v)],
          ),
        );
        if (raw.secrets === 'inherit') problems.push(`${where}: secrets: inherit hands every secret to the workflow`);
        const declaredSecretNames = Object.keys(declaredSecrets(readWorkflow(uses.file)));
        for (const name of Object.keys(secrets))
          if (!declaredSecretNames.includes(name))
            problems.push(`${where}: secret '${name}' is not declared by ${uses.file}`);
        const inner = await expandWorkflow(uses.file, { ...call, inputs: evaluated, secrets }, depth + 1);
        problems.push(...inner.problems.map((p) => `${where} → ${p}`));
        job.call = { file: uses.file, inputs: evaluated, secrets, jobs: inner.jobs };
      }
    }
    const steps = (raw.steps ?? []) as Json[];
    for (const [index, step] of steps.entries()) {
      const name = String(step.name ?? step.id ?? step.uses ?? `step ${index + 1}`);
      const at = `${where} step '${name}'`;
      const expanded: ExpandedStep = {
        index,
        id: step.id as string | undefined,
        name,
        if: step.if,
        continueOnError: step['continue-on-error'],
        rawWith: (step.with ?? {}) as Json,
        env: (step.env ?? {}) as Json,
      };
      if (typeof step.uses === 'string') expanded.uses = resolveUses(step.uses);
      else if (typeof step.run === 'string') expanded.run = step.run;
      else problems.push(`${at}: neither uses: nor run:`);
      if (expanded.uses) problems.push(...(await checkWith(expanded.uses, expanded.rawWith, at)));
      // Every expression must evaluate (steps' outputs are still unknown here, so they read as null).
      try {
        if (step.if !== undefined) condition(step.if, { ...jobContext, status: 'success' });
      } catch (err) {
        problems.push(`${at} if: ${(err as Error).message}`);
      }
      evaluateMap(expanded.rawWith, jobContext, problems, `${at} with`);
      evaluateMap(expanded.env, jobContext, problems, `${at} env`);
      job.steps.push(expanded);
    }
    jobs.push(job);
  }
  return { file, doc, inputs, jobs, problems };
}

function evaluateMap(map: Json, context: Json, problems: string[], where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof map !== 'object' || map === null) return out;
  for (const [k, v] of Object.entries(map)) {
    try {
      out[k] = interpolate(v, context);
    } catch (err) {
      problems.push(`${where} ${k}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** `with:` keys the action does not declare (a typo GitHub warns about and then ignores), and missing required ones. */
async function checkWith(uses: Uses, given: Json, at: string): Promise<string[]> {
  const problems: string[] = [];
  let declared: string[];
  let required: string[] = [];
  if (uses.kind === 'action') {
    const meta = (await loadActionMetadata(uses.name)) as { inputs?: Record<string, Json | null> };
    declared = Object.keys(meta.inputs ?? {});
    required = Object.entries(meta.inputs ?? {})
      .filter(([, spec]) => spec?.required === true || spec?.required === 'true')
      .map(([k]) => k);
  } else if (uses.kind === 'third-party') {
    const known = THIRD_PARTY_INPUTS[uses.name];
    if (!known) return [`${at}: uses ${uses.name}, whose inputs this harness does not know`];
    declared = known;
  } else if (uses.kind === 'workflow') {
    return [`${at}: a reusable workflow (${uses.file}) is called from a step; GitHub calls them from jobs`];
  } else {
    return [`${at}: uses '${uses.text}', which resolves to nothing`];
  }
  for (const key of Object.keys(given))
    if (!declared.includes(key)) problems.push(`${at}: input '${key}' is not an input of ${describe(uses)}`);
  for (const key of required)
    if (!(key in given)) problems.push(`${at}: required input '${key}' of ${describe(uses)} is not given`);
  return problems;
}

function describe(uses: Uses): string {
  return uses.kind === 'action' ? `actions/${uses.name}` : uses.kind === 'third-party' ? uses.name : String(uses.kind);
}

/** Finds a job by id, looking inside the reusable workflows that jobs call (`caller/inner` names an inner job). */
export function findJob(expanded: Expanded | ExpandedJob[], id: string): ExpandedJob {
  const jobs = Array.isArray(expanded) ? expanded : expanded.jobs;
  const [head, ...rest] = id.split('/');
  const job = jobs.find((j) => j.id === head);
  if (!job) throw new Error(`no job '${head}' (jobs: ${jobs.map((j) => j.id).join(', ')})`);
  if (rest.length === 0) return job;
  if (!job.call) throw new Error(`job '${head}' calls no reusable workflow`);
  return findJob(job.call.jobs, rest.join('/'));
}

export interface StepRun {
  step: ExpandedStep;
  /** Skipped by its `if:`, a `run:` step (not run here), a third-party action (not run here), or run. */
  status: 'skipped' | 'not-run' | 'ran';
  /** The `with:` values it got, evaluated. */
  with?: Record<string, string>;
  run?: ActionRun;
  /** A `run:` step run with runShell. */
  shell?: RunResult;
}

export interface JobRunOptions extends RunOptions {
  /** Also run `run:` steps, with bash -e and their evaluated env: (for small guard scripts; default off). */
  runShell?: boolean;
  /**
   * Inputs swapped in for one action wherever it runs, on top of the workflow's `with:` (a vendor endpoint: Render's
   * api-url pointed at the simulator). Everything else is the workflow's own.
   */
  endpoints?: Record<string, Record<string, string>>;
  /** Runs the job as if this step (by id or name) failed or had these outputs, without running it. */
  stepOutcomes?: Record<string, { outcome?: 'success' | 'failure'; outputs?: Record<string, string> }>;
}

/**
 * Runs one expanded job the way the runner does: each step's `if:` against the job status so far, our actions
 * through their bundles with the evaluated `with:` (every other input at its default), the outputs of each step in
 * `steps.<id>.outputs` for those after it. `run:` steps and third-party actions are listed, not run.
 */
export async function runJob(job: ExpandedJob, options: JobRunOptions = {}): Promise<StepRun[]> {
  return (await runJobWithOutputs(job, options)).steps;
}

/** runJob, and the job's `outputs:` evaluated once its steps have run (what `needs.<job>.outputs` gives later jobs). */
export async function runJobWithOutputs(
  job: ExpandedJob,
  options: JobRunOptions = {},
): Promise<{ steps: StepRun[]; outputs: Record<string, string>; result: 'success' | 'failure' }> {
  const steps: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  const results: StepRun[] = [];
  let status: 'success' | 'failure' = 'success';
  const github = job.context.github as Json;
  for (const step of job.steps) {
    const context = { ...job.context, steps, status };
    if (!condition(step.if, context)) {
      results.push({ step, status: 'skipped' });
      if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      continue;
    }
    const forced = options.stepOutcomes?.[step.id ?? ''] ?? options.stepOutcomes?.[step.name];
    const values = Object.fromEntries(
      Object.entries(step.rawWith).map(([k, v]) => [k, toText(interpolate(v, context))]),
    );
    if (!forced && step.run !== undefined && options.runShell) {
      const env = Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, toText(interpolate(v, context))]));
      const files = await mkdtemp(path.join(os.tmpdir(), 'opskit-run-step-'));
      const commandFiles = {
        GITHUB_STEP_SUMMARY: path.join(files, 'summary.md'),
        GITHUB_OUTPUT: path.join(files, 'output'),
        GITHUB_ENV: path.join(files, 'env'),
      };
      const shell = await runProcess('bash', ['-e', '-c', step.run], {
        env: { PATH: process.env.PATH ?? '', ...commandFiles, ...options.env, ...env },
      }).finally(() => rm(files, { recursive: true, force: true }));
      const outcome = shell.code === 0 ? 'success' : 'failure';
      if (outcome === 'failure') status = 'failure';
      if (step.id) steps[step.id] = { outputs: {}, outcome, conclusion: outcome };
      results.push({ step, status: 'ran', shell });
      continue;
    }
    if (forced || step.uses?.kind !== 'action') {
      const outcome = forced?.outcome ?? 'success';
      if (step.id) steps[step.id] = { outputs: forced?.outputs ?? {}, outcome, conclusion: outcome };
      if (outcome === 'failure') status = 'failure';
      results.push({ step, status: forced ? 'ran' : 'not-run', with: values });
      continue;
    }
    const run = await runAction(
      step.uses.name,
      { ...values, ...options.endpoints?.[step.uses.name] },
      {
        ...options,
        githubToken: options.githubToken ?? toText(github.token),
      },
    );
    const outcome = run.code === 0 ? 'success' : 'failure';
    const tolerated = outcome === 'failure' && truthy(interpolate(step.continueOnError ?? false, context));
    if (outcome === 'failure' && !tolerated) status = 'failure';
    if (step.id) steps[step.id] = { outputs: run.outputs, outcome, conclusion: tolerated ? 'success' : outcome };
    results.push({ step, status: 'ran', with: values, run });
  }
  const context = { ...job.context, steps, status };
  const outputs = Object.fromEntries(
    Object.entries(job.rawOutputs).map(([k, v]) => [k, toText(interpolate(v, context))]),
  );
  return { steps: results, outputs, result: status };
}
