/**
 * No plaintext database dumps as workflow artifacts (issue #17): anyone with read access to the repository can
 * download a run's artifacts. The bundles run against a stand-in for the Actions results service (the artifact
 * API's Twirp endpoint, ACTIONS_RESULTS_URL) that records every request, so "nothing was uploaded" is checked
 * where the upload would have gone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runAction, type ActionRun } from '../harness/action.js';
import { startHttpServer, type TestServer } from '../harness/http-server.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let results: TestServer;
let workspace: string;
let db = 0;

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A runtime token shaped like the runner's (the artifact client reads its run and job from the `scp` claim). */
const RUNTIME_TOKEN = [
  base64url({ alg: 'none', typ: 'JWT' }),
  base64url({
    scp: 'Actions.Results:5d2b1e0c-1111-4222-8333-944455556666:7e3c2f1d-aaaa-4bbb-8ccc-ddddeeeeffff',
  }),
  'unsigned',
].join('.');

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-plaintext-artifact-')]);
  // Refuses every call (400 is not retried): these tests only need to know whether an upload was attempted.
  results = await startHttpServer((req, res) => {
    req.resume();
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'invalid_argument', msg: 'the test results service stores nothing' }));
  });
  workspace = path.join(dir.path, 'workspace');
  await mkdir(path.join(workspace, 'migrations'), { recursive: true });
  await writeFile(path.join(workspace, 'migrations', '001_orders.sql'), 'CREATE TABLE orders (id int PRIMARY KEY);\n');
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup(), results?.close()]);
});

let name: string;
beforeEach(async () => {
  results.requests.length = 0;
  name = `app${++db}`;
  await pg.psql(`CREATE DATABASE ${name}`);
  await pg.psql('CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 20) AS g', name);
});

/** The runner's environment for the artifact API, pointing at the stand-in. */
const artifactEnv = () => ({ ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN, ACTIONS_RESULTS_URL: `${results.url}/` });
const twirpCalls = () => results.requests.filter((r) => r.url.startsWith('/twirp/'));
const tableExists = async (table: string) =>
  (await pg.psql(`SELECT to_regclass('public.${table}') IS NOT NULL`, name)) === 't';

function expectSuccess(run: ActionRun) {
  if (run.code !== 0) throw new Error(`the action exited with ${run.code}:\n${run.stdout}\n${run.stderr}`);
}

function errorLine(run: ActionRun): string {
  return run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
}

describe('migrate-with-backup', () => {
  it('keeps its default, unencrypted backup out of the artifacts, and says so', async () => {
    const run = await runAction(
      'migrate-with-backup',
      { 'database-url': pg.url(name) },
      { env: artifactEnv(), workspace },
    );
    expectSuccess(run);
    expect(run.outputs.outcome).toBe('applied');
    expect(twirpCalls()).toEqual([]);
    expect(run.stdout).toContain('the backup is not encrypted, so it is not kept as a workflow artifact');
    expect(run.stdout).toContain('allow-plaintext-artifact: true');
  }, 120_000);

  it('uploads it when allow-plaintext-artifact is true', async () => {
    const run = await runAction(
      'migrate-with-backup',
      { 'database-url': pg.url(name), 'allow-plaintext-artifact': 'true' },
      { env: artifactEnv(), workspace },
    );
    expectSuccess(run); // the upload's failure is a warning: the backup was only kept for later
    expect(twirpCalls().map((r) => r.url)).toContain(
      '/twirp/github.actions.results.api.v1.ArtifactService/CreateArtifact',
    );
  }, 120_000);

  it('refuses backup-destination artifact naming the inputs, before taking a backup or migrating', async () => {
    const run = await runAction(
      'migrate-with-backup',
      { 'database-url': pg.url(name), 'backup-destination': 'artifact' },
      { env: artifactEnv(), workspace },
    );
    expect(run.code).toBe(1);
    expect(errorLine(run)).toBe(
      "::error::migrate-with-backup failed: input 'backup-destination': artifact would store the database unencrypted as a workflow artifact, which anyone with read access to the repository can download; this action does not encrypt its backup: use an s3:// or path destination, or set allow-plaintext-artifact: true to keep it in plaintext anyway",
    );
    expect(twirpCalls()).toEqual([]);
    expect(await tableExists('orders')).toBe(false);
    expect(run.visible).not.toContain(pg.password);
  }, 120_000);
});

describe('db-backup', () => {
  it('refuses destination artifact without encryption, naming encrypt-to, encryption-passphrase and allow-plaintext-artifact', async () => {
    const run = await runAction(
      'db-backup',
      { 'database-url': pg.url(name), destination: 'artifact://nightly' },
      { env: artifactEnv() },
    );
    expect(run.code).toBe(1);
    expect(errorLine(run)).toBe(
      "::error::db-backup failed: input 'destination': artifact://nightly/ would store the database unencrypted as a workflow artifact, which anyone with read access to the repository can download; set encrypt-to or encryption-passphrase to encrypt it, or allow-plaintext-artifact: true to keep it in plaintext anyway",
    );
    expect(twirpCalls()).toEqual([]);
    expect(run.outputs.uri ?? '').toBe('');
    expect(run.visible).not.toContain(pg.password);
  }, 60_000);

  it.each([
    ['an encryption passphrase', { 'encryption-passphrase': 'correct horse battery staple' }],
    ['allow-plaintext-artifact: true', { 'allow-plaintext-artifact': 'true' }],
  ])(
    'goes to the artifact with %s',
    async (_what, inputs) => {
      const run = await runAction(
        'db-backup',
        { 'database-url': pg.url(name), destination: 'artifact', verify: 'checksum', ...inputs },
        { env: artifactEnv() },
      );
      // The stand-in refuses the upload, so the run fails there: past the check, at the artifact service.
      expect(twirpCalls().length).toBeGreaterThan(0);
      expect(run.stdout).not.toContain('would store the database unencrypted');
    },
    60_000,
  );
});

describe('the root action', () => {
  it('refuses backup-destination artifact naming allow-plaintext-artifact, before touching the database', async () => {
    const out = path.join(dir.path, 'never');
    const run = await runAction(
      'checklist',
      { 'database-url': pg.url(name), 'backup-destination': 'artifact', 'migrations-dir': 'migrations' },
      { env: artifactEnv(), workspace, runnerTemp: out },
    );
    expect(run.code).toBe(1);
    expect(errorLine(run)).toContain(
      "input 'backup-destination': artifact would store the database unencrypted as a workflow artifact, which anyone with read access to the repository can download; this action does not encrypt its backup: use an s3:// or path destination, or set allow-plaintext-artifact: true",
    );
    expect(twirpCalls()).toEqual([]);
    expect(await tableExists('orders')).toBe(false);
    expect(existsSync(path.join(out, 'opskit-backups'))).toBe(false);
  }, 60_000);
});
