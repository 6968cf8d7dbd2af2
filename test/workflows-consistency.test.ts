/**
 * Consistency between what calls opskit and what opskit declares, across the repository's workflows
 * (.github/workflows), the starter workflows (workflows-templates) and the ```yaml examples of the READMEs and docs:
 *
 *  - every `uses:` of an opskit action (`./actions/<name>`, `opskit/opskit/actions/<name>@<ref>`) passes only the
 *    inputs its action.yml declares and every required one (a `${{ }}` value counts as given);
 *  - every reusable-workflow call (`./.github/workflows/<x>.yml`, `opskit/opskit/.github/workflows/<x>.yml@<ref>`)
 *    names a workflow_call workflow that exists, passes only declared inputs and secrets and every required one,
 *    never `secrets: inherit`, and grants the permissions the called workflow's jobs ask for;
 *  - `steps.<id>.outputs.<name>` of an opskit action, `needs.<job>.outputs.<name>` and a reusable workflow's
 *    `jobs.<job>.outputs.<name>` name outputs that are declared;
 *  - every starter workflow calls opskit by its remote name (a `./` path does not exist in the repository it is
 *    copied to), only things that exist, and has a <name>.properties.json with GitHub's keys;
 *  - deploy and rollback share the concurrency group opskit-<environment>, and no caller reuses it (a deadlock).
 *
 * Each check is a function of in-memory YAML; the last blocks feed each one a bad example to prove it can fail.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkWorkflowPolicy } from './harness/workflow-policy.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Level = 'none' | 'read' | 'write';

interface Declared {
  required: boolean;
}
interface ActionSpec {
  inputs: Map<string, Declared>;
  outputs: Set<string>;
}
interface WorkflowSpec {
  inputs: Map<string, Declared>;
  secrets: Map<string, Declared>;
  outputs: Set<string>;
  /** The most each permission scope is asked for by the workflow's jobs. */
  permissions: Map<string, Level>;
}
interface Catalog {
  /** By folder name under actions/; '' is the root action.yml. */
  actions: Map<string, ActionSpec>;
  /** By file name under .github/workflows/, only workflows with `on: workflow_call`. */
  workflows: Map<string, WorkflowSpec>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const list = (dir: string, pattern: RegExp) =>
  existsSync(join(ROOT, dir))
    ? readdirSync(join(ROOT, dir))
        .filter((name) => pattern.test(name))
        .sort()
        .map((name) => `${dir}/${name}`)
    : [];

// ---------------------------------------------------------------------------------------------------------------
// What opskit declares

function declaredMap(block: Json | undefined): Map<string, Declared> {
  const map = new Map<string, Declared>();
  if (!isObject(block)) return map;
  for (const [name, spec] of Object.entries(block)) {
    const def = isObject(spec) ? spec : {};
    // An action input with a default is never missing, whatever `required` says.
    map.set(name, { required: (def.required === true || def.required === 'true') && def.default === undefined });
  }
  return map;
}

function actionSpec(yamlText: string): ActionSpec {
  const doc: unknown = parse(yamlText);
  const root = isObject(doc) ? doc : {};
  return {
    inputs: declaredMap(root.inputs),
    outputs: new Set(isObject(root.outputs) ? Object.keys(root.outputs) : []),
  };
}

const LEVELS: Record<Level, number> = { none: 0, read: 1, write: 2 };
const ALL_SCOPES = '*';

function permissionLevels(value: Json | undefined): Map<string, Level> | undefined {
  if (value === 'read-all') return new Map([[ALL_SCOPES, 'read']]);
  if (value === 'write-all') return new Map([[ALL_SCOPES, 'write']]);
  if (!isObject(value)) return undefined;
  const map = new Map<string, Level>();
  for (const [scope, level] of Object.entries(value)) {
    if (level === 'read' || level === 'write' || level === 'none') map.set(scope, level);
  }
  return map;
}

function grantedLevel(granted: Map<string, Level>, scope: string): Level {
  return granted.get(scope) ?? granted.get(ALL_SCOPES) ?? 'none';
}

/** The workflow_call interface of a workflow, or undefined when it cannot be called. */
function workflowSpec(yamlText: string): WorkflowSpec | undefined {
  const doc: unknown = parse(yamlText);
  if (!isObject(doc)) return undefined;
  const on = doc.on;
  const called =
    on === 'workflow_call' ||
    (Array.isArray(on) && on.includes('workflow_call')) ||
    (isObject(on) && 'workflow_call' in on);
  if (!called) return undefined;
  const call = isObject(on) && isObject(on.workflow_call) ? on.workflow_call : {};
  const permissions = new Map<string, Level>();
  const top = permissionLevels(doc.permissions);
  for (const job of Object.values(isObject(doc.jobs) ? doc.jobs : {})) {
    const asked = (isObject(job) ? permissionLevels(job.permissions) : undefined) ?? top ?? new Map<string, Level>();
    for (const [scope, level] of asked) {
      if (LEVELS[level] > LEVELS[permissions.get(scope) ?? 'none']) permissions.set(scope, level);
    }
  }
  return {
    inputs: declaredMap(call.inputs),
    secrets: declaredMap(call.secrets),
    outputs: new Set(isObject(call.outputs) ? Object.keys(call.outputs) : []),
    permissions,
  };
}

function loadCatalog(): Catalog {
  const actions = new Map<string, ActionSpec>();
  for (const name of readdirSync(join(ROOT, 'actions')).sort()) {
    const file = `actions/${name}/action.yml`;
    if (existsSync(join(ROOT, file))) actions.set(name, actionSpec(read(file)));
  }
  if (existsSync(join(ROOT, 'action.yml'))) actions.set('', actionSpec(read('action.yml')));
  const workflows = new Map<string, WorkflowSpec>();
  for (const file of list('.github/workflows', /\.ya?ml$/)) {
    const spec = workflowSpec(read(file));
    if (spec) workflows.set(basename(file), spec);
  }
  return { actions, workflows };
}

// ---------------------------------------------------------------------------------------------------------------
// What a `uses:` points at

type Target =
  | { kind: 'action'; name: string; remote: boolean }
  | { kind: 'workflow'; file: string; remote: boolean }
  | { kind: 'invalid'; problem: string }
  | { kind: 'other' };

const REMOTE = /^opskit\/opskit(?:\/([^@]*))?(?:@(.*))?$/i;

function classifyUses(uses: string): Target {
  const ref = uses.trim();
  const remote = REMOTE.exec(ref);
  if (remote) {
    const path = (remote[1] ?? '').replace(/\/+$/, '');
    if (!remote[2]) return { kind: 'invalid', problem: `'${ref}' has no ref: write @v1 or @<full commit SHA>` };
    if (path === '') return { kind: 'action', name: '', remote: true };
    const action = /^actions\/([^/]+)$/.exec(path);
    if (action) return { kind: 'action', name: action[1]!, remote: true };
    const workflow = /^\.github\/workflows\/([^/]+\.ya?ml)$/.exec(path);
    if (workflow) return { kind: 'workflow', file: workflow[1]!, remote: true };
    return {
      kind: 'invalid',
      problem: `'${ref}' is neither an opskit action (actions/<name>) nor a reusable workflow`,
    };
  }
  if (ref === './' || ref === '.') return { kind: 'action', name: '', remote: false };
  const localAction = /^\.\/actions\/([^/]+)\/?$/.exec(ref);
  if (localAction) return { kind: 'action', name: localAction[1]!, remote: false };
  const localWorkflow = /^\.\/\.github\/workflows\/([^/]+\.ya?ml)$/.exec(ref);
  if (localWorkflow) return { kind: 'workflow', file: localWorkflow[1]!, remote: false };
  return { kind: 'other' };
}

interface UsesSite {
  /** Where in the document, like jobs.deploy.steps[2]. */
  where: string;
  uses: string;
  node: JsonObject;
}

function collectUses(node: Json | undefined, where: string, out: UsesSite[]): UsesSite[] {
  if (Array.isArray(node)) node.forEach((item, i) => collectUses(item, `${where}[${i}]`, out));
  else if (isObject(node)) {
    if (typeof node.uses === 'string') out.push({ where: where || '(top level)', uses: node.uses, node });
    for (const [key, value] of Object.entries(node)) {
      if (key !== 'with' && key !== 'secrets') collectUses(value, where ? `${where}.${key}` : key, out);
    }
  }
  return out;
}

/** A value that is there: any `${{ }}` expression counts, an empty or null literal does not. */
const given = (value: Json | undefined) => value !== undefined && value !== null && String(value).trim() !== '';

function checkArguments(
  what: string,
  passed: Json | undefined,
  declared: Map<string, Declared>,
  owner: string,
  label: string,
): string[] {
  const problems: string[] = [];
  const args = isObject(passed) ? passed : {};
  if (passed !== undefined && passed !== null && !isObject(passed))
    problems.push(`${label} \`${what}:\` is not a mapping`);
  for (const name of Object.keys(args)) {
    if (!declared.has(name)) problems.push(`${label} passes ${what} '${name}', which ${owner} does not declare`);
  }
  for (const [name, spec] of declared) {
    if (spec.required && !given(args[name]))
      problems.push(`${label} does not pass the required ${what} '${name}' of ${owner}`);
  }
  return problems;
}

/** Problems of every `uses:` in one parsed document (opskit ones, and `secrets: inherit` anywhere). */
function checkUses(doc: Json, catalog: Catalog): string[] {
  const problems: string[] = [];
  const topGrant = isObject(doc) ? permissionLevels(doc.permissions) : undefined;
  for (const site of collectUses(doc, '', [])) {
    const label = `${site.where} (uses: ${site.uses})`;
    if (site.node.secrets === 'inherit') {
      problems.push(`${label} passes \`secrets: inherit\`; pass each secret the workflow declares instead`);
    }
    const target = classifyUses(site.uses);
    if (target.kind === 'other') continue;
    if (target.kind === 'invalid') {
      problems.push(`${site.where}: ${target.problem}`);
      continue;
    }
    if (target.kind === 'action') {
      const spec = catalog.actions.get(target.name);
      const owner = target.name ? `actions/${target.name}/action.yml` : 'action.yml';
      if (!spec) {
        problems.push(`${label} names an action that does not exist (no ${owner})`);
        continue;
      }
      if (/\.jobs\.[^.[]+$|^jobs\.[^.[]+$/.test(site.where)) {
        problems.push(`${label} calls an action from a job; actions are steps`);
      }
      problems.push(...checkArguments('input', site.node.with, spec.inputs, owner, label));
      continue;
    }
    const owner = `.github/workflows/${target.file}`;
    const spec = catalog.workflows.get(target.file);
    if (!spec) {
      problems.push(`${label} names a reusable workflow that does not exist (no ${owner} with on: workflow_call)`);
      continue;
    }
    if (/\.steps\[\d+\]$/.test(site.where))
      problems.push(`${label} calls a reusable workflow from a step; call it from a job`);
    problems.push(...checkArguments('input', site.node.with, spec.inputs, owner, label));
    if (site.node.secrets !== 'inherit')
      problems.push(...checkArguments('secret', site.node.secrets, spec.secrets, owner, label));
    const grant = permissionLevels(site.node.permissions) ?? topGrant;
    if (grant) {
      for (const [scope, level] of spec.permissions) {
        if (LEVELS[grantedLevel(grant, scope)] < LEVELS[level]) {
          problems.push(
            `${label} grants ${scope}: ${grantedLevel(grant, scope)}, but ${owner} has a job that needs ${scope}: ${level}`,
          );
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs

function strings(node: Json | undefined, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) node.forEach((item) => strings(item, out));
  else if (isObject(node)) Object.values(node).forEach((value) => strings(value, out));
  return out;
}

const STEP_OUTPUT = /\bsteps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const NEEDS_OUTPUT = /\bneeds\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const JOBS_OUTPUT = /\bjobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;

/** Problems of `steps.<id>.outputs.<name>` (opskit action steps), `needs.<job>.outputs.<name>` and workflow outputs. */
function checkOutputs(doc: Json, catalog: Catalog): string[] {
  const problems: string[] = [];

  // A list of steps: a job's, or a README fragment that is a list of steps. Its strings and, for a job, the job's.
  const checkSteps = (steps: Json[], scope: Json, where: string) => {
    const byId = new Map<string, string>();
    for (const step of steps)
      if (isObject(step) && typeof step.id === 'string' && typeof step.uses === 'string') byId.set(step.id, step.uses);
    for (const text of strings(scope)) {
      for (const [, id, name] of text.matchAll(STEP_OUTPUT)) {
        const uses = byId.get(id!);
        const target = uses === undefined ? undefined : classifyUses(uses);
        if (target?.kind !== 'action') continue;
        const spec = catalog.actions.get(target.name);
        if (spec && !spec.outputs.has(name!)) {
          problems.push(`${where}: steps.${id}.outputs.${name} - ${uses} has no output '${name}'`);
        }
      }
    }
  };
  const visit = (node: Json | undefined, where: string) => {
    if (Array.isArray(node)) {
      if (where === '' && node.some((item) => isObject(item) && 'uses' in item)) checkSteps(node, node, '(steps)');
      node.forEach((item, i) => visit(item, `${where}[${i}]`));
    } else if (isObject(node)) {
      if (Array.isArray(node.steps)) checkSteps(node.steps, node, where || '(top level)');
      for (const [key, value] of Object.entries(node)) visit(value, where ? `${where}.${key}` : key);
    }
  };
  visit(doc, '');

  if (!isObject(doc) || !isObject(doc.jobs)) return problems;
  const jobs = doc.jobs;
  const jobOutputs = (id: string): Set<string> | string => {
    const job = jobs[id];
    if (!isObject(job)) return `there is no job '${id}'`;
    if (typeof job.uses === 'string') {
      const target = classifyUses(job.uses);
      if (target.kind === 'workflow') {
        const spec = catalog.workflows.get(target.file);
        return spec ? spec.outputs : `${job.uses} does not exist`;
      }
    }
    return new Set(isObject(job.outputs) ? Object.keys(job.outputs) : []);
  };
  for (const [jobId, job] of Object.entries(jobs)) {
    for (const text of strings(job)) {
      for (const [, id, name] of text.matchAll(NEEDS_OUTPUT)) {
        const outputs = jobOutputs(id!);
        if (typeof outputs === 'string') problems.push(`jobs.${jobId}: needs.${id}.outputs.${name} - ${outputs}`);
        else if (!outputs.has(name!))
          problems.push(`jobs.${jobId}: needs.${id}.outputs.${name} - job '${id}' has no output '${name}'`);
      }
    }
  }
  const call = isObject(doc.on) && isObject(doc.on.workflow_call) ? doc.on.workflow_call : undefined;
  if (call && isObject(call.outputs)) {
    for (const [output, spec] of Object.entries(call.outputs)) {
      for (const [, id, name] of strings(spec).join('\n').matchAll(JOBS_OUTPUT)) {
        const outputs = jobOutputs(id!);
        if (typeof outputs === 'string')
          problems.push(`on.workflow_call.outputs.${output}: jobs.${id}.outputs.${name} - ${outputs}`);
        else if (!outputs.has(name!)) {
          problems.push(
            `on.workflow_call.outputs.${output}: jobs.${id}.outputs.${name} - job '${id}' has no output '${name}'`,
          );
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Starter workflows

const PROPERTY_KEYS = ['name', 'description', 'iconName', 'categories', 'filePatterns'] as const;

/** Problems of one starter workflow and its properties file (undefined when there is none). */
function checkStarter(name: string, yamlText: string, propertiesText: string | undefined, catalog: Catalog): string[] {
  const problems: string[] = [];
  const doc = parse(yamlText) as Json;
  const targets = collectUses(doc, '', []).map((site) => ({ site, target: classifyUses(site.uses) }));
  const opskit = targets.filter(({ target }) => target.kind === 'action' || target.kind === 'workflow');
  if (opskit.length === 0) problems.push(`${name}: calls no opskit reusable workflow or action`);
  for (const { site, target } of opskit) {
    if ((target.kind === 'action' || target.kind === 'workflow') && !target.remote) {
      problems.push(
        `${name}: ${site.where} uses '${site.uses}'; a starter workflow is copied to other repositories, write opskit/opskit/...@v1`,
      );
    }
  }
  // Whether what they call exists (and is called correctly) is checkUses' job; the starter must not point nowhere.
  for (const { site, target } of targets) {
    if (target.kind === 'workflow' && !catalog.workflows.has(target.file)) {
      problems.push(
        `${name}: ${site.where} points at .github/workflows/${target.file}, which is not a reusable workflow here`,
      );
    }
  }

  const propertiesName = name.replace(/\.ya?ml$/, '.properties.json');
  if (propertiesText === undefined) {
    problems.push(`${name}: has no ${propertiesName}`);
    return problems;
  }
  let properties: unknown;
  try {
    properties = JSON.parse(propertiesText);
  } catch (err) {
    problems.push(`${propertiesName}: is not JSON (${(err as Error).message})`);
    return problems;
  }
  if (!isObject(properties)) {
    problems.push(`${propertiesName}: is not a JSON object`);
    return problems;
  }
  for (const key of PROPERTY_KEYS) if (!(key in properties)) problems.push(`${propertiesName}: has no '${key}'`);
  for (const key of ['name', 'description', 'iconName'] as const) {
    if (key in properties && (typeof properties[key] !== 'string' || String(properties[key]).trim() === '')) {
      problems.push(`${propertiesName}: '${key}' must be a non-empty string`);
    }
  }
  for (const key of ['categories', 'filePatterns'] as const) {
    const value = properties[key];
    if (!(key in properties)) continue;
    if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string')) {
      problems.push(`${propertiesName}: '${key}' must be a non-empty list of strings`);
    }
  }
  if (Array.isArray(properties.filePatterns)) {
    for (const pattern of properties.filePatterns) {
      try {
        new RegExp(String(pattern));
      } catch {
        problems.push(`${propertiesName}: filePatterns entry '${String(pattern)}' is not a regular expression`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Concurrency

const SHARED_GROUP = 'opskit-${{ inputs.environment }}';

/** deploy.yml and rollback.yml serialise on one group per environment; a caller using that group would deadlock. */
function checkConcurrency(reusable: Record<string, string>, callers: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [file, text] of Object.entries(reusable)) {
    const doc = parse(text) as Json;
    const block = isObject(doc) ? doc.concurrency : undefined;
    if (!isObject(block) || block.group !== SHARED_GROUP || block['cancel-in-progress'] !== false) {
      problems.push(
        `${file}: needs concurrency { group: '${SHARED_GROUP}', cancel-in-progress: false } at the top level`,
      );
    }
  }
  for (const [file, text] of Object.entries(callers)) {
    const doc = parse(text) as Json;
    const groups: Array<Json | undefined> = [];
    if (isObject(doc)) {
      groups.push(isObject(doc.concurrency) ? doc.concurrency.group : doc.concurrency);
      for (const job of Object.values(isObject(doc.jobs) ? doc.jobs : {})) {
        if (isObject(job)) groups.push(isObject(job.concurrency) ? job.concurrency.group : job.concurrency);
      }
    }
    for (const group of groups) {
      if (typeof group === 'string' && /^opskit-/.test(group)) {
        problems.push(`${file}: concurrency group '${group}' is the reusable workflows' own; the run would deadlock`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

interface YamlBlock {
  source: string;
  line: number;
  text: string;
}

function yamlBlocks(source: string, markdown: string): YamlBlock[] {
  const blocks: YamlBlock[] = [];
  const fence = /^( *)```ya?ml[^\n]*\n([\s\S]*?)^\1```/gm;
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1]!.length;
    const text = match[2]!
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    blocks.push({ source, line: markdown.slice(0, match.index).split('\n').length, text });
  }
  return blocks;
}

/** Problems of every opskit example in markdown: it must parse, and its `uses:` must be right. */
function checkMarkdown(source: string, markdown: string, catalog: Catalog): string[] {
  const problems: string[] = [];
  for (const block of yamlBlocks(source, markdown)) {
    if (!/opskit\/opskit|\.\/actions\/|\.\/\.github\/workflows\//i.test(block.text)) continue;
    const at = `${block.source}:${block.line}`;
    let doc: Json;
    try {
      doc = parse(block.text) as Json;
    } catch (err) {
      problems.push(`${at}: the yaml example does not parse (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    for (const problem of [...checkUses(doc, catalog), ...checkOutputs(doc, catalog)])
      problems.push(`${at}: ${problem}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// This repository

const catalog = loadCatalog();
const workflows = list('.github/workflows', /\.ya?ml$/);
const templates = list('workflows-templates', /\.ya?ml$/);
const markdownFiles = [
  ...(existsSync(join(ROOT, 'README.md')) ? ['README.md'] : []),
  ...readdirSync(join(ROOT, 'actions'))
    .sort()
    .map((name) => `actions/${name}/README.md`)
    .filter((file) => existsSync(join(ROOT, file))),
  ...list('docs', /\.md$/),
];

describe('this repository', () => {
  it('finds the actions, the reusable workflows and the starter workflows', () => {
    expect([...catalog.actions.keys()]).toEqual(expect.arrayContaining(['smoke-test', 'db-backup', 'db-restore']));
    expect([...catalog.workflows.keys()].sort()).toEqual(
      expect.arrayContaining(['backup.yml', 'deploy.yml', 'restore-drill.yml', 'rollback.yml']),
    );
    expect(templates.length).toBeGreaterThanOrEqual(5);
    // Not vacuous: the checks below see many opskit uses.
    const sites = [...workflows, ...templates].flatMap((file) => collectUses(parse(read(file)) as Json, '', []));
    const opskit = sites
      .map((site) => classifyUses(site.uses))
      .filter((t) => t.kind === 'action' || t.kind === 'workflow');
    expect(opskit.length).toBeGreaterThan(30);
  });

  describe.each([...workflows, ...templates])('%s', (file) => {
    it('calls opskit actions and reusable workflows with what they declare', () => {
      expect(checkUses(parse(read(file)) as Json, catalog)).toEqual([]);
    });
    it('reads only outputs that are declared', () => {
      expect(checkOutputs(parse(read(file)) as Json, catalog)).toEqual([]);
    });
  });

  it.each(markdownFiles)('the yaml examples in %s are right', (file) => {
    expect(checkMarkdown(file, read(file), catalog)).toEqual([]);
  });

  it.each(templates)('starter workflow %s', (file) => {
    const properties = file.replace(/\.ya?ml$/, '.properties.json');
    const text = existsSync(join(ROOT, properties)) ? read(properties) : undefined;
    expect(checkStarter(file, read(file), text, catalog)).toEqual([]);
  });

  it('has no properties.json without its starter workflow', () => {
    const orphans = list('workflows-templates', /\.properties\.json$/).filter(
      (file) => !templates.some((template) => template.replace(/\.ya?ml$/, '.properties.json') === file),
    );
    expect(orphans).toEqual([]);
  });

  it('serialises deploy and rollback per environment, and no caller reuses their group', () => {
    const reusable = Object.fromEntries(['deploy.yml', 'rollback.yml'].map((f) => [f, read(`.github/workflows/${f}`)]));
    const callers = Object.fromEntries(templates.map((file) => [file, read(file)]));
    expect(checkConcurrency(reusable, callers)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Every check can fail

const ACTION = `
inputs:
  url: { description: u, required: true }
  checks: { description: c, required: false }
  timeout: { description: t, required: true, default: 5m }
outputs:
  passed: { description: p }
`;
const REUSABLE = `
on:
  workflow_call:
    inputs:
      environment: { type: string, required: true }
      service: { type: string, default: '' }
    secrets:
      API_KEY: { required: true }
      SLACK: { required: false }
    outputs:
      deploy-id: { value: '\${{ jobs.deploy.outputs.deploy-id }}' }
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions: { contents: read, deployments: write }
    outputs:
      deploy-id: \${{ steps.x.outputs.id }}
    steps: [{ run: 'true' }]
  incident:
    runs-on: ubuntu-latest
    permissions: { contents: read, issues: write }
    steps: [{ run: 'true' }]
`;
const fake: Catalog = {
  actions: new Map([['smoke-test', actionSpec(ACTION)]]),
  workflows: new Map([['deploy.yml', workflowSpec(REUSABLE)!]]),
};
const yaml = (text: string) => parse(text) as Json;
const step = (uses: string, withBlock: string) => `
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: ${uses}
        with:
${withBlock
  .trim()
  .split('\n')
  .map((line) => `          ${line}`)
  .join('\n')}
`;
const call = (extra: string) => `
permissions: { contents: read, deployments: write, issues: write }
jobs:
  deploy:
    uses: opskit/opskit/.github/workflows/deploy.yml@v1
${extra
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;

describe('checkUses', () => {
  it.each([
    './actions/smoke-test',
    'opskit/opskit/actions/smoke-test@v1',
    `opskit/opskit/actions/smoke-test@${'a'.repeat(40)}`,
  ])('accepts %s with declared inputs, a required one given as an expression', (uses) => {
    expect(checkUses(yaml(step(uses, 'url: ${{ inputs.url }}\nchecks: x')), fake)).toEqual([]);
  });

  it('reports an input the action does not declare', () => {
    expect(checkUses(yaml(step('./actions/smoke-test', 'url: https://x\nbase_url: https://x')), fake)).toEqual([
      expect.stringMatching(
        /^jobs\.test\.steps\[0\] .*passes input 'base_url', which actions\/smoke-test\/action\.yml does not declare/,
      ),
    ]);
  });

  it.each([
    ['missing', 'checks: x'],
    ['empty', "url: ''\nchecks: x"],
    ['null', 'url:\nchecks: x'],
  ])('reports a required input that is %s (one with a default is never required)', (_, withBlock) => {
    expect(checkUses(yaml(step('opskit/opskit/actions/smoke-test@v1', withBlock)), fake)).toEqual([
      expect.stringContaining("does not pass the required input 'url' of actions/smoke-test/action.yml"),
    ]);
  });

  it('reports an action that does not exist and an opskit path without a ref', () => {
    expect(checkUses(yaml(step('opskit/opskit/actions/smoke-tset@v1', 'url: x')), fake)).toEqual([
      expect.stringContaining('names an action that does not exist (no actions/smoke-tset/action.yml)'),
    ]);
    expect(checkUses(yaml(step('opskit/opskit/actions/smoke-test', 'url: x')), fake)).toEqual([
      expect.stringContaining('has no ref'),
    ]);
    expect(checkUses(yaml(step('opskit/opskit/scripts/x@v1', 'url: x')), fake)).toEqual([
      expect.stringContaining('is neither an opskit action'),
    ]);
  });

  it('leaves other actions alone', () => {
    expect(checkUses(yaml(step('actions/checkout@v5', 'anything: x')), fake)).toEqual([]);
  });

  it('accepts a complete reusable-workflow call', () => {
    const ok = call(`
with:
  environment: production
secrets:
  API_KEY: \${{ secrets.API_KEY }}
`);
    expect(checkUses(yaml(ok), fake)).toEqual([]);
    expect(
      checkUses(
        yaml(ok.replace('opskit/opskit/.github/workflows/deploy.yml@v1', './.github/workflows/deploy.yml')),
        fake,
      ),
    ).toEqual([]);
  });

  it('reports undeclared and missing inputs and secrets of a reusable workflow', () => {
    const bad = call(`
with:
  environment: ''
  region: eu
secrets:
  API_KEY: \${{ secrets.API_KEY }}
  TOKEN: \${{ secrets.TOKEN }}
`);
    expect(checkUses(yaml(bad), fake)).toEqual([
      expect.stringContaining("passes input 'region', which .github/workflows/deploy.yml does not declare"),
      expect.stringContaining("does not pass the required input 'environment'"),
      expect.stringContaining("passes secret 'TOKEN', which .github/workflows/deploy.yml does not declare"),
    ]);
    expect(checkUses(yaml(call('with:\n  environment: production')), fake)).toEqual([
      expect.stringContaining("does not pass the required secret 'API_KEY'"),
    ]);
  });

  it('reports secrets: inherit, even to workflows that are not opskit', () => {
    expect(checkUses(yaml(call('with:\n  environment: production\nsecrets: inherit')), fake)).toEqual([
      expect.stringContaining('passes `secrets: inherit`'),
    ]);
    expect(
      checkUses(
        yaml('jobs:\n  x:\n    uses: octo/shared/.github/workflows/a.yml@' + 'b'.repeat(40) + '\n    secrets: inherit'),
        fake,
      ),
    ).toEqual([expect.stringContaining('passes `secrets: inherit`')]);
  });

  it('reports a reusable workflow that does not exist, or is called from a step', () => {
    expect(checkUses(yaml('jobs:\n  x:\n    uses: opskit/opskit/.github/workflows/nope.yml@v1'), fake)).toEqual([
      expect.stringContaining('names a reusable workflow that does not exist'),
    ]);
    const fromStep = step('./.github/workflows/deploy.yml', 'environment: p');
    expect(checkUses(yaml(fromStep), fake)).toEqual([
      expect.stringContaining('calls a reusable workflow from a step'),
      expect.stringContaining("does not pass the required secret 'API_KEY'"),
    ]);
  });

  it('reports a caller that grants less than the called workflow asks for', () => {
    const narrow = call(`
permissions: { contents: read, issues: read }
with:
  environment: production
secrets:
  API_KEY: x
`);
    expect(checkUses(yaml(narrow), fake)).toEqual([
      expect.stringContaining(
        'grants deployments: none, but .github/workflows/deploy.yml has a job that needs deployments: write',
      ),
      expect.stringContaining(
        'grants issues: read, but .github/workflows/deploy.yml has a job that needs issues: write',
      ),
    ]);
    expect(checkUses(yaml(narrow.replace('{ contents: read, issues: read }', 'write-all')), fake)).toEqual([]);
  });
});

describe('checkOutputs', () => {
  it('accepts declared outputs and reports undeclared ones of opskit steps', () => {
    const workflow = (name: string) => `
jobs:
  test:
    runs-on: ubuntu-latest
    outputs:
      ok: \${{ steps.smoke.outputs.${name} }}
    steps:
      - id: smoke
        uses: ./actions/smoke-test
        with: { url: x }
      - id: script
        run: echo "anything=1" >> "$GITHUB_OUTPUT"
      - run: echo "$A"
        env:
          A: \${{ steps.script.outputs.anything }}
`;
    expect(checkOutputs(yaml(workflow('passed')), fake)).toEqual([]);
    expect(checkOutputs(yaml(workflow('pased')), fake)).toEqual([
      "jobs.test: steps.smoke.outputs.pased - ./actions/smoke-test has no output 'pased'",
    ]);
  });

  it('checks a README fragment that is a list of steps', () => {
    const fragment = `
- id: smoke
  uses: opskit/opskit/actions/smoke-test@v1
  with: { url: x }
- run: echo "$P"
  env:
    P: \${{ steps.smoke.outputs.report }}
`;
    expect(checkOutputs(yaml(fragment), fake)).toEqual([
      "(steps): steps.smoke.outputs.report - opskit/opskit/actions/smoke-test@v1 has no output 'report'",
    ]);
  });

  it('reports needs outputs that the job, or the workflow it calls, does not declare', () => {
    const workflow = `
jobs:
  deploy:
    uses: opskit/opskit/.github/workflows/deploy.yml@v1
  build:
    runs-on: ubuntu-latest
    outputs: { version: x }
    steps: [{ run: 'true' }]
  after:
    needs: [deploy, build]
    runs-on: ubuntu-latest
    steps:
      - run: echo "$A $B $C $D"
        env:
          A: \${{ needs.deploy.outputs.deploy-id }}
          B: \${{ needs.deploy.outputs.service-url }}
          C: \${{ needs.build.outputs.version }}
          D: \${{ needs.build.outputs.tag }}
`;
    expect(checkOutputs(yaml(workflow), fake)).toEqual([
      "jobs.after: needs.deploy.outputs.service-url - job 'deploy' has no output 'service-url'",
      "jobs.after: needs.build.outputs.tag - job 'build' has no output 'tag'",
    ]);
  });

  it("reports a reusable workflow output that reads a job's undeclared output", () => {
    expect(checkOutputs(yaml(REUSABLE), fake)).toEqual([]);
    expect(
      checkOutputs(yaml(REUSABLE.replace('jobs.deploy.outputs.deploy-id', 'jobs.deploy.outputs.id')), fake),
    ).toEqual(["on.workflow_call.outputs.deploy-id: jobs.deploy.outputs.id - job 'deploy' has no output 'id'"]);
  });
});

describe('checkStarter', () => {
  const starter = `
on: { push: { branches: [$default-branch] } }
permissions: {}
jobs:
  deploy:
    permissions: { contents: read }
    uses: opskit/opskit/.github/workflows/deploy.yml@v1
`;
  const properties = JSON.stringify({
    name: 'Deploy',
    description: 'Deploys.',
    iconName: 'octicon rocket',
    categories: ['Deployment'],
    filePatterns: ['^render\\.yaml$'],
  });

  it('accepts a starter with its properties', () => {
    expect(checkStarter('deploy.yml', starter, properties, fake)).toEqual([]);
  });

  it('reports a missing or incomplete properties file', () => {
    expect(checkStarter('deploy.yml', starter, undefined, fake)).toEqual(['deploy.yml: has no deploy.properties.json']);
    expect(checkStarter('deploy.yml', starter, '{', fake)).toEqual([
      expect.stringMatching(/^deploy\.properties\.json: is not JSON/),
    ]);
    const partial = JSON.stringify({ name: '', description: 'd', categories: [], filePatterns: ['('] });
    expect(checkStarter('deploy.yml', starter, partial, fake)).toEqual([
      "deploy.properties.json: has no 'iconName'",
      "deploy.properties.json: 'name' must be a non-empty string",
      "deploy.properties.json: 'categories' must be a non-empty list of strings",
      "deploy.properties.json: filePatterns entry '(' is not a regular expression",
    ]);
  });

  it('reports a starter that points at a missing workflow, at a local path, or at nothing of opskit', () => {
    expect(checkStarter('x.yml', starter.replace('deploy.yml@v1', 'deplyo.yml@v1'), properties, fake)).toEqual([
      'x.yml: jobs.deploy points at .github/workflows/deplyo.yml, which is not a reusable workflow here',
    ]);
    expect(
      checkStarter(
        'x.yml',
        starter.replace('opskit/opskit/.github/workflows/deploy.yml@v1', './.github/workflows/deploy.yml'),
        properties,
        fake,
      ),
    ).toEqual([
      expect.stringContaining(
        "uses './.github/workflows/deploy.yml'; a starter workflow is copied to other repositories",
      ),
    ]);
    expect(
      checkStarter(
        'x.yml',
        starter.replace('opskit/opskit/.github/workflows/deploy.yml@v1', 'octo/x/.github/workflows/d.yml@v1'),
        properties,
        fake,
      ),
    ).toEqual(['x.yml: calls no opskit reusable workflow or action']);
  });
});

describe('checkConcurrency', () => {
  const reusable = `
concurrency:
  group: opskit-\${{ inputs.environment }}
  cancel-in-progress: false
jobs: {}
`;
  it('accepts the shared group', () => {
    expect(
      checkConcurrency({ 'deploy.yml': reusable }, { 'caller.yml': 'concurrency: deploy-production\njobs: {}' }),
    ).toEqual([]);
  });

  it('reports a reusable workflow without the shared group, or one that cancels', () => {
    expect(checkConcurrency({ 'rollback.yml': reusable.replace('opskit-', 'rollback-') }, {})).toEqual([
      expect.stringMatching(/^rollback\.yml: needs concurrency/),
    ]);
    expect(checkConcurrency({ 'rollback.yml': reusable.replace('false', 'true') }, {})).toEqual([
      expect.stringMatching(/^rollback\.yml: needs concurrency/),
    ]);
  });

  it('reports a caller that takes the group (workflow or job level)', () => {
    expect(checkConcurrency({}, { 'a.yml': 'concurrency: opskit-production\njobs: {}' })).toEqual([
      "a.yml: concurrency group 'opskit-production' is the reusable workflows' own; the run would deadlock",
    ]);
    expect(checkConcurrency({}, { 'b.yml': 'jobs:\n  x:\n    concurrency: { group: opskit-staging }' })).toHaveLength(
      1,
    );
  });
});

describe('checkMarkdown', () => {
  it('finds yaml blocks, indented ones too, and ignores other languages', () => {
    const markdown =
      '# x\n\n```sh\nuses: nothing\n```\n\n- item\n\n  ```yaml\n  - uses: ./actions/smoke-test\n    with: { url: x }\n  ```\n';
    expect(yamlBlocks('R.md', markdown)).toEqual([
      { source: 'R.md', line: 9, text: '- uses: ./actions/smoke-test\n  with: { url: x }\n' },
    ]);
  });

  it('reports a wrong input, a wrong output and an example that does not parse, with the line', () => {
    const markdown = [
      'Intro',
      '',
      '```yaml',
      '- id: s',
      '  uses: opskit/opskit/actions/smoke-test@v1',
      '  with:',
      '    url: https://x',
      '    retries: 3',
      '- run: echo "$P"',
      '  env:',
      '    P: ${{ steps.s.outputs.ok }}',
      '```',
      '',
      '```yml',
      '- uses: opskit/opskit/actions/smoke-test@v1',
      '  with: [',
      '```',
      '',
      '```yaml',
      'render: { not: opskit }',
      '```',
    ].join('\n');
    expect(checkMarkdown('README.md', markdown, fake)).toEqual([
      "README.md:3: [0] (uses: opskit/opskit/actions/smoke-test@v1) passes input 'retries', which actions/smoke-test/action.yml does not declare",
      "README.md:3: (steps): steps.s.outputs.ok - opskit/opskit/actions/smoke-test@v1 has no output 'ok'",
      expect.stringMatching(/^README\.md:14: the yaml example does not parse/),
    ]);
  });
});

describe('workflow policy: first-party references', () => {
  const SHA = 'b'.repeat(40);
  const workflow = (uses: string, job = false) =>
    job
      ? `on: push\npermissions: {}\njobs:\n  call:\n    uses: ${uses}\n`
      : `on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n`;

  it.each([
    ['opskit/opskit/actions/smoke-test@v1', false],
    ['opskit/opskit/actions/db-backup@v1.2.3', false],
    ['opskit/opskit@v1', false],
    ['opskit/opskit/.github/workflows/deploy.yml@v1', true],
    [`opskit/opskit/.github/workflows/deploy.yml@${SHA}`, true],
  ])('accepts %s at a tag', (uses, job) => {
    expect(checkWorkflowPolicy('w.yml', workflow(uses, job))).toEqual([]);
  });

  it.each([
    ['opskit/opskit-fork/actions/smoke-test@v1', false],
    ['someone/opskit/actions/smoke-test@v1', false],
    ['evil-opskit/opskit/actions/smoke-test@v1', false],
    ['opskit/opskit/actions/smoke-test', false],
    ['someone/shared/.github/workflows/deploy.yml@v1', true],
  ])('still reports %s', (uses, job) => {
    expect(checkWorkflowPolicy('w.yml', workflow(uses, job))).toEqual([
      expect.stringContaining('is not pinned to a full 40'),
    ]);
  });
});
