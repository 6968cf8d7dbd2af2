/**
 * Repository policy for GitHub Actions workflow files, on top of what actionlint checks: an audit in the spirit of
 * zizmor (https://docs.zizmor.sh/audits/), run over every workflow file by `npm test` (test/workflows.test.ts), with
 * one deliberately bad fixture per rule in test/fixtures/workflow-policy/<rule>.yml.
 *
 * Rules (the id each violation carries):
 *  - `missing-permissions`: `permissions:` is declared at the top level, or on every job (jobs that call a reusable
 *    workflow included).
 *  - `unpinned-uses`: every `uses:` of an action or reusable workflow that is not local (`./...`) or a `docker://`
 *    image is pinned to a full 40-hex commit SHA (`owner/repo@<sha>`, a trailing `# v1.2.3` comment is fine).
 *    `actions/*` and `github/*` are not exempt. First-party references (`opskit/opskit[/<path>]@<ref>`) may use a
 *    tag in this repository's tree, where a commit cannot name its own SHA; `npm run release` rewrites them to the
 *    release commit's SHA, and `{ released: true }` (the release test) holds them to the same rule as the rest.
 *  - `expression-in-run`: no `${{ ... }}` expression inside a step's `run:` script reads attacker-influenced or
 *    indirect values (`github.event.*`, `github.head_ref`, `inputs.*`, `env.*`, `steps.<id>.outputs.*`,
 *    `needs.<job>.outputs.*`): they must be passed through the step's `env:` and used as shell variables.
 *  - `secrets-with-untrusted-code`: a job that can read a secret (`secrets.*` other than GITHUB_TOKEN, in the job or
 *    the workflow's `env:`) runs no code it does not control: no `npm`/`yarn`/`pnpm` install, test or run, no `npx`,
 *    no `*-command` input in a run step, no checkout of a pull request's head. Such code (a dependency's install
 *    script, say) could read the secret from the environment or the runner's memory. Action inputs are not run
 *    steps: migrate-with-backup's `command` is the migration itself, run by the action that holds the database URL.
 *  - `pull-request-target`: the workflow is not triggered by `pull_request_target`, which runs with the base
 *    repository's secrets and a write token for a pull request anyone can open.
 *  - `excessive-permissions`: no `write-all`; no write scope at the top level (grant it on the job that needs it);
 *    and, for a job made only of run steps that do not use the token and of opskit's own actions, no write scope
 *    those do not need (deploy-render: deployments, post-incident-issue: issues, db-backup and migrate-with-backup:
 *    actions, for an artifact). Jobs that call a reusable workflow grant what it asks for and are not judged here.
 *  - `missing-concurrency`: a deploy/migration/restore/rollback (by the file name, a job id, or a job that uses
 *    deploy-render, blue-green-switch, db-restore or migrate-with-backup) declares `concurrency:` (workflow or job),
 *    and none sets `cancel-in-progress: true`.
 *
 * `auditWorkflow` returns the violations with their rule; `checkWorkflowPolicy` the same as `file:line: message`
 * lines; an empty array means compliant.
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export const RULES = [
  'missing-permissions',
  'unpinned-uses',
  'expression-in-run',
  'secrets-with-untrusted-code',
  'pull-request-target',
  'excessive-permissions',
  'missing-concurrency',
] as const;
export type Rule = (typeof RULES)[number];

export interface Violation {
  rule: Rule;
  line: number;
  message: string;
}

export interface PolicyOptions {
  /** A released tree: first-party references must be pinned to a SHA too. */
  released?: boolean;
}

const SENSITIVE_PATH = /deploy|migrat|restore|rollback/i;
/** opskit's own actions that change an environment: a job using one is a deploy/restore for `missing-concurrency`. */
const SENSITIVE_ACTION = /^opskit\/opskit\/actions\/(deploy-render|blue-green-switch|db-restore|migrate-with-backup)@/i;
/** The write scopes opskit's own actions need (their READMEs' permissions column). */
const FIRST_PARTY_WRITES: Record<string, readonly string[]> = {
  'smoke-test': [],
  'db-backup': ['actions'],
  'db-restore': [],
  'migrate-with-backup': ['actions'],
  'deploy-render': ['deployments'],
  'blue-green-switch': [],
  'post-incident-issue': ['issues'],
};
const FIRST_PARTY_ACTION = /^opskit\/opskit\/actions\/([\w-]+)@/i;
const PINNED_REF = /^[^@\s]+@[0-9a-f]{40}$/;
/** This repository's own actions and reusable workflows (`opskit/opskit/actions/<name>@v1`), at any ref. */
const FIRST_PARTY_REF = /^opskit\/opskit(?:\/[^@\s]+)?@[^@\s]+$/i;
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

