/**
 * The security shape of the reusable and starter workflows (issue #17): who may trigger an incident, which jobs
 * hold which secrets, where the approval gate is, and that a backup never leaves as a plaintext artifact.
 * The expressions in `if:` are evaluated with the runner's own evaluator (scripts/runner/expressions.js).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { condition } from '../scripts/runner/expressions.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const obj = (value: Json | undefined): Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};

function workflow(file: string): Obj {
  return obj(parse(readFileSync(join(ROOT, file), 'utf8')) as Json);
}

describe('incident-on-failure.yml', () => {
  const template = workflow('workflows-templates/incident-on-failure.yml');
  const job = obj(obj(template.jobs).incident);
  const gate = String(job.if);

  /** The `github` context of a workflow_run event for a run of the watched workflow. */
  const github = (run: Obj, extra: Obj = {}): Obj => ({
    event_name: 'workflow_run',
    repository: 'acme/shop',
    event: {
      repository: { full_name: 'acme/shop', default_branch: 'main' },
      workflow_run: {
        name: 'Nightly backup',
        conclusion: 'failure',
        head_branch: 'main',
        head_repository: { full_name: 'acme/shop' },
        ...run,
      },
    },
    ...extra,
  });
  const runs = (context: Obj) => condition(gate, { github: context });

  it('runs for a failure or a success of the default branch of this repository', () => {
    expect(runs(github({}))).toBe(true);
    expect(runs(github({ conclusion: 'success' }))).toBe(true);
  });

  it("does not run for a fork's branch of the same name (a pull request from mallory/shop:main)", () => {
    expect(runs(github({ head_repository: { full_name: 'mallory/shop' } }))).toBe(false);
  });

  it('does not run for another branch, a cancelled run or another event', () => {
    expect(runs(github({ head_branch: 'feature/x' }))).toBe(false);
    expect(runs(github({ conclusion: 'cancelled' }))).toBe(false);
    expect(runs(github({}, { event_name: 'workflow_dispatch' }))).toBe(false);
  });

  it('serialises incident updates per watched workflow without cancelling any', () => {
    const concurrency = obj(template.concurrency ?? job.concurrency);
    expect(String(concurrency.group)).toContain('github.event.workflow_run.workflow_id');
    expect(concurrency['cancel-in-progress']).toBe(false);
  });
});

/** Job ids each job needs, directly. */
function needsOf(job: Obj): string[] {
  const needs = job.needs;
  if (typeof needs === 'string') return [needs];
  return Array.isArray(needs) ? needs.map(String) : [];
}

/** Every job a job depends on, directly or through others. */
function ancestors(jobs: Obj, id: string, seen = new Set<string>()): Set<string> {
  for (const need of needsOf(obj(jobs[id]))) {
    if (seen.has(need)) continue;
    seen.add(need);
    ancestors(jobs, need, seen);
  }
  return seen;
}

const text = (value: Json | undefined) => JSON.stringify(value ?? null);
const readsSecrets = (job: Obj) => /\bsecrets\s*\./.test(text(job));

/** Run steps and the environment they get: what a job executes itself, as opposed to actions' inputs. */
function runsProjectCode(job: Obj): string[] {
  const steps = Array.isArray(job.steps) ? job.steps.map(obj) : [];
  const reasons: string[] = [];
  for (const step of steps) {
    const run = typeof step.run === 'string' ? step.run : '';
    const env = text(step.env);
    if (/\b(npm|yarn|pnpm)\s+(ci|install|test|run)\b|\bnpx\b/.test(run)) reasons.push(`runs ${run.trim()}`);
    if (run && /inputs\.[\w-]+-command\b/.test(env)) reasons.push(`runs a *-command input (${env})`);
  }
  return reasons;
}

