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
