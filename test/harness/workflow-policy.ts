/**
 * Repository policy for GitHub Actions workflow files, on top of what actionlint checks.
 *
 * Rules:
 *  1. `permissions:` is declared at the top level, or on every job (jobs that call a reusable workflow included).
 *  2. Every `uses:` of an action or reusable workflow that is not local (`./...`), a `docker://` image or
 *     first-party (this repository's own actions and workflows, `opskit/opskit[/<path>]@<ref>`) is pinned to a
 *     full 40-hex commit SHA (`owner/repo@<sha>`, a trailing `# v1.2.3` YAML comment is fine).
 *     `actions/*` and `github/*` are not exempt. First-party references may use a tag (`@v1`): the reusable
 *     workflows and starter workflows in this repository are released together with the actions they call, so
 *     a consumer pins the reusable workflow itself by SHA and it refers to its own actions at the matching tag
 *     (pinning them by SHA inside this repository is impossible: a commit cannot contain its own SHA).
 *  3. No `${{ ... }}` expression inside a step's `run:` script reads attacker-influenced or indirect values
 *     (`github.event.*`, `github.head_ref`, `inputs.*`, `env.*`, `steps.<id>.outputs.*`, `needs.<job>.outputs.*`):
 *     they must be passed through the step's `env:` and used as shell variables.
 *  4. If the file name or a job id looks like a deploy/migration/restore/rollback, the workflow (or that job)
 *     declares `concurrency:`, and no `concurrency:` in it sets `cancel-in-progress: true`.
 *
 * `checkWorkflowPolicy` returns human-readable violations (`file:line: message`); an empty array means compliant.
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

const SENSITIVE_PATH = /deploy|migrat|restore|rollback/i;
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

export function checkWorkflowPolicy(fileName: string, yamlText: string): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return doc.errors.map((error) => {
      const line = error.pos ? lineCounter.linePos(error.pos[0]).line : 1;
      return `${fileName}:${line}: YAML does not parse: ${error.message.split('\n')[0]}`;
    });
  }

  const root: unknown = doc.toJS();
  if (!isObject(root)) return [`${fileName}:1: a workflow must be a YAML mapping`];
  const jobs: JsonObject = isObject(root.jobs) ? root.jobs : {};
  const jobIds = Object.keys(jobs);

  const violations: Array<{ line: number; message: string }> = [];
  const at = (path: ReadonlyArray<string | number>) => lineOf(doc, lineCounter, path);
  const report = (path: ReadonlyArray<string | number>, message: string) =>
    violations.push({ line: at(path), message });

  // 1. permissions
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

  for (const jobId of jobIds) {
    const job = jobs[jobId];
    if (!isObject(job)) continue;

    // 2. pinning: reusable workflow calls and steps
    if (typeof job.uses === 'string') checkPinned(job.uses, `job '${jobId}'`, ['jobs', jobId, 'uses'], report);
    const steps = Array.isArray(job.steps) ? job.steps : [];
    steps.forEach((step, index) => {
      if (!isObject(step)) return;
      const label = `job '${jobId}' step ${stepLabel(step, index)}`;
      if (typeof step.uses === 'string') checkPinned(step.uses, label, ['jobs', jobId, 'steps', index, 'uses'], report);

      // 3. expressions in run scripts
      if (typeof step.run === 'string') {
        for (const match of step.run.matchAll(EXPRESSION)) {
          const body = match[1] ?? '';
          const hits = [...new Set(FORBIDDEN_IN_RUN.filter(([re]) => re.test(body)).map(([, name]) => name))];
          if (hits.length > 0) {
            report(
              ['jobs', jobId, 'steps', index, 'run'],
              `${label} interpolates \`${match[0].replace(/\s+/g, ' ')}\` (${hits.join(', ')}) into its run script; pass it through \`env:\` and use the shell variable instead`,
            );
          }
        }
      }
    });
  }

  // 4. concurrency for deploy-like workflows
  const baseName = fileName.split(/[\\/]/).pop() ?? fileName;
  const sensitiveJobs = jobIds.filter((id) => SENSITIVE_PATH.test(id));
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

  return violations.sort((a, b) => a.line - b.line).map(({ line, message }) => `${fileName}:${line}: ${message}`);
}

function checkPinned(
  uses: string,
  label: string,
  path: Array<string | number>,
  report: (path: ReadonlyArray<string | number>, message: string) => void,
): void {
  const ref = uses.trim();
  if (ref.startsWith('./') || ref.startsWith('docker://')) return;
  if (FIRST_PARTY_REF.test(ref)) return;
  if (!PINNED_REF.test(ref)) {
    report(
      path,
      `${label} uses '${ref}', which is not pinned to a full 40-character commit SHA (write owner/repo@<sha> # vX.Y.Z)`,
    );
  }
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
