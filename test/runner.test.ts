/**
 * The runner emulation (scripts/runner/) that the tests and `npm run action` run actions with: GitHub's expression
 * rules, the INPUT_* variables a runner sets, the file commands, pre/post steps, and the npm script itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inputVariable, inputVariables, loadActionMetadata, runActionBundle } from '../scripts/runner/action.js';
import { condition, evaluate, interpolate } from '../scripts/runner/expressions.js';
import { json, startHttpServer, type TestServer } from './harness/http-server.js';
import { node24 } from './harness/node24.js';
import { runProcess } from './harness/process.js';
import { tempDir } from './harness/tmp.js';

describe('expressions', () => {
  const ctx = {
    inputs: { 'encrypt-to': '', service: 'srv-abc', flag: true, n: 3 },
    needs: { a: { result: 'success', outputs: { x: '1' } }, b: { result: 'failure' } },
    github: { event: { workflow_run: { head_branch: 'main' } } },
  };

  it.each([
    ["inputs.service == 'SRV-ABC'", true], // strings compare case-insensitively
    ["inputs.encrypt-to || 'none'", 'none'], // || returns an operand
    ["inputs.flag && inputs.service || ''", 'srv-abc'],
    ["!inputs.flag && inputs.service || ''", ''],
    ["contains(needs.*.result, 'failure')", true], // the object filter
    ["startsWith(inputs.service, 'srv-')", true],
    ["format('{0}/{1}', 'a', inputs.n)", 'a/3'],
    ["needs.a.outputs['x'] == 1", true], // '1' == 1 as numbers
    ['inputs.missing', null],
    ['github.event.workflow_run.head_branch', 'main'],
    ['inputs.n >= 3 && inputs.n < 4', true],
    ["fromJSON('[1,2]')[1]", 2],
  ])('%s is %p', (expr, value) => {
    expect(evaluate(expr, ctx)).toEqual(value);
  });

  it('interpolates text and keeps the type of a lone expression', () => {
    expect(interpolate('deploy / ${{ inputs.service }}', ctx)).toBe('deploy / srv-abc');
    expect(interpolate('${{ inputs.flag }}', ctx)).toBe(true);
  });

  it('runs if: against the job status, as success() unless a status function is named', () => {
    expect(condition('inputs.flag', { ...ctx, status: 'failure' })).toBe(false);
    expect(condition('failure() && inputs.flag', { ...ctx, status: 'failure' })).toBe(true);
    expect(condition('${{ always() }}', { ...ctx, status: 'failure' })).toBe(true);
    expect(condition(undefined, ctx)).toBe(true);
  });

  it('refuses what GitHub refuses', () => {
    expect(() => evaluate("inputs.service ||| 'x'", ctx)).toThrow(/unexpected/);
    expect(() => evaluate('hashFiles2(x)', ctx)).toThrow(/unknown function/);
  });
});

describe('the INPUT_* variables of a step', () => {
  it('names them as the runner does: upper case, spaces to _, hyphens kept', () => {
    expect(inputVariable('database-url')).toBe('INPUT_DATABASE-URL');
    expect(inputVariable('my input')).toBe('INPUT_MY_INPUT');
  });

  it('sets every input of action.yml: the given value, else the default (expressions evaluated), else empty', async () => {
    const meta = await loadActionMetadata('post-incident-issue');
    const env = inputVariables(meta, { status: 'resolved' }, { context: { github: { token: 'ghs_x' } } });
    expect(Object.keys(env).sort()).toEqual(
      Object.keys(meta.inputs as object)
        .map(inputVariable)
        .sort(),
    );
    expect(env.INPUT_STATUS).toBe('resolved');
    expect(env.INPUT_SEVERITY).toBe('P2');
    expect(env['INPUT_GITHUB-TOKEN']).toBe('ghs_x');
    expect(env.INPUT_TITLE).toBe('');
  });

  it('leaves out only what the step says is absent', async () => {
    const meta = await loadActionMetadata('deploy-render');
    const env = inputVariables(meta, {}, { absent: ['clear-cache'] });
    expect(env['INPUT_CLEAR-CACHE']).toBeUndefined();
    expect(env.INPUT_ACTION).toBe('deploy');
    expect(() => inputVariables(meta, { 'clear-cache': 'true' }, { absent: ['clear-cache'] })).toThrow(/both given/);
  });
});

describe('pre, main and post steps', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('opskit-runner-');
    const action = path.join(dir.path, 'actions', 'probe');
    await mkdir(action, { recursive: true });
    await writeFile(
      path.join(action, 'action.yml'),
      [
        'name: probe',
        'inputs:',
        '  fail:',
        "    default: 'no'",
        '  skip-pre:',
        "    default: 'no'",
        'runs:',
        '  using: node24',
        '  pre: pre.js',
        "  pre-if: inputs.skip-pre != 'yes'",
        '  main: main.js',
        '  post: post.js',
        '',
      ].join('\n'),
    );
    const append = "const fs = require('fs'); const put = (f, l) => fs.appendFileSync(process.env[f], l + '\\n');";
    await writeFile(path.join(action, 'pre.js'), `${append} console.log('pre'); put('GITHUB_ENV', 'FROM_PRE=1');`);
    await writeFile(
      path.join(action, 'main.js'),
      `${append} console.log('main FROM_PRE=' + (process.env.FROM_PRE ?? '')); put('GITHUB_STATE', 'token=abc'); put('GITHUB_OUTPUT', 'result=done'); put('GITHUB_PATH', '/opt/probe/bin');
       if (process.env['INPUT_FAIL'] === 'yes') process.exit(3);`,
    );
    await writeFile(
      path.join(action, 'post.js'),
      `console.log('post STATE_token=' + process.env.STATE_token + ' path=' + process.env.PATH.split(':')[0]);`,
    );
  });
  afterAll(() => dir.cleanup());

  const run = (inputs: Record<string, string>) =>
    runActionBundle('probe', inputs, { root: dir.path, node: process.execPath });

  it('runs pre, then main with what pre exported, then post with the state main saved', async () => {
    const r = await run({});
    expect(r.code).toBe(0);
    expect(r.steps.map((s) => s.phase)).toEqual(['pre', 'main', 'post']);
    expect(r.stdout).toMatch(/pre\nmain FROM_PRE=1\npost STATE_token=abc path=\/opt\/probe\/bin/);
    expect(r.outputs).toEqual({ result: 'done' });
    expect(r.state).toEqual({ token: 'abc' });
  });

  it('still runs post after main failed (post-if defaults to always())', async () => {
    const r = await run({ fail: 'yes' });
    expect(r.code).toBe(3);
    expect(r.steps.map((s) => [s.phase, s.code])).toEqual([
      ['pre', 0],
      ['main', 3],
      ['post', 0],
    ]);
  });

  it('skips pre when pre-if is false', async () => {
    const r = await run({ 'skip-pre': 'yes' });
    expect(r.steps.map((s) => s.phase)).toEqual(['main', 'post']);
    expect(r.stdout).toContain('main FROM_PRE=\n');
  });
});

describe('npm run action', () => {
  let server: TestServer;
  let dir: { path: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    server = await startHttpServer((_req, res) => json(res, 200, { status: 'healthy' }));
    dir = await tempDir('opskit-npm-action-');
  });
  afterAll(async () => {
    await server.close();
    await dir.cleanup();
  });

  const npmAction = (...args: string[]) =>
    runProcess(process.execPath, [path.resolve('scripts/action.js'), ...args], {
      cwd: dir.path,
      env: { ...process.env, OPSKIT_NODE24: node24() },
    });

  it('runs a bundle with its defaults, inputs from --input and an env file, and prints the summary', async () => {
    const envFile = path.join(dir.path, '.env');
    await writeFile(envFile, `# smoke settings\nINPUT_TIMEOUT=20s\nINPUT_URL="${server.url}/health"\n`);
    const r = await npmAction('smoke-test', '--env-file', envFile, '--input', 'consecutive-successes=2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outputs\n {2}passed: true/);
    expect(r.stdout).toMatch(/job summary/);
    expect(r.stdout).toMatch(/smoke-test exited with 0/);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('passes the action exit code on, and says what it cannot run', async () => {
    const bad = await npmAction('smoke-test', '--input', 'timeout=soon', '--input', `url=${server.url}`);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("::error::smoke-test failed: input 'timeout'");
    const unknown = await npmAction('deploy-heroku');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no action 'deploy-heroku': one of blue-green-switch, .*checklist/);
  }, 60_000);
});
