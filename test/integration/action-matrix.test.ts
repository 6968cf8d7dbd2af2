/**
 * Every action, in every value of its mode input (action, mode, tool, provider, status), run through its bundle
 * the way a runner runs it: every action.yml default exported as INPUT_*, plus only the inputs that mode cannot do
 * without, against real servers (PostgreSQL, Redis, nginx) and the schema-validating Render and GitHub simulators.
 * Each must succeed: a default must never make a run fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadActionMetadata } from '../../scripts/runner/action.js';
import { RENDER_ACTIONS } from '../../src/render/config.js';
import { type ActionRun, emptyOutputs, runAction, type RunOptions } from '../harness/action.js';
import { type GitHubSim, startGitHubSim, githubRunEnv } from '../harness/github-sim.js';
import { json, startHttpServer, type TestServer } from '../harness/http-server.js';
import { type ColourBackend, type NginxServer, startColourBackend, startNginx } from '../harness/nginx.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { type RedisServer, redisCli, startRedis } from '../harness/redis.js';
import { type RenderSim, startRenderSim } from '../harness/render-sim.js';
import { tempDir } from '../harness/tmp.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/migrations/', import.meta.url));

let pg: PgServer;
let redis: RedisServer;
let render: RenderSim;
let gh: GitHubSim;
let nginx: NginxServer;
let blue: ColourBackend;
let green: ColourBackend;
let app: TestServer;
let work: { path: string; cleanup(): Promise<void> };
let n = 0;

beforeAll(async () => {
  [pg, redis, render, gh, blue, green, app, work] = await Promise.all([
    startPostgres(),
    startRedis(),
    startRenderSim({ timeScale: 0.1 }),
    startGitHubSim(),
    startColourBackend('blue', 'v1'),
    startColourBackend('green', 'v2'),
    startHttpServer((_req, res) => json(res, 200, { status: 'healthy' })),
    tempDir('opskit-matrix-'),
  ]);
  nginx = await startNginx({ servers: [blue.server] });
  await pg.psql("CREATE TABLE items (id serial PRIMARY KEY, name text); INSERT INTO items (name) VALUES ('a'), ('b');");
  await redisCli(redis, 'SET', 'greeting', 'hello');
}, 120_000);

afterAll(async () => {
  await Promise.all([pg, redis, render, gh, nginx].map((s) => s?.stop()));
  await Promise.all([blue?.kill(), green?.kill(), app?.close()]);
  await work?.cleanup();
});

/** The values of an action's mode input, read from its action.yml description ("a, b or c"). */
async function modesOf(action: string, input: string): Promise<string[]> {
  const meta = (await loadActionMetadata(action)) as { inputs: Record<string, { description: string }> };
  const text = meta.inputs[input]!.description.replace(/\([^)]*\)/g, '').split(/[.:]/)[0]!;
  return text
    .split(/,|\bor\b/)
    .map((s) => s.trim().split(/\s/)[0]!)
    .filter(Boolean);
}

function expectClean(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  expect(run.stdout).not.toContain('::error::');
}

const githubEnv = () => ({
  ...githubRunEnv(gh),
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_NUMBER: '7',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_WORKFLOW: 'deploy',
  GITHUB_SHA: '4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c',
  GITHUB_REF_NAME: 'main',
  GITHUB_ACTOR: 'octocat',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_JOB: 'deploy',
});

describe('the mode inputs the matrix covers', () => {
  it('are read from action.yml, so a new mode joins the matrix', async () => {
    // The library's actions (parseRenderConfig accepts these) are action.yml's.
    expect(await modesOf('deploy-render', 'action')).toEqual([...RENDER_ACTIONS]);
    expect(await modesOf('blue-green-switch', 'action')).toEqual(['switch', 'rollback', 'status', 'retire']);
    expect(await modesOf('db-restore', 'mode')).toEqual(['new-database', 'clean', 'status']);
    expect(await modesOf('migrate-with-backup', 'tool')).toEqual([
      'sql',
      'knex',
      'alembic',
      'prisma',
      'supabase',
      'command',
    ]);
    expect(await modesOf('post-incident-issue', 'status')).toEqual(['open', 'resolved', 'review', 'check']);
  });
});