describe.each([
  ['deploy.yml', ['test']],
  ['rollback.yml', ['check']],
])('%s: one approval per run', (file, beforeGate) => {
  const wf = workflow(`.github/workflows/${file}`);
  const jobs = obj(wf.jobs);
  const ids = Object.keys(jobs);

  it('names the environment in exactly one job, the approval gate, which holds no secret and no token scope', () => {
    const withEnvironment = ids.filter((id) => 'environment' in obj(jobs[id]));
    expect(withEnvironment).toEqual(['approve']);
    const gate = obj(jobs.approve);
    expect(gate.environment).toBe('${{ inputs.environment }}');
    expect(gate.permissions).toEqual({});
    expect(readsSecrets(gate)).toBe(false);
  });

  it('runs only the request checks before the gate, and every other job after it', () => {
    expect([...ancestors(jobs, 'approve')]).toEqual(beforeGate);
    for (const id of ids.filter((id) => id !== 'approve' && !beforeGate.includes(id))) {
      expect([id, ancestors(jobs, id).has('approve')]).toEqual([id, true]);
    }
  });

  it('gives a secret only to jobs after the gate', () => {
    for (const id of ids) {
      if (readsSecrets(obj(jobs[id]))) expect([id, ancestors(jobs, id).has('approve')]).toEqual([id, true]);
    }
    for (const id of beforeGate) expect([id, readsSecrets(obj(jobs[id]))]).toEqual([id, false]);
  });

  it('runs no project code in a job that holds a secret', () => {
    for (const id of ids) {
      const job = obj(jobs[id]);
      if (readsSecrets(job)) expect([id, runsProjectCode(job)]).toEqual([id, []]);
    }
  });
});

describe('deploy.yml job graph', () => {
  const wf = workflow('.github/workflows/deploy.yml');
  const jobs = obj(wf.jobs);
  const job = (id: string) => obj(jobs[id]);

  it('runs the tests and the audit in their own job: a checkout of the commit, contents: read, no secret', () => {
    const test = job('test');
    expect(test.permissions).toEqual({ contents: 'read' });
    expect(readsSecrets(test)).toBe(false);
    expect(runsProjectCode(test)).toHaveLength(2); // test-command and security-audit-command
    expect(String(test.if)).toBe("inputs.test-command != '' || inputs.security-audit-command != ''");
    const checkout = (Array.isArray(test.steps) ? test.steps.map(obj) : []).find((s) =>
      String(s.uses).startsWith('actions/checkout@'),
    );
    expect(obj(checkout?.with)).toMatchObject({ ref: '${{ inputs.commit }}', 'persist-credentials': false });
    // No other job runs those commands.
    for (const id of Object.keys(jobs).filter((id) => id !== 'test')) {
      expect([id, text(jobs[id]).includes('-command }}') && runsProjectCode(job(id)).length > 0]).toEqual([id, false]);
    }
  });

  it('orders the jobs test → approve → pre-deploy → migrate → deploy → post-deploy → rollback → incident', () => {
    const order: string[] = [];
    const visit = (id: string) => {
      if (order.includes(id)) return;
      for (const need of needsOf(job(id))) visit(need);
      order.push(id);
    };
    for (const id of Object.keys(jobs)) visit(id);
    expect(order).toEqual([
      'test',
      'approve',
      'pre-deploy',
      'migrate',
      'deploy',
      'post-deploy',
      'rollback',
      'incident',
    ]);
  });

  it('asks for approval after passing or skipped tests, never after failed ones', () => {
    const gate = String(job('approve').if);
    const at = (result: string, status = 'success') => condition(gate, { needs: { test: { result } }, status });
    expect(at('success')).toBe(true);
    expect(at('skipped')).toBe(true);
    expect(at('failure', 'failure')).toBe(false);
    expect(at('success', 'cancelled')).toBe(false);
  });

  it('keeps the pre-migration backup off the artifacts (its default destination)', () => {
    const steps = Array.isArray(job('migrate').steps) ? (job('migrate').steps as Json[]).map(obj) : [];
    const migrate = steps.find((s) => String(s.uses).startsWith('opskit/opskit/actions/migrate-with-backup@'));
    expect(obj(migrate?.with)['allow-plaintext-artifact']).toBe(false);
  });

  it('does not open an incident for a rejected approval', () => {
    const steps = Array.isArray(job('incident').steps) ? (job('incident').steps as Json[]).map(obj) : [];
    const open = steps.find((s) => s.id === 'open');
    expect(String(open?.if)).toContain("steps.outcome.outputs.outcome != 'not-approved'");
  });
});