/** Contexts that must not be interpolated into a `run:` script; each is tested against the expression body. */
const FORBIDDEN_IN_RUN: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bgithub\s*\.\s*event\s*\./, 'github.event.*'],
  [/\bgithub\s*\[\s*['"]event['"]\s*\]/, 'github.event.*'],
  [/\bgithub\s*\.\s*head_ref\b/, 'github.head_ref'],
  [/\bgithub\s*\[\s*['"]head_ref['"]\s*\]/, 'github.head_ref'],
  [/(?<![\w.-])inputs\s*[.[]/, 'inputs.*'],
  [/(?<![\w.-])env\s*[.[]/, 'env.*'],
  [
    /(?<![\w.-])steps\s*(?:\.\s*[\w-]+|\[[^\]]*\])\s*(?:\.\s*outputs\b|\[\s*['"]outputs['"]\s*\])/,
    'steps.<id>.outputs.*',
  ],
  [
    /(?<![\w.-])needs\s*(?:\.\s*[\w-]+|\[[^\]]*\])\s*(?:\.\s*outputs\b|\[\s*['"]outputs['"]\s*\])/,
    'needs.<job>.outputs.*',
  ],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkWorkflowPolicy(fileName: string, yamlText: string, options: PolicyOptions = {}): string[] {
  return auditWorkflow(fileName, yamlText, options).map(({ line, message }) => `${fileName}:${line}: ${message}`);
}

export function auditWorkflow(fileName: string, yamlText: string, options: PolicyOptions = {}): Violation[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    // Not a rule of its own: a file that does not parse fails every check (reported under the first rule).
    return doc.errors.map((error) => ({
      rule: 'missing-permissions' as const,
      line: error.pos ? lineCounter.linePos(error.pos[0]).line : 1,
      message: `YAML does not parse: ${error.message.split('\n')[0]}`,
    }));
  }

  const root: unknown = doc.toJS();
  if (!isObject(root)) return [{ rule: 'missing-permissions', line: 1, message: 'a workflow must be a YAML mapping' }];
  const jobs: JsonObject = isObject(root.jobs) ? root.jobs : {};
  const jobIds = Object.keys(jobs);

  const violations: Violation[] = [];
  const at = (path: ReadonlyArray<string | number>) => lineOf(doc, lineCounter, path);
  const reportAs = (rule: Rule) => (path: ReadonlyArray<string | number>, message: string) =>
    violations.push({ rule, line: at(path), message });

  // missing-permissions
  let report = reportAs('missing-permissions');
  if (!('permissions' in root)) {
    if (jobIds.length === 0) {
      report([], 'no `permissions:` declared (declare it at the top level, e.g. `permissions: { contents: read }`)');
    }
    for (const jobId of jobIds) {
      const job = jobs[jobId];
      if (!isObject(job) || !('permissions' in job)) {
        report(
          ['jobs', jobId],
          `job '${jobId}' has no \`permissions:\` and the workflow declares none at the top level (the token would get the repository default)`,
        );
      }
    }
  }

  // pull-request-target
  const triggers = workflowTriggers(root.on ?? (root as JsonObject)['true']);
  if (triggers.includes('pull_request_target')) {
    reportAs('pull-request-target')(
      ['on'],
      "the workflow runs on `pull_request_target`: code and metadata from a pull request anyone can open run with the base repository's secrets and a write token; use `pull_request` (and a separate `workflow_run` for what needs secrets)",
    );
  }

  // excessive-permissions: write-all anywhere, writes at the top level
  report = reportAs('excessive-permissions');
  const workflowWrites = writeScopes(root.permissions);
  if (root.permissions === 'write-all') {
    report(['permissions'], 'the workflow grants `write-all`; grant each job only the scopes it uses');
  } else if (workflowWrites.length > 0) {
    report(
      ['permissions'],
      `the workflow grants ${workflowWrites.map((s) => `\`${s}: write\``).join(', ')} to every job; grant write scopes on the job that needs them`,
    );
  }

  const workflowEnvSecrets = readsSecrets(root.env);
  for (const jobId of jobIds) {
    const job = jobs[jobId];
    if (!isObject(job)) continue;
    const steps = (Array.isArray(job.steps) ? job.steps : []).filter(isObject);

    // unpinned-uses: reusable workflow calls and steps
    report = reportAs('unpinned-uses');
    if (typeof job.uses === 'string') {
      checkPinned(job.uses, `job '${jobId}'`, ['jobs', jobId, 'uses'], report, options);
    }
    (Array.isArray(job.steps) ? job.steps : []).forEach((step, index) => {
      if (!isObject(step)) return;
      const label = `job '${jobId}' step ${stepLabel(step, index)}`;
      if (typeof step.uses === 'string') {
        checkPinned(step.uses, label, ['jobs', jobId, 'steps', index, 'uses'], report, options);
      }

      // expression-in-run
      if (typeof step.run === 'string') {
        for (const match of step.run.matchAll(EXPRESSION)) {
          const body = match[1] ?? '';
          const hits = [...new Set(FORBIDDEN_IN_RUN.filter(([re]) => re.test(body)).map(([, name]) => name))];
          if (hits.length > 0) {
            reportAs('expression-in-run')(
              ['jobs', jobId, 'steps', index, 'run'],
              `${label} interpolates \`${match[0].replace(/\s+/g, ' ')}\` (${hits.join(', ')}) into its run script; pass it through \`env:\` and use the shell variable instead`,
            );
          }
        }
      }
    });

    // secrets-with-untrusted-code (a reusable-workflow call is audited in the called workflow)
    if (typeof job.uses !== 'string' && (workflowEnvSecrets || readsSecrets(job))) {
      (Array.isArray(job.steps) ? job.steps : []).forEach((step, index) => {
        if (!isObject(step)) return;
        const why = untrustedCode(step);
        if (why) {
          reportAs('secrets-with-untrusted-code')(
            ['jobs', jobId, 'steps', index],
            `job '${jobId}' can read secrets and step ${stepLabel(step, index)} ${why}; run it in a job of its own without secrets (\`permissions: { contents: read }\`)`,
          );
        }
      });
    }

    // excessive-permissions: write-all, and writes the job's steps do not need
    report = reportAs('excessive-permissions');
    if (job.permissions === 'write-all') {
      report(['jobs', jobId, 'permissions'], `job '${jobId}' grants \`write-all\`; grant only the scopes it uses`);
    } else if (typeof job.uses !== 'string') {
      const needed = neededWrites(steps);
      const unneeded = needed === undefined ? [] : writeScopes(job.permissions).filter((s) => !needed.includes(s));
      if (unneeded.length > 0) {
        report(
          ['jobs', jobId, 'permissions'],
          `job '${jobId}' grants ${unneeded.map((s) => `\`${s}: write\``).join(', ')}, which none of its steps uses (run steps that do not use the token, and opskit actions that do not need it); remove it`,
        );
      }
    }
  }

  // missing-concurrency for deploy-like workflows
  report = reportAs('missing-concurrency');
  const baseName = fileName.split(/[\\/]/).pop() ?? fileName;
  const sensitiveJobs = jobIds.filter((id) => SENSITIVE_PATH.test(id) || usesSensitiveAction(jobs[id]));
  if (SENSITIVE_PATH.test(baseName) || sensitiveJobs.length > 0) {
    const what =
      sensitiveJobs.length > 0 ? `job(s) ${sensitiveJobs.map((id) => `'${id}'`).join(', ')}` : `'${baseName}'`;
    const hasJobConcurrency = (id: string) => isObject(jobs[id]) && 'concurrency' in (jobs[id] as JsonObject);
    if (!('concurrency' in root)) {
      if (sensitiveJobs.length > 0) {
        for (const id of sensitiveJobs.filter((id) => !hasJobConcurrency(id))) {
          report(
            ['jobs', id],
            `job '${id}' looks like a deploy/migrate/restore/rollback but neither it nor the workflow declares \`concurrency:\``,
          );
        }
      } else if (!jobIds.some(hasJobConcurrency)) {
        report(
          [],
          `${what} looks like a deploy/migrate/restore/rollback workflow but declares no \`concurrency:\` (workflow or job level)`,
        );
      }
    }
    const blocks: Array<[Json | undefined, Array<string | number>]> = [[root.concurrency, ['concurrency']]];
    for (const id of jobIds) {
      const job = jobs[id];
      if (isObject(job)) blocks.push([job.concurrency, ['jobs', id, 'concurrency']]);
    }
    for (const [block, path] of blocks) {
      if (isObject(block) && (block['cancel-in-progress'] === true || block['cancel-in-progress'] === 'true')) {
        report(
          [...path, 'cancel-in-progress'],
          `${what}: \`cancel-in-progress: true\` in a deploy/migrate/restore/rollback workflow can kill a run half-way; use false`,
        );
      }
    }
  }

  return violations.sort((a, b) => a.line - b.line);
}

function checkPinned(
  uses: string,
  label: string,
  path: Array<string | number>,
  report: (path: ReadonlyArray<string | number>, message: string) => void,
  options: PolicyOptions,
): void {
  const ref = uses.trim();
  if (ref.startsWith('./') || ref.startsWith('docker://')) return;
  if (FIRST_PARTY_REF.test(ref) && !options.released) return;
  if (!PINNED_REF.test(ref)) {
    report(
      path,
      `${label} uses '${ref}', which is not pinned to a full 40-character commit SHA (write owner/repo@<sha> # vX.Y.Z)`,
    );
  }
}

/** The event names of `on:` (a string, a list, or a mapping). */
function workflowTriggers(on: Json | undefined): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return isObject(on) ? Object.keys(on) : [];
}