describe('deploy-render, each action with its defaults', () => {
  /** The one input each action needs beyond api-key, api-url and service-id. */
  const minimum: Record<string, Record<string, string>> = { scale: { instances: '2' } };

  it.each(['deploy', 'rollback', 'status', 'cancel', 'suspend', 'resume', 'restart', 'scale'])(
    'action: %s runs end to end',
    async (action) => {
      const service = render.addService({ name: `matrix-${++n}`, suspended: action === 'resume' });
      if (action === 'deploy' || action === 'rollback' || action === 'restart')
        render.scriptDeploy(service.id, {
          statuses: [
            { status: 'build_in_progress', ms: 200 },
            { status: 'live', ms: 200 },
          ],
        });
      if (action === 'cancel') {
        render.scriptDeploy(service.id, { statuses: [{ status: 'build_in_progress', ms: 60_000 }] });
        const started = await runAction('deploy-render', {
          'api-key': render.apiKey,
          'api-url': render.baseUrl,
          'service-id': service.id,
          wait: 'false',
        });
        expectClean(started, 'deploy without waiting');
      }
      const run = await runAction('deploy-render', {
        'api-key': render.apiKey,
        'api-url': render.baseUrl,
        'service-id': service.id,
        action,
        ...minimum[action],
      });
      expectClean(run, `deploy-render ${action}`);
      expect(render.violations).toEqual([]);
      expect(Object.keys(run.outputs).sort()).toEqual(Object.keys(emptyOutputs('deploy-render')).sort());
      const state = render.service(service.id);
      if (action === 'rollback') expect(render.rollbacksTriggered(service.id)).toBe(1);
      if (action === 'suspend') expect(state.suspended).toBe(true);
      if (action === 'resume') expect(state.suspended).toBe(false);
      if (action === 'scale') expect(state.numInstances).toBe(2);
      if (action === 'cancel') expect(run.outputs.status).toBe('canceled');
      if (action === 'deploy') expect(run.outputs.status).toBe('live');
    },
    60_000,
  );
});

describe('db-backup and db-restore with their defaults', () => {
  let backupUri = '';

  it('backs up PostgreSQL with nothing but database-url and destination', async () => {
    const run = await runAction('db-backup', {
      'database-url': pg.url('postgres'),
      destination: path.join(work.path, 'pg'),
    });
    expectClean(run, 'db-backup of PostgreSQL');
    backupUri = run.outputs.uri!;
    expect(backupUri).toMatch(/\.dump/);
  }, 60_000);

  it('backs up Redis with nothing but database-url and destination (format is left at its default, custom)', async () => {
    const run = await runAction('db-backup', { 'database-url': redis.url, destination: path.join(work.path, 'redis') });
    expectClean(run, 'db-backup of Redis');
    expect(run.inputEnv.INPUT_FORMAT).toBe('custom');
    expect(run.outputs.uri).toMatch(/\.rdb/);
  }, 60_000);

  it('mode: status checks the backup with nothing but source', async () => {
    const run = await runAction('db-restore', { mode: 'status', source: backupUri });
    expectClean(run, 'db-restore status');
    expect(run.outputs['backup-uri']).toBe(backupUri);
  }, 60_000);

  it.each([
    ['new-database', () => ({ 'target-database': 'matrix_copy' })],
    ['clean', () => ({ confirm: 'postgres' })],
  ])(
    'mode: %s restores with its defaults',
    async (mode, extra) => {
      const run = await runAction('db-restore', {
        'database-url': pg.url('postgres'),
        source: backupUri,
        mode,
        ...extra(),
      });
      expectClean(run, `db-restore ${mode}`);
      expect(run.outputs['matches-manifest']).toBe('true');
      const db = mode === 'clean' ? 'postgres' : 'matrix_copy';
      expect(await pg.psql('SELECT count(*) FROM items', db)).toBe('2');
    },
    120_000,
  );
});

