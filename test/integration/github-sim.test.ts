import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createGitHubClient, type GitHub } from '../../src/github/client.js';
import { silentLogger } from '../../src/logger.js';
import { githubSpecStats, startGitHubSim, type GitHubSim } from '../harness/github-sim.js';

let sim: GitHubSim;
let gh: GitHub;
let owner: string;
let repo: string;

/** A bare request (no Octokit, no throttling), to send what Octokit would not. */
async function call(method: string, path: string, body?: unknown, token = sim.token) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      authorization: `token ${token}`,
      'content-type': 'application/json',
      accept: 'application/vnd.github+json',
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    data: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

beforeAll(async () => {
  sim = await startGitHubSim();
  gh = createGitHubClient({ token: sim.token, baseUrl: sim.url, logger: silentLogger, retries: 0 });
  ({ owner, name: repo } = sim.repo);
});
afterAll(() => sim.stop());

describe('github-sim', () => {
  it('loads the reduced GitHub description once per process, quickly', async () => {
    const stats = await githubSpecStats();
    expect(stats.operations).toBe(15);
    expect(stats.initMs).toBeLessThan(5000);
    const again = await startGitHubSim();
    await again.stop();
    expect(await githubSpecStats()).toBe(stats);
  });

  it('serves issues, comments and labels through Octokit with no schema violation', async () => {
    await gh.rest.issues.createLabel({ owner, repo, name: 'incident', color: 'd73a4a' });
    const label = await gh.rest.issues.getLabel({ owner, repo, name: 'incident' });
    expect(label.data.name).toBe('incident');
    const created = await gh.rest.issues.create({
      owner,
      repo,
      title: 'first',
      body: 'hello',
      labels: ['incident', 'severity:P2'],
    });
    expect(created.status).toBe(201);
    expect(created.data.html_url).toBe(`https://github.com/${owner}/${repo}/issues/${created.data.number}`);
    expect(sim.labels.map((l) => l.name)).toEqual(['incident', 'severity:P2']); // GitHub creates unknown labels
    await gh.rest.issues.createComment({ owner, repo, issue_number: created.data.number, body: 'a comment' });
    const comments = await gh.rest.issues.listComments({ owner, repo, issue_number: created.data.number });
    expect(comments.data.map((c) => c.body)).toEqual(['a comment']);
    expect(comments.data[0]).not.toHaveProperty('issue_number');
    await gh.rest.issues.addLabels({ owner, repo, issue_number: created.data.number, labels: ['severity:P0'] });
    await gh.rest.issues.removeLabel({ owner, repo, issue_number: created.data.number, name: 'severity:P2' });
    const closed = await gh.rest.issues.update({
      owner,
      repo,
      issue_number: created.data.number,
      state: 'closed',
      state_reason: 'completed',
    });
    expect(closed.data.closed_at).toMatch(/Z$/);
    const got = await gh.rest.issues.get({ owner, repo, issue_number: created.data.number });
    expect(got.data.labels.map((l) => (typeof l === 'string' ? l : l.name))).toEqual(['incident', 'severity:P0']);
    const listed = await gh.rest.issues.listForRepo({ owner, repo, labels: 'incident', state: 'all' });
    expect(listed.data.map((i) => i.number)).toEqual([created.data.number]);
    expect((await gh.rest.issues.listForRepo({ owner, repo, labels: 'incident' })).data).toEqual([]); // state=open by default
    expect(sim.violations).toEqual([]);
  });

  it('paginates with Link headers, at most 100 a page', async () => {
    for (let i = 0; i < 45; i++)
      expect(
        (await call('POST', `/repos/${owner}/${repo}/issues`, { title: `bulk ${i}`, labels: ['bulk'] })).status,
      ).toBe(201);
    const first = await call('GET', `/repos/${owner}/${repo}/issues?labels=bulk&per_page=20`);
    expect(first.headers.get('link')).toContain('rel="next"');
    const all = await gh.paginate(gh.rest.issues.listForRepo, { owner, repo, labels: 'bulk', per_page: 20 });
    expect(all).toHaveLength(45);
    expect(all[0]!.title).toBe('bulk 44'); // newest first
    const big = await call('GET', `/repos/${owner}/${repo}/issues?labels=bulk&per_page=500`);
    expect((big.data as unknown as unknown[]).length).toBe(45);
    expect(big.headers.get('link')).toBeNull();
    expect(sim.violations).toEqual([]);
  });

  it('catches a malformed request in violations and answers 422 like GitHub', async () => {
    const before = sim.issues.length;
    const res = await call('POST', `/repos/${owner}/${repo}/issues`, { title: 'bad', labels: 'x' });
    expect(res.status).toBe(422);
    expect(res.data?.message).toMatch(/^Invalid request\.\n\n.*labels.*array/s);
    expect(sim.violations).toHaveLength(1);
    expect(sim.violations[0]).toMatch(
      /POST .*\/issues \(issues\/create\): request does not match the schema: \/requestBody\/labels must be array/,
    );
    expect(sim.issues.length).toBe(before); // nothing created
    sim.violations.length = 0;
  });

  it('reports a route it does not simulate, and a body that is not JSON', async () => {
    expect((await call('GET', `/repos/${owner}/${repo}/pulls`)).status).toBe(404);
    expect((await call('POST', `/repos/${owner}/${repo}/issues`, '{nope')).status).toBe(400);
    expect(sim.violations).toEqual([
      `GET /repos/${owner}/${repo}/pulls: not an operation of the simulated API (see github-sim.ts for the list)`,
      `POST /repos/${owner}/${repo}/issues: the request body is not JSON`,
    ]);
    sim.violations.length = 0;
  });

  it('refuses a wrong token with 401, another repository with 404', async () => {
    const wrong = await call('GET', `/repos/${owner}/${repo}/issues`, undefined, 'ghs_wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.data?.message).toBe('Bad credentials');
    const bearer = await fetch(`${sim.url}/repos/${owner}/${repo}/labels`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    expect(bearer.status).toBe(200);
    expect((await call('GET', `/repos/${owner}/other/issues`)).status).toBe(404);
    expect(sim.requests.at(-1)).toMatchObject({ method: 'GET', path: `/repos/${owner}/other/issues`, status: 404 });
  });

  it('answers 403 "Resource not accessible by integration" for a permission the token lacks', async () => {
    sim.denyPermission('issues');
    const write = await call('POST', `/repos/${owner}/${repo}/issues`, { title: 'no' });
    expect(write.status).toBe(403);
    expect(write.data?.message).toBe('Resource not accessible by integration');
    expect(write.headers.get('x-accepted-github-permissions')).toBe('issues=write');
    expect((await call('GET', `/repos/${owner}/${repo}/issues`)).status).toBe(200); // reads still work
    sim.denyPermission('issues', 'read');
    expect((await call('GET', `/repos/${owner}/${repo}/issues`)).status).toBe(403);
    sim.grantAll();
    expect((await call('GET', `/repos/${owner}/${repo}/issues`)).status).toBe(200);
    expect(sim.violations).toEqual([]);
  });

  it('refuses a body over 65,536 characters and a label that exists with Validation Failed', async () => {
    const long = await call('POST', `/repos/${owner}/${repo}/issues`, { title: 'long', body: 'x'.repeat(65_537) });
    expect(long.status).toBe(422);
    expect(JSON.stringify(long.data)).toContain('body is too long (maximum is 65536 characters)');
    const dup = await call('POST', `/repos/${owner}/${repo}/labels`, { name: 'INCIDENT', color: 'ffffff' });
    expect(dup.status).toBe(422);
    expect(JSON.stringify(dup.data)).toContain('already_exists');
    expect(sim.violations).toEqual([]);
  });

  it('lists the jobs and steps of a seeded run, two of them failed', async () => {
    const run = sim.seedRun();
    const jobs = await gh.paginate(gh.rest.actions.listJobsForWorkflowRun, {
      owner,
      repo,
      run_id: run.runId,
      per_page: 3,
    });
    expect(jobs.map((j) => [j.name, j.conclusion])).toEqual([
      ['build', 'success'],
      ['deploy', 'failure'],
      ['smoke-test', 'failure'],
      ['incident', null],
    ]);
    expect(jobs[1]!.steps!.find((s) => s.conclusion === 'failure')).toMatchObject({
      number: 3,
      name: 'Deploy to Render',
    });
    expect(jobs[1]!.html_url).toBe(`${run.url}/job/${jobs[1]!.id}`);
    expect((await call('GET', `/repos/${owner}/${repo}/actions/runs/1/jobs`)).status).toBe(404);
    sim.denyPermission('actions', 'read');
    expect((await call('GET', `/repos/${owner}/${repo}/actions/runs/${run.runId}/jobs`)).status).toBe(403);
    sim.grantAll();
    expect(sim.violations).toEqual([]);
  });

  it('creates deployments and statuses, marking older successful ones inactive', async () => {
    const a = await call('POST', `/repos/${owner}/${repo}/deployments`, {
      ref: 'main',
      environment: 'staging',
      required_contexts: [],
    });
    expect(a.status).toBe(201);
    expect(a.data).toMatchObject({
      ref: 'main',
      task: 'deploy',
      environment: 'staging',
      production_environment: false,
    });
    const b = await call('POST', `/repos/${owner}/${repo}/deployments`, {
      ref: 'a'.repeat(40),
      environment: 'staging',
      payload: { x: 1 },
    });
    expect(b.data?.sha).toBe('a'.repeat(40));
    const status = (d: unknown, body: unknown) =>
      call('POST', `/repos/${owner}/${repo}/deployments/${d}/statuses`, body);
    expect(
      (await status(a.data!.id, { state: 'success', log_url: 'https://render.example/logs/1' })).data,
    ).toMatchObject({
      state: 'success',
      target_url: 'https://render.example/logs/1',
      environment: 'staging',
    });
    await status(b.data!.id, { state: 'in_progress' });
    await status(b.data!.id, { state: 'success', environment_url: 'https://staging.example' });
    const listA = await gh.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: a.data!.id as number });
    expect(listA.data.map((s) => s.state)).toEqual(['inactive', 'success']); // newest first
    const listB = await gh.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: b.data!.id as number });
    expect(listB.data.map((s) => s.state)).toEqual(['success', 'in_progress']);
    expect(sim.deploymentStatuses.filter((s) => s.deployment_id === b.data!.id)).toHaveLength(2);
    expect((await status(999, { state: 'success' })).status).toBe(404);
    expect((await status(a.data!.id, { state: 'done' })).status).toBe(422);
    expect(sim.violations).toEqual([
      expect.stringMatching(
        /create-deployment-status\): request does not match the schema: \/requestBody\/state must be equal to one of the allowed values/,
      ),
    ]);
    sim.violations.length = 0;
  });

  it('can lose an answer after the change was made (failNext applied)', async () => {
    const before = sim.issues.length;
    sim.failNext('issues/create', { status: 502, applied: true });
    expect((await call('POST', `/repos/${owner}/${repo}/issues`, { title: 'lost answer' })).status).toBe(502);
    expect(sim.issues.length).toBe(before + 1);
    expect((await call('POST', `/repos/${owner}/${repo}/issues`, { title: 'next' })).status).toBe(201);
  });
});