/** The scopes a `permissions:` value grants write to (`write-all` counts as every scope). */
function writeScopes(permissions: Json | undefined): string[] {
  if (permissions === 'write-all') return ['all'];
  if (!isObject(permissions)) return [];
  return Object.entries(permissions)
    .filter(([, level]) => level === 'write')
    .map(([scope]) => scope);
}

/** `secrets.<NAME>` other than GITHUB_TOKEN (whose reach `permissions:` limits), or `secrets: inherit`. */
function readsSecrets(value: Json | undefined): boolean {
  const text = JSON.stringify(value ?? null);
  return /\bsecrets\s*(?:\.\s*(?!GITHUB_TOKEN\b)[\w-]+|\[)/i.test(text);
}

/** Why a step runs code the workflow does not control, or undefined. */
function untrustedCode(step: JsonObject): string | undefined {
  if (typeof step.run === 'string') {
    const run = step.run;
    const pm = /\b(?:npm|yarn|pnpm|bun)\s+(?:ci|install|i|add|test|t|run|exec|x)\b|\bnpx\s/.exec(run);
    if (pm) return `runs \`${pm[0].trim()}\` (package install scripts and the project's own code)`;
    const commandInput = /\binputs\s*\.\s*([\w-]+-command)\b/.exec(`${run}\n${JSON.stringify(step.env ?? null)}`);
    if (commandInput) return `runs the \`${commandInput[1]}\` input (a command the caller chose)`;
  }
  if (typeof step.uses === 'string' && /^actions\/checkout@/i.test(step.uses.trim())) {
    const ref = JSON.stringify(isObject(step.with) ? (step.with.ref ?? null) : null);
    if (
      /github\s*\.\s*(?:event\s*\.\s*pull_request\s*\.\s*head|head_ref|event\s*\.\s*workflow_run\s*\.\s*head_)/.test(
        ref,
      )
    ) {
      return "checks out the pull request's code";
    }
  }
  return undefined;
}

/**
 * The write scopes a job's steps can use, or undefined when that cannot be told: a step that uses a third-party
 * action, or a run step that reads the token (`github.token`, `secrets.GITHUB_TOKEN`), may use any scope granted.
 */
function neededWrites(steps: JsonObject[]): string[] | undefined {
  const needed = new Set<string>();
  for (const step of steps) {
    if (typeof step.uses === 'string') {
      const firstParty = FIRST_PARTY_ACTION.exec(step.uses.trim());
      const writes = firstParty ? FIRST_PARTY_WRITES[firstParty[1]!.toLowerCase()] : undefined;
      if (!writes) return undefined;
      for (const scope of writes) needed.add(scope);
    } else if (/\bgithub\s*\.\s*token\b|\bGITHUB_TOKEN\b/.test(JSON.stringify(step))) {
      return undefined;
    }
  }
  return [...needed];
}

function usesSensitiveAction(job: Json | undefined): boolean {
  if (!isObject(job) || !Array.isArray(job.steps)) return false;
  return job.steps.some((step) => isObject(step) && typeof step.uses === 'string' && SENSITIVE_ACTION.test(step.uses));
}

function stepLabel(step: JsonObject, index: number): string {
  const name = typeof step.name === 'string' ? step.name : typeof step.id === 'string' ? step.id : undefined;
  return name ? `#${index + 1} '${name}'` : `#${index + 1}`;
}

/** 1-based line of the deepest node on `path` that exists: a mapping entry's key line, or a sequence item's line. */
function lineOf(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<string | number>): number {
  for (let length = path.length; length > 0; length--) {
    const parent = length === 1 ? doc.contents : doc.getIn(path.slice(0, length - 1), true);
    const last = path[length - 1];
    let range: readonly [number, number, number] | null | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
      range = isScalar(pair?.key) ? pair.key.range : undefined;
    } else if (isSeq(parent) && typeof last === 'number') {
      const item: unknown = parent.items[last];
      range = isNode(item) ? item.range : undefined;
    }
    if (range) return lineCounter.linePos(range[0]).line;
  }
  const range = doc.contents?.range;
  return range ? lineCounter.linePos(range[0]).line : 1;
}