describe('migrate-with-backup, each tool with its defaults', () => {
  /** A workspace laid out as each tool expects, with the default migrations-dir (migrations). */
  async function workspace(
    tool: string,
  ): Promise<{ dir: string; extra: Record<string, string>; env: Record<string, string> }> {
    const dir = path.join(work.path, `ws-${tool}`);
    await mkdir(dir, { recursive: true });
    const db = `matrix_${tool}`;
    await pg.psql(`CREATE DATABASE ${db}`);
    const env: Record<string, string> = {};
    const extra: Record<string, string> = { 'database-url': pg.url(db) };
    switch (tool) {
      case 'sql':
        await mkdir(path.join(dir, 'migrations'));
        await writeFile(path.join(dir, 'migrations', '001_people.sql'), 'CREATE TABLE people (id int);\n');
        break;
      case 'knex':
      case 'alembic':
        await cp(path.join(FIXTURES, tool), dir, { recursive: true });
        if (tool === 'alembic') env.PATH = `/usr/bin:${process.env.PATH}`;
        if (tool === 'knex')
          await cp(path.resolve('node_modules'), path.join(dir, 'node_modules'), {
            recursive: true,
            verbatimSymlinks: true,
            filter: (src) => !src.includes('.cache'),
          });
        break;
      case 'prisma':
      case 'supabase': {
        // Stand-ins for the two CLIs (not installable here): they answer like the real ones with nothing pending.
        const bin = path.join(dir, tool === 'prisma' ? 'node_modules/.bin' : 'bin');
        await mkdir(bin, { recursive: true });
        const answer =
          tool === 'prisma'
            ? 'case "$*" in *status*) echo "Database schema is up to date!";; *) echo "No pending migrations to apply.";; esac'
            : 'case "$*" in *"migration list"*) printf "  Local | Remote | Time (UTC)\\n  ------|--------|-----------\\n";; *) echo "Remote database is up to date.";; esac';
        await writeFile(path.join(bin, tool), `#!/bin/sh\n${answer}\n`);
        await chmod(path.join(bin, tool), 0o755);
        if (tool === 'supabase') env.PATH = `${bin}:${process.env.PATH}`;
        break;
      }
      case 'command':
        extra.command = 'psql -c "CREATE TABLE made_by_command (id int)"';
        break;
    }
    return { dir, extra, env };
  }

  it.each(['sql', 'knex', 'alembic', 'prisma', 'supabase', 'command'])(
    'tool: %s runs with its defaults',
    async (tool) => {
      const ws = await workspace(tool);
      const options: RunOptions = { cwd: ws.dir, env: ws.env };
      const run = await runAction('migrate-with-backup', { tool, ...ws.extra }, options);
      expectClean(run, `migrate-with-backup ${tool}`);
      expect(['applied', 'nothing-to-do']).toContain(run.outputs.outcome);
      expect(Object.keys(run.outputs).sort()).toEqual(Object.keys(emptyOutputs('migrate-with-backup')).sort());
    },
    120_000,
  );
});

describe('post-incident-issue, each status with its defaults', () => {
  it.each(['open', 'resolved', 'review', 'check'])(
    'status: %s uses the job token that github-token defaults to',
    async (status) => {
      // check needs its window (since); every other status runs with nothing but itself.
      const extra: Record<string, string> = status === 'check' ? { since: new Date().toISOString() } : {};
      const run = await runAction(
        'post-incident-issue',
        { status, ...extra },
        { env: githubEnv(), githubToken: gh.token },
      );
      expectClean(run, `post-incident-issue ${status}`);
      expect(run.inputEnv['INPUT_GITHUB-TOKEN']).toBe(gh.token);
      expect(gh.violations).toEqual([]);
      expect(run.outputs.action).toBe({ open: 'created', resolved: 'closed' }[status] ?? 'none');
    },
    60_000,
  );
});

describe('blue-green-switch, each action and provider with its defaults', () => {
  const base = () => ({
    'upstream-file': nginx.upstreamFile,
    blue: blue.server,
    green: green.server,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
  });

  it.each([
    ['switch', { 'bake-time': '1s' }],
    ['status', {}],
    ['rollback', { 'bake-time': '1s' }],
    // retire needs its command; after the rollback, green is the colour not live.
    ['retire', { 'retire-command': 'true', 'retire-after': '0s' }],
  ])(
    'action: %s (provider: nginx, the default) runs end to end',
    async (action, extra) => {
      const run = await runAction('blue-green-switch', { ...base(), action, ...extra });
      expectClean(run, `blue-green-switch ${action}`);
      expect(run.inputEnv.INPUT_PROVIDER).toBe('nginx');
      expect(run.outputs.live).toBe(action === 'rollback' || action === 'retire' ? 'blue' : 'green');
      if (action === 'retire') expect(run.outputs.retired).toBe('green');
    },
    90_000,
  );
});

describe('smoke-test and the root checklist with their defaults', () => {
  it('smoke-test needs only url', async () => {
    const run = await runAction('smoke-test', { url: `${app.url}/health` });
    expectClean(run, 'smoke-test');
    expect(run.outputs.passed).toBe('true');
  }, 60_000);

  it('the checklist runs its smoke part with only smoke-url', async () => {
    const run = await runAction('checklist', { 'smoke-url': `${app.url}/health` });
    expectClean(run, 'checklist');
    expect(run.outputs.outcome).toBe('passed');
  }, 60_000);
});

describe('the matrix depends on the defaults being exported', () => {
  it('fails the run that reads github-token from its default when the harness leaves the defaults out', async () => {
    const meta = (await loadActionMetadata('post-incident-issue')) as { inputs: Record<string, unknown> };
    const run = await runAction(
      'post-incident-issue',
      { status: 'open' },
      { env: githubEnv(), githubToken: gh.token, absent: Object.keys(meta.inputs).filter((k) => k !== 'status') },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/github-token/);
  }, 60_000);
});
