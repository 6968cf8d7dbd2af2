/**
 * A local GitHub REST API for tests: a real HTTP server on loopback with in-memory state, checking
 * every request and every response against GitHub's own OpenAPI description (@octokit/openapi,
 * through openapi-backend/ajv). It answers like GitHub, including its awkward parts: 401 "Bad
 * credentials", 403 "Resource not accessible by integration" with X-Accepted-GitHub-Permissions,
 * 422 for a request the schema rejects, 422 "Validation Failed" for a body over 65,536 characters
 * or a label that exists, 404 for another repository, Link-header pagination (per_page ≤ 100).
 *
 *   const gh = await startGitHubSim();
 *   // env for the action: GITHUB_API_URL=gh.url, GITHUB_REPOSITORY=`${gh.repo.owner}/${gh.repo.name}`
 *   // input: github-token=gh.token
 *   ...
 *   expect(gh.violations).toEqual([]);
 *   await gh.stop();
 *
 * API (every array is the live state, in creation order; tests may read it and edit it, e.g. move an
 * issue's `closed_at` into the past):
 *   url                 API base (use as GITHUB_API_URL), `http://127.0.0.1:<port>`; routes at its root.
 *   serverUrl           web base used in html_url fields (GITHUB_SERVER_URL), default https://github.com.
 *   token               the one token accepted, as `Authorization: token <t>` or `Bearer <t>`; anything else → 401.
 *   repo                {owner, name}: the one repository; any other owner/repo → 404.
 *   issues              SimIssue[]: REST issue objects (labels as label objects, user the bot).
 *   comments            SimComment[]: REST issue-comment objects plus `issue_number` (not sent to clients).
 *   labels              SimLabel[]: the repository's labels.
 *   deployments         SimDeployment[]: REST deployment objects.
 *   deploymentStatuses  SimDeploymentStatus[]: REST deployment-status objects plus `deployment_id` (not sent).
 *   requests            SimRequest[]: every request received, in order (method, path, query, body, operationId,
 *                       status answered). The Authorization header is not kept.
 *   violations          string[]: each request or response that does not match the OpenAPI description, and
 *                       each request to a route the description or the simulator does not have. Empty when
 *                       client and simulator both speak GitHub's API.
 *   seedRun(options?)   adds a workflow run with jobs and steps for
 *                       GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs; by default 4 jobs: `build`
 *                       (success), `deploy` (failure at step 3 "Deploy to Render"), `smoke-test` (failure at step 2
 *                       "Run smoke tests") and `incident` (in progress: the job running the action). Returns
 *                       {runId, url, jobs}.
 *   denyPermission(p, access = 'write')  the token loses `p` ('issues' | 'actions' | 'deployments'):
 *                       writes (or, with 'read', reads too) of that scope answer 403 "Resource not accessible by
 *                       integration" with `X-Accepted-GitHub-Permissions: issues=write`. grantAll() undoes it.
 *   failNext(operationId, {status = 502, applied = false, times = 1})  the next call(s) of an operation answer
 *                       `status`; with `applied` the change is made first (an answer lost after the fact).
 *   stop()              closes the server.
 * Options: startGitHubSim({owner = 'opskit-test', name = 'service', serverUrl, assignable?: string[]}); with
 * `assignable`, assigning anyone else answers 422 Validation Failed (field assignees, code invalid), as GitHub does.
 * Deployments: `ref` is the sha when it is 40 hex digits (else a stable fake sha); `production_environment`
 * defaults to environment === 'production'; a status's `log_url` also sets `target_url`; a `success` status with
 * `auto_inactive` (default true) adds an `inactive` status to earlier successful deployments of the same
 * environment that are neither transient nor production; statuses list newest first. Unknown deployment → 404.
 *
 * Implemented operations (operationIds of the description): issues/list-for-repo, issues/create,
 * issues/get, issues/update, issues/list-comments, issues/create-comment, issues/list-labels-for-repo,
 * issues/create-label, issues/get-label, issues/add-labels, issues/remove-label,
 * actions/list-jobs-for-workflow-run, repos/create-deployment, repos/create-deployment-status,
 * repos/list-deployment-statuses.
 *
 * The description is 13 MB: it is reduced once to these operations and the components they reference
 * (~130 kB), normalised for ajv (`nullable` without `type`, nullable enums), cached under
 * node_modules/.cache/opskit, and loaded once per process into openapi-backend (quick mode: validators
 * compile on first use) in a worker thread, because openapi-backend require()s an ES module that jest's
 * loader cannot. `githubSpecStats()` reports what that cost. GitHub's description says `format: uri` where
 * GitHub sends "" for an unset URL (a deployment status's target_url); the simulator accepts "" there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI description, reduced to what the simulator implements

const OPERATIONS: Record<string, [method: string, path: string]> = {
  'issues/list-for-repo': ['get', '/repos/{owner}/{repo}/issues'],
  'issues/create': ['post', '/repos/{owner}/{repo}/issues'],
  'issues/get': ['get', '/repos/{owner}/{repo}/issues/{issue_number}'],
  'issues/update': ['patch', '/repos/{owner}/{repo}/issues/{issue_number}'],
  'issues/list-comments': ['get', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  'issues/create-comment': ['post', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  'issues/list-labels-for-repo': ['get', '/repos/{owner}/{repo}/labels'],
  'issues/create-label': ['post', '/repos/{owner}/{repo}/labels'],
  'issues/get-label': ['get', '/repos/{owner}/{repo}/labels/{name}'],
  'issues/add-labels': ['post', '/repos/{owner}/{repo}/issues/{issue_number}/labels'],
  'issues/remove-label': ['delete', '/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}'],
  'actions/list-jobs-for-workflow-run': ['get', '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs'],
  'repos/create-deployment': ['post', '/repos/{owner}/{repo}/deployments'],
  'repos/create-deployment-status': ['post', '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses'],
  'repos/list-deployment-statuses': ['get', '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses'],
};

/** Bump when the reduction or normalisation changes, to invalidate the cache. */
const REDUCER_VERSION = 3;
const SPEC_PACKAGE = path.resolve('node_modules/@octokit/openapi');
const CACHE_DIR = path.resolve('node_modules/.cache/opskit');

export interface SpecStats {
  /** Where the reduced description came from this time. */
  source: 'cache' | 'full-spec';
  /** Reading (and, from the full spec, reducing) the description. */
  loadMs: number;
  /** Loading openapi-backend in the worker and its init (quick mode: dereference; validators compile lazily). */
  initMs: number;
  /** First-use validator compilation per operation. */
  compileMs: Record<string, number>;
  operations: number;
}

interface CheckedRequest {
  found: boolean;
  operationId?: string;
  params?: Record<string, string>;
  /** The statuses the description documents for the operation. */
  statuses?: string[];
  doc?: string;
  valid?: boolean;
  errors?: string[];
}

interface SpecValidator {
  stats: SpecStats;
  /** Routes a request to its operation and validates it (path, query, headers, body). */
  checkRequest(request: WireRequest): Promise<CheckedRequest>;
  /** Validation errors of a response body for a documented status (empty when it matches). */
  checkResponse(operationId: string, status: number, body: unknown): Promise<string[]>;
}

interface WireRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * openapi-backend runs in a worker thread: it require()s json-schema-ref-parser, an ES module, which
 * jest's CommonJS loader cannot load (Node's can). Quick mode with an in-memory document never
 * calls the ref parser, so the worker gives it a stub and loads nothing but openapi-backend and ajv.
 * One worker per process serves every simulator; validators compile on first use and stay.
 */
const WORKER_SOURCE = `
const started = performance.now();
const { parentPort, workerData } = require('node:worker_threads');
const Module = require('node:module');
const load = Module.createRequire(workerData.base);
const refParser = load.resolve('@apidevtools/json-schema-ref-parser');
const stub = new Module(refParser);
const unused = async () => { throw new Error('github-sim: the ref parser is not used in quick mode'); };
// parse() of an in-memory document is the document itself; nothing else is called in quick mode.
stub.exports = { parse: async (doc) => doc, dereference: unused, resolve: unused };
stub.loaded = true;
load.cache[refParser] = stub;
const { OpenAPIBackend } = load('openapi-backend');
const api = new OpenAPIBackend({
  definition: workerData.document,
  quick: true,
  strict: false,
  validate: true,
  ajvOpts: { strict: false, allErrors: true },
  customizeAjv: (ajv) => {
    ajv.addFormat('date-time', /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$/);
    // GitHub sends "" for an unset URL (a deployment status's target_url) where the description says format uri.
    ajv.addFormat('uri', { validate: (s) => s === '' || URL.canParse(s) });
    ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
    return ajv;
  },
});
const errors = (list) => (list || []).map((e) => (e.instancePath || '/') + ' ' + (e.message || 'is invalid'));
api.init().then(() => parentPort.postMessage({ ready: true, initMs: performance.now() - started }));
parentPort.on('message', (m) => {
  const t = performance.now();
  try {
    if (m.type === 'request') {
      const op = api.matchOperation(m.request);
      if (!op) return parentPort.postMessage({ id: m.id, found: false });
      const check = api.validateRequest(m.request, op);
      const params = api.router.parseRequest(m.request, op).params || {};
      parentPort.postMessage({
        id: m.id, found: true, operationId: op.operationId, params,
        statuses: Object.keys(op.responses || {}), doc: op.externalDocs && op.externalDocs.url,
        valid: check.valid, errors: errors(check.errors), ms: performance.now() - t,
      });
    } else {
      const check = api.validateResponse(m.body, m.operationId, m.status);
      parentPort.postMessage({ id: m.id, errors: check.valid ? [] : errors(check.errors), ms: performance.now() - t });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, failure: String((err && err.stack) || err) });
  }
});
`;

let validator: Promise<SpecValidator> | undefined;

export async function githubSpecStats(): Promise<SpecStats> {
  return (await loadSpec()).stats;
}

function loadSpec(): Promise<SpecValidator> {
  validator ??= new Promise<SpecValidator>((resolve, reject) => {
    const t0 = performance.now();
    const { document, source } = reducedDocument();
    const loadMs = performance.now() - t0;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { base: path.resolve('package.json'), document },
    });
    const pending = new Map<number, (answer: Record<string, unknown>) => void>();
    let nextId = 0;
    const stats: SpecStats = { source, loadMs, initMs: 0, compileMs: {}, operations: Object.keys(OPERATIONS).length };
    const seen = new Set<string>();
    const ask = (message: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((done, fail) => {
        const id = ++nextId;
        pending.set(id, (answer) =>
          typeof answer.failure === 'string' ? fail(new Error(answer.failure)) : done(answer),
        );
        worker.postMessage({ ...message, id });
      });
    worker.on('message', (m: Record<string, unknown>) => {
      if (m.ready) {
        stats.initMs = m.initMs as number;
        resolve({
          stats,
          async checkRequest(request) {
            const answer = (await ask({ type: 'request', request })) as unknown as CheckedRequest & { ms?: number };
            if (answer.operationId && !seen.has(`req ${answer.operationId}`)) {
              seen.add(`req ${answer.operationId}`);
              stats.compileMs[answer.operationId] = Math.round(
                (stats.compileMs[answer.operationId] ?? 0) + (answer.ms ?? 0),
              );
            }
            return answer;
          },
          async checkResponse(operationId, status, body) {
            const answer = await ask({ type: 'response', operationId, status, body });
            if (!seen.has(`res ${operationId}`)) {
              seen.add(`res ${operationId}`);
              stats.compileMs[operationId] = Math.round(
                (stats.compileMs[operationId] ?? 0) + ((answer.ms as number) ?? 0),
              );
            }
            return answer.errors as string[];
          },
        });
        return;
      }
      const settle = pending.get(m.id as number);
      pending.delete(m.id as number);
      settle?.(m);
    });
    worker.unref(); // after the listeners: adding one refs the port again
    worker.on('error', (err) => {
      reject(err);
      for (const settle of pending.values()) settle({ failure: `github-sim validator crashed: ${err.stack ?? err}` });
      pending.clear();
      validator = undefined;
    });
  });
  return validator;
}

function reducedDocument(): { document: unknown; source: SpecStats['source'] } {
  const version = (JSON.parse(readFileSync(path.join(SPEC_PACKAGE, 'package.json'), 'utf8')) as { version: string })
    .version;
  const hash = createHash('sha256')
    .update(JSON.stringify([REDUCER_VERSION, OPERATIONS]))
    .digest('hex')
    .slice(0, 12);
  const cacheFile = path.join(CACHE_DIR, `github-sim-openapi-${version}-${hash}.json`);
  if (existsSync(cacheFile)) {
    try {
      return { document: JSON.parse(readFileSync(cacheFile, 'utf8')) as unknown, source: 'cache' };
    } catch {
      // rebuilt below
    }
  }
  const full = JSON.parse(readFileSync(path.join(SPEC_PACKAGE, 'generated', 'api.github.com.json'), 'utf8')) as {
    openapi: string;
    info: unknown;
    paths: Record<string, Record<string, unknown>>;
    components: Record<string, Record<string, unknown>>;
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, [method, p]] of Object.entries(OPERATIONS)) {
    const op = full.paths[p]?.[method] as { operationId?: string } | undefined;
    if (op?.operationId !== operationId)
      throw new Error(`github-sim: ${method} ${p} is not ${operationId} in the spec`);
    paths[p] ??= {};
    paths[p][method] = op;
    if (full.paths[p]!.parameters) paths[p].parameters = full.paths[p]!.parameters;
  }
  // Every component referenced, transitively.
  const components: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  const queue: unknown[] = [paths];
  while (queue.length) {
    const node = queue.pop();
    if (Array.isArray(node)) queue.push(...node);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string' && !seen.has(v)) {
          seen.add(v);
          const [, , kind, name] = v.split('/');
          const target = full.components[kind!]![name!];
          (components[kind!] ??= {})[name!] = target;
          queue.push(target);
        } else queue.push(v);
      }
    }
  }
  const document = structuredClone({ openapi: full.openapi, info: full.info, paths, components });
  normaliseNullable(document);
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(document));
  renameSync(tmp, cacheFile); // atomic: parallel jest workers never read half a file
  return { document, source: 'full-spec' };
}

/**
 * Two OpenAPI 3.0 idioms ajv reads differently from GitHub: `nullable: true` without `type` (ajv
 * refuses it; GitHub uses it with oneOf/anyOf) becomes an explicit null alternative, and a nullable
 * `enum` (`state_reason`) gets null among its values, as GitHub sends `"state_reason": null`.
 */
function normaliseNullable(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(normaliseNullable);
  if (!node || typeof node !== 'object') return;
  const schema = node as Record<string, unknown>;
  for (const v of Object.values(schema)) normaliseNullable(v);
  if (schema.nullable === true && Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
  if (schema.nullable === true && schema.type === undefined) {
    delete schema.nullable;
    const alternatives = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
    if (alternatives) alternatives.push({ type: 'null' });
    else {
      const rest = { ...schema };
      for (const k of Object.keys(schema)) delete schema[k];
      schema.anyOf = [rest, { type: 'null' }];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// State shapes (REST objects; only the fields tests usually read are typed, the rest ride along)

export interface SimUser {
  login: string;
  id: number;
  type: string;
  [field: string]: unknown;
}

export interface SimLabel {
  id: number;
  node_id: string;
  url: string;
  name: string;
  description: string | null;
  color: string;
  default: boolean;
}

export interface SimIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: SimLabel[];
  assignees: SimUser[];
  comments: number;
  html_url: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  [field: string]: unknown;
}

export interface SimComment {
  id: number;
  issue_number: number;
  body: string;
  html_url: string;
  created_at: string;
  [field: string]: unknown;
}

export interface SimStep {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  number: number;
  started_at: string | null;
  completed_at: string | null;
}

export interface SimJob {
  id: number;
  run_id: number;
  name: string;
  status: string;
  conclusion: string | null;
  html_url: string;
  steps: SimStep[];
  [field: string]: unknown;
}

export interface SimDeployment {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  payload: unknown;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  [field: string]: unknown;
}

export interface SimDeploymentStatus {
  id: number;
  deployment_id: number;
  state: string;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  [field: string]: unknown;
}

export interface SimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  operationId?: string;
  /** The status answered. */
  status: number;
}

export interface SeedStepOptions {
  name: string;
  conclusion?: 'success' | 'failure' | 'cancelled' | 'skipped' | null;
  status?: SimStep['status'];
}

export interface SeedJobOptions {
  name: string;
  /** null with status in_progress for a running job. */
  conclusion?: 'success' | 'failure' | 'timed_out' | 'cancelled' | 'skipped' | null;
  status?: 'queued' | 'in_progress' | 'completed';
  steps?: SeedStepOptions[];
}

export interface SeedRunOptions {
  runId?: number;
  attempt?: number;
  workflowName?: string;
  headSha?: string;
  headBranch?: string;
  jobs?: SeedJobOptions[];
}

export interface SeededRun {
  runId: number;
  /** The run's html URL. */
  url: string;
  jobs: SimJob[];
}

export type SimPermission = 'issues' | 'actions' | 'deployments';

/**
 * The variables a runner sets that point an action at GitHub, aimed at the simulator (its API, web base and
 * repository), with the run's own variables (GITHUB_RUN_ID, GITHUB_WORKFLOW, …) from `extra`.
 */
export function githubRunEnv(
  gh: Pick<GitHubSim, 'url' | 'serverUrl' | 'repo'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: gh.serverUrl,
    GITHUB_REPOSITORY: `${gh.repo.owner}/${gh.repo.name}`,
    ...extra,
  };
}

export interface GitHubSim {
  url: string;
  serverUrl: string;
  token: string;
  repo: { owner: string; name: string };
  issues: SimIssue[];
  comments: SimComment[];
  labels: SimLabel[];
  deployments: SimDeployment[];
  deploymentStatuses: SimDeploymentStatus[];
  requests: SimRequest[];
  violations: string[];
  seedRun(options?: SeedRunOptions): SeededRun;
  denyPermission(permission: SimPermission, access?: 'read' | 'write'): void;
  grantAll(): void;
  failNext(operationId: string, options?: { status?: number; applied?: boolean; times?: number }): void;
  stop(): Promise<void>;
}

export interface GitHubSimOptions {
  owner?: string;
  name?: string;
  serverUrl?: string;
  /** Logins that can be assigned; others make issue creation fail with 422. Default: anyone. */
  assignable?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// The server

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Call {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  path: string;
}

const PERMISSION_OF: Record<string, [SimPermission, 'read' | 'write']> = {
  'issues/list-for-repo': ['issues', 'read'],
  'issues/create': ['issues', 'write'],
  'issues/get': ['issues', 'read'],
  'issues/update': ['issues', 'write'],
  'issues/list-comments': ['issues', 'read'],
  'issues/create-comment': ['issues', 'write'],
  'issues/list-labels-for-repo': ['issues', 'read'],
  'issues/create-label': ['issues', 'write'],
  'issues/get-label': ['issues', 'read'],
  'issues/add-labels': ['issues', 'write'],
  'issues/remove-label': ['issues', 'write'],
  'actions/list-jobs-for-workflow-run': ['actions', 'read'],
  'repos/create-deployment': ['deployments', 'write'],
  'repos/create-deployment-status': ['deployments', 'write'],
  'repos/list-deployment-statuses': ['deployments', 'read'],
};

const BODY_LIMIT = 65_536;
const iso = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startGitHubSim(options: GitHubSimOptions = {}): Promise<GitHubSim> {
  const spec = await loadSpec();
  const owner = options.owner ?? 'opskit-test';
  const name = options.name ?? 'service';
  const serverUrl = (options.serverUrl ?? 'https://github.com').replace(/\/+$/, '');
  const token = `ghs_${randomBytes(18).toString('hex')}`;
  let apiUrl = '';
  let nextId = 1000;
  const id = () => ++nextId;

  const issues: SimIssue[] = [];
  const comments: SimComment[] = [];
  const labels: SimLabel[] = [];
  const deployments: SimDeployment[] = [];
  const deploymentStatuses: SimDeploymentStatus[] = [];
  const runs = new Map<number, SimJob[]>();
  const requests: SimRequest[] = [];
  const violations: string[] = [];
  const denied = new Map<SimPermission, 'read' | 'write'>();
  const failures = new Map<string, { status: number; applied: boolean; times: number }>();

  const repoApi = () => `${apiUrl}/repos/${owner}/${name}`;
  const repoHtml = `${serverUrl}/${owner}/${name}`;
  /** The token's user (its URLs need the server's address, so it is made when used). */
  const bot = () => user('github-actions[bot]', 41898282, 'Bot');

  function user(login: string, uid: number, type = 'User'): SimUser {
    const u = `${apiUrl}/users/${encodeURIComponent(login)}`;
    return {
      login,
      id: uid,
      node_id: `MDQ6VXNlcj${uid}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${uid}?v=4`,
      gravatar_id: '',
      url: u,
      html_url: `${serverUrl}/${encodeURIComponent(login)}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type,
      site_admin: false,
    };
  }

  const loginIds = new Map<string, number>();
  const userFor = (login: string) => {
    if (!loginIds.has(login)) loginIds.set(login, 5000 + loginIds.size);
    return user(login, loginIds.get(login)!);
  };

  // ---- helpers

  const notFound = (call: Call, doc?: string): Answer => ({
    status: 404,
    body: { message: 'Not Found', documentation_url: doc ?? 'https://docs.github.com/rest', status: '404' },
  });

  const validationFailed = (doc: string, errors: Record<string, unknown>[]): Answer => ({
    status: 422,
    body: { message: 'Validation Failed', errors, documentation_url: doc, status: '422' },
  });

  function paginate<T>(items: readonly T[], call: Call): { page: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number(call.query.per_page ?? 30) || 30));
    const pageNo = Math.max(1, Number(call.query.page ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const q = new URLSearchParams({ ...call.query, per_page: String(perPage), page: String(p) });
      return `${apiUrl}${call.path}?${q}`;
    };
    const rels: string[] = [];
    if (pageNo < last) rels.push(`<${link(pageNo + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (pageNo > 1) rels.push(`<${link(1)}>; rel="first"`, `<${link(pageNo - 1)}>; rel="prev"`);
    return {
      page: items.slice((pageNo - 1) * perPage, pageNo * perPage),
      headers: rels.length ? { link: rels.join(', ') } : {},
    };
  }

  function findLabel(labelName: string): SimLabel | undefined {
    return labels.find((l) => l.name.toLowerCase() === labelName.toLowerCase());
  }

  function addLabel(labelName: string, color = 'ededed', description: string | null = null): SimLabel {
    const lid = id();
    const label: SimLabel = {
      id: lid,
      node_id: `LA_sim${lid}`,
      url: `${repoApi()}/labels/${encodeURIComponent(labelName)}`,
      name: labelName,
      description,
      color,
      default: false,
    };
    labels.push(label);
    return label;
  }

  /** GitHub creates labels that do not exist yet when they are put on an issue. */
  function labelsFrom(items: unknown[]): SimLabel[] {
    const names = items
      .map((i) => (typeof i === 'string' ? i : ((i as { name?: string })?.name ?? '')))
      .filter((n) => n.trim().length > 0);
    return [...new Set(names)].map((n) => ({ ...(findLabel(n) ?? addLabel(n)) }));
  }

  function issueByNumber(n: string | number): SimIssue | undefined {
    return issues.find((i) => i.number === Number(n));
  }

  function tooLong(doc: string, resource: string, text: unknown): Answer | undefined {
    if (typeof text === 'string' && text.length > BODY_LIMIT) {
      return validationFailed(doc, [
        {
          resource,
          code: 'custom',
          field: 'body',
          message: `body is too long (maximum is ${BODY_LIMIT} characters)`,
        },
      ]);
    }
    return undefined;
  }

  function assigneesFrom(doc: string, logins: unknown): SimUser[] | Answer {
    const list = Array.isArray(logins) ? (logins as string[]) : [];
    const bad = options.assignable ? list.filter((l) => !options.assignable!.includes(l)) : [];
    if (bad.length) {
      return validationFailed(
        doc,
        bad.map((value) => ({ value, resource: 'Issue', field: 'assignees', code: 'invalid' })),
      );
    }
    return list.map(userFor);
  }

  /** A record without its simulator-only field. */
  const strip = (record: object, field: string): Record<string, unknown> => {
    const copy = { ...record } as Record<string, unknown>;
    delete copy[field];
    return copy;
  };

  // ---- operations

  type Handler = (call: Call, doc: string) => Answer;
  const handlers: Record<string, Handler> = {
    'issues/list-for-repo': (call) => {
      const state = call.query.state ?? 'open';
      const wanted = (call.query.labels ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      let list = issues.filter((i) => state === 'all' || i.state === state);
      list = list.filter((i) => wanted.every((w) => i.labels.some((l) => l.name.toLowerCase() === w)));
      if (call.query.since) list = list.filter((i) => i.updated_at >= call.query.since!);
      const sortKey = call.query.sort ?? 'created';
      const dir = call.query.direction === 'asc' ? 1 : -1;
      const value = (i: SimIssue) =>
        sortKey === 'comments'
          ? i.comments
          : sortKey === 'updated'
            ? Date.parse(i.updated_at)
            : Date.parse(i.created_at);
      list = [...list].sort((a, b) => dir * (value(a) - value(b) || a.number - b.number));
      const { page, headers } = paginate(list, call);
      return { status: 200, body: page, headers };
    },

    'issues/create': (call, doc) => {
      const body = call.body as { title: string | number; body?: string; labels?: unknown[]; assignees?: string[] };
      if (String(body.title).trim() === '') {
        return validationFailed(doc, [{ resource: 'Issue', code: 'missing_field', field: 'title' }]);
      }
      const long = tooLong(doc, 'Issue', body.body);
      if (long) return long;
      const assignees = assigneesFrom(doc, body.assignees);
      if (!Array.isArray(assignees)) return assignees;
      const iid = id();
      const number = issues.length + 1;
      const now = iso();
      const u = `${repoApi()}/issues/${number}`;
      const issue: SimIssue = {
        id: iid,
        node_id: `I_sim${iid}`,
        url: u,
        repository_url: repoApi(),
        labels_url: `${u}/labels{/name}`,
        comments_url: `${u}/comments`,
        events_url: `${u}/events`,
        html_url: `${repoHtml}/issues/${number}`,
        number,
        state: 'open',
        state_reason: null,
        title: String(body.title),
        body: body.body ?? null,
        user: bot(),
        labels: labelsFrom(body.labels ?? []),
        assignee: assignees[0] ?? null,
        assignees,
        milestone: null,
        locked: false,
        active_lock_reason: null,
        comments: 0,
        closed_at: null,
        created_at: now,
        updated_at: now,
        closed_by: null,
        author_association: 'NONE',
        timeline_url: `${u}/timeline`,
      };
      issues.push(issue);
      return { status: 201, body: issue, headers: { location: u } };
    },

    'issues/get': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      return issue ? { status: 200, body: issue } : notFound(call, doc);
    },

    'issues/update': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      if (!issue) return notFound(call, doc);
      const body = call.body as {
        title?: string | number | null;
        body?: string | null;
        state?: 'open' | 'closed';
        state_reason?: string | null;
        labels?: unknown[];
        assignees?: string[];
      };
      const long = tooLong(doc, 'Issue', body.body);
      if (long) return long;
      let assignees: SimUser[] | undefined;
      if (body.assignees) {
        const a = assigneesFrom(doc, body.assignees);
        if (!Array.isArray(a)) return a;
        assignees = a;
      }
      const now = iso();
      if (body.title !== undefined && body.title !== null) issue.title = String(body.title);
      if (body.body !== undefined) issue.body = body.body;
      if (body.labels) issue.labels = labelsFrom(body.labels);
      if (assignees) {
        issue.assignees = assignees;
        issue.assignee = assignees[0] ?? null;
      }
      if (body.state && body.state !== issue.state) {
        issue.state = body.state;
        if (body.state === 'closed') {
          issue.closed_at = now;
          issue.closed_by = bot();
          issue.state_reason = body.state_reason ?? 'completed';
        } else {
          issue.closed_at = null;
          issue.closed_by = null;
          issue.state_reason = body.state_reason ?? 'reopened';
        }
      }
      issue.updated_at = now;
      return { status: 200, body: issue };
    },

    'issues/list-comments': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      if (!issue) return notFound(call, doc);
      let list = comments.filter((c) => c.issue_number === issue.number);
      if (call.query.since) list = list.filter((c) => (c.updated_at as string) >= call.query.since!);
      const { page, headers } = paginate(list, call);
      return { status: 200, body: page.map((c) => strip(c, 'issue_number')), headers };
    },

    'issues/create-comment': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      if (!issue) return notFound(call, doc);
      const body = call.body as { body: string };
      const long = tooLong(doc, 'IssueComment', body.body);
      if (long) return long;
      const cid = id();
      const now = iso();
      const comment: SimComment = {
        id: cid,
        issue_number: issue.number,
        node_id: `IC_sim${cid}`,
        url: `${repoApi()}/issues/comments/${cid}`,
        html_url: `${issue.html_url}#issuecomment-${cid}`,
        body: body.body,
        user: bot(),
        created_at: now,
        updated_at: now,
        issue_url: issue.url,
        author_association: 'NONE',
      };
      comments.push(comment);
      issue.comments += 1;
      issue.updated_at = now;
      return { status: 201, body: strip(comment, 'issue_number'), headers: { location: comment.url as string } };
    },

    'issues/list-labels-for-repo': (call) => {
      const { page, headers } = paginate(labels, call);
      return { status: 200, body: page, headers };
    },

    'issues/create-label': (call, doc) => {
      const body = call.body as { name: string; color?: string; description?: string };
      if (findLabel(body.name)) {
        return validationFailed(doc, [{ resource: 'Label', code: 'already_exists', field: 'name' }]);
      }
      const color = (body.color ?? 'ededed').replace(/^#/, '');
      if (!/^[0-9a-fA-F]{6}$/.test(color)) {
        return validationFailed(doc, [{ resource: 'Label', code: 'invalid', field: 'color' }]);
      }
      if (body.description && body.description.length > 100) {
        return validationFailed(doc, [{ resource: 'Label', code: 'invalid', field: 'description' }]);
      }
      return { status: 201, body: addLabel(body.name, color.toLowerCase(), body.description ?? null) };
    },

    'issues/get-label': (call, doc) => {
      const label = findLabel(call.params.name!);
      return label ? { status: 200, body: label } : notFound(call, doc);
    },

    'issues/add-labels': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      if (!issue) return notFound(call, doc);
      const b = call.body as unknown;
      const items = Array.isArray(b) ? b : typeof b === 'string' ? [b] : ((b as { labels?: unknown[] })?.labels ?? []);
      for (const label of labelsFrom(items)) {
        if (!issue.labels.some((l) => l.id === label.id)) issue.labels.push(label);
      }
      issue.updated_at = iso();
      return { status: 200, body: issue.labels };
    },

    'issues/remove-label': (call, doc) => {
      const issue = issueByNumber(call.params.issue_number!);
      if (!issue) return notFound(call, doc);
      const i = issue.labels.findIndex((l) => l.name.toLowerCase() === call.params.name!.toLowerCase());
      if (i < 0)
        return { status: 404, body: { message: 'Label does not exist', documentation_url: doc, status: '404' } };
      issue.labels.splice(i, 1);
      issue.updated_at = iso();
      return { status: 200, body: issue.labels };
    },

    'actions/list-jobs-for-workflow-run': (call, doc) => {
      const jobs = runs.get(Number(call.params.run_id));
      if (!jobs) return notFound(call, doc);
      const { page, headers } = paginate(jobs, call);
      return { status: 200, body: { total_count: jobs.length, jobs: page }, headers };
    },

    'repos/create-deployment': (call) => {
      const body = call.body as {
        ref: string;
        task?: string;
        payload?: unknown;
        environment?: string;
        description?: string | null;
        transient_environment?: boolean;
        production_environment?: boolean;
      };
      const did = id();
      const now = iso();
      const environment = body.environment ?? 'production';
      const u = `${repoApi()}/deployments/${did}`;
      let payload = body.payload ?? {};
      if (typeof payload === 'string') {
        try {
          payload = payload ? JSON.parse(payload) : {};
        } catch {
          // kept as the string it is
        }
      }
      const deployment: SimDeployment = {
        url: u,
        id: did,
        node_id: `DE_sim${did}`,
        sha: /^[0-9a-f]{40}$/.test(body.ref) ? body.ref : createHash('sha1').update(body.ref).digest('hex'),
        ref: body.ref,
        task: body.task ?? 'deploy',
        payload,
        original_environment: environment,
        environment,
        description: body.description ?? '',
        creator: bot(),
        created_at: now,
        updated_at: now,
        statuses_url: `${u}/statuses`,
        repository_url: repoApi(),
        transient_environment: body.transient_environment ?? false,
        production_environment: body.production_environment ?? environment === 'production',
      };
      deployments.push(deployment);
      return { status: 201, body: deployment };
    },

    'repos/create-deployment-status': (call, doc) => {
      const deployment = deployments.find((d) => d.id === Number(call.params.deployment_id));
      if (!deployment) return notFound(call, doc);
      const body = call.body as {
        state: string;
        target_url?: string;
        log_url?: string;
        description?: string;
        environment?: string;
        environment_url?: string;
        auto_inactive?: boolean;
      };
      const previous = latestStatus(deployment.id);
      const environment = body.environment ?? previous?.environment ?? deployment.environment;
      const status = newStatus(deployment, body.state, {
        description: body.description ?? '',
        environment,
        target_url: body.log_url ?? body.target_url ?? '',
        log_url: body.log_url ?? body.target_url ?? '',
        environment_url: body.environment_url ?? '',
      });
      if (body.state === 'success' && body.auto_inactive !== false) {
        for (const other of deployments) {
          if (other.id === deployment.id || other.transient_environment || other.production_environment) continue;
          const last = latestStatus(other.id);
          if (last?.state === 'success' && last.environment === environment) {
            newStatus(other, 'inactive', { ...last, description: '' });
          }
        }
      }
      return { status: 201, body: strip(status, 'deployment_id') };
    },

    'repos/list-deployment-statuses': (call, doc) => {
      const deployment = deployments.find((d) => d.id === Number(call.params.deployment_id));
      if (!deployment) return notFound(call, doc);
      const list = deploymentStatuses.filter((s) => s.deployment_id === deployment.id).reverse();
      const { page, headers } = paginate(list, call);
      return { status: 200, body: page.map((s) => strip(s, 'deployment_id')), headers };
    },
  };

  function latestStatus(deploymentId: number): SimDeploymentStatus | undefined {
    return deploymentStatuses.filter((s) => s.deployment_id === deploymentId).at(-1);
  }

  function newStatus(
    deployment: SimDeployment,
    state: string,
    f: Pick<SimDeploymentStatus, 'description' | 'environment' | 'target_url' | 'log_url' | 'environment_url'>,
  ): SimDeploymentStatus {
    const sid = id();
    const now = iso();
    const status: SimDeploymentStatus = {
      url: `${repoApi()}/deployments/${deployment.id}/statuses/${sid}`,
      id: sid,
      deployment_id: deployment.id,
      node_id: `DES_sim${sid}`,
      state,
      creator: bot(),
      description: f.description,
      environment: f.environment,
      target_url: f.target_url,
      created_at: now,
      updated_at: now,
      deployment_url: `${repoApi()}/deployments/${deployment.id}`,
      repository_url: repoApi(),
      environment_url: f.environment_url,
      log_url: f.log_url,
      performed_via_github_app: null,
    };
    deploymentStatuses.push(status);
    return status;
  }

  // ---- request handling

  function send(res: http.ServerResponse, record: SimRequest, answer: Answer): void {
    record.status = answer.status;
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, 5000 - requests.length)),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(requests.length),
      'x-ratelimit-resource': 'core',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...answer.headers,
    };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers);
      res.end();
      return;
    }
    res.writeHead(answer.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer.body));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', apiUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    const record: SimRequest = { method, path: url.pathname, query, body: undefined, status: 0 };
    requests.push(record);
    const where = `${method} ${url.pathname}`;

    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!auth || auth[1] !== token) {
      return send(res, record, {
        status: 401,
        body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
      });
    }
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        violations.push(`${where}: the request body is not JSON`);
        return send(res, record, {
          status: 400,
          body: { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest', status: '400' },
        });
      }
    }
    record.body = body;

    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );
    const request: WireRequest = { method, path: url.pathname, query, headers, body };
    const check = await spec.checkRequest(request);
    const handler = check.operationId ? handlers[check.operationId] : undefined;
    if (!check.found || !handler) {
      violations.push(`${where}: not an operation of the simulated API (see github-sim.ts for the list)`);
      return send(res, record, notFound({ params: {}, query, body, path: url.pathname }));
    }
    const opId = check.operationId!;
    record.operationId = opId;
    const doc = check.doc ?? 'https://docs.github.com/rest';
    if (!check.valid) {
      const errors = check.errors ?? [];
      violations.push(`${where} (${opId}): request does not match the schema: ${errors.join('; ')}`);
      return send(res, record, {
        status: 422,
        body: { message: `Invalid request.\n\n${errors.join('\n')}`, documentation_url: doc, status: '422' },
      });
    }

    const params = check.params ?? {};
    if (params.owner?.toLowerCase() !== owner.toLowerCase() || params.repo?.toLowerCase() !== name.toLowerCase()) {
      return send(res, record, notFound({ params, query, body, path: url.pathname }, doc));
    }
    const [permission, access] = PERMISSION_OF[opId]!;
    const deny = denied.get(permission);
    if (deny === 'read' || (deny === 'write' && access === 'write')) {
      return send(res, record, {
        status: 403,
        body: { message: 'Resource not accessible by integration', documentation_url: doc, status: '403' },
        headers: { 'x-accepted-github-permissions': `${permission}=${access}` },
      });
    }

    const call: Call = { params, query, body, path: url.pathname };
    const failure = failures.get(opId);
    if (failure && failure.times > 0) {
      failure.times -= 1;
      if (failure.applied) handler(call, doc);
      return send(res, record, { status: failure.status, body: { message: 'Server Error' } });
    }
    const answer = handler(call, doc);
    if (check.statuses?.includes(String(answer.status))) {
      const errors = await spec.checkResponse(opId, answer.status, answer.body);
      if (errors.length) {
        violations.push(
          `${where} (${opId}): ${answer.status} response does not match the schema: ${errors.join('; ')}`,
        );
      }
    }
    send(res, record, answer);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      violations.push(`${req.method} ${req.url}: simulator error: ${err instanceof Error ? err.stack : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Server Error' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let nextRun = 7_000_000_000;
  function seedRun(o: SeedRunOptions = {}): SeededRun {
    const runId = o.runId ?? ++nextRun;
    const attempt = o.attempt ?? 1;
    const sha = o.headSha ?? createHash('sha1').update(String(runId)).digest('hex');
    const workflowName = o.workflowName ?? 'deploy';
    const runHtml = `${repoHtml}/actions/runs/${runId}`;
    const seeds = o.jobs ?? DEFAULT_JOBS;
    let clock = Date.now() - 10 * 60_000;
    const tick = (s: number) => iso(new Date((clock += s * 1000)));
    const jobs = seeds.map((seed): SimJob => {
      const jid = id();
      const status = seed.status ?? (seed.conclusion === null ? 'in_progress' : 'completed');
      const created = tick(1);
      const started = tick(2);
      const stepSeeds: SeedStepOptions[] = seed.steps ?? [
        { name: 'Run', conclusion: seed.conclusion === 'timed_out' ? 'cancelled' : (seed.conclusion ?? null) },
      ];
      const steps = stepSeeds.map((s, i): SimStep => {
        const stepStatus =
          s.status ?? (s.conclusion === null || s.conclusion === undefined ? 'in_progress' : 'completed');
        const stepStart = stepStatus === 'queued' ? null : tick(3);
        return {
          name: s.name,
          status: stepStatus,
          conclusion: stepStatus === 'completed' ? (s.conclusion ?? 'success') : null,
          number: i + 1,
          started_at: stepStart,
          completed_at: stepStatus === 'completed' ? tick(5) : null,
        };
      });
      const completed = status === 'completed' ? tick(1) : null;
      return {
        id: jid,
        run_id: runId,
        run_url: `${repoApi()}/actions/runs/${runId}`,
        run_attempt: attempt,
        node_id: `CR_sim${jid}`,
        head_sha: sha,
        url: `${repoApi()}/actions/jobs/${jid}`,
        html_url: `${runHtml}/job/${jid}`,
        status,
        conclusion: status === 'completed' ? (seed.conclusion ?? 'success') : null,
        created_at: created,
        started_at: started,
        completed_at: completed,
        name: seed.name,
        steps,
        check_run_url: `${repoApi()}/check-runs/${jid}`,
        labels: ['ubuntu-latest'],
        runner_id: 1,
        runner_name: 'GitHub Actions 1',
        runner_group_id: 0,
        runner_group_name: 'GitHub Actions',
        workflow_name: workflowName,
        head_branch: o.headBranch ?? 'main',
      };
    });
    runs.set(runId, jobs);
    return { runId, url: runHtml, jobs };
  }

  return {
    get url() {
      return apiUrl;
    },
    serverUrl,
    token,
    repo: { owner, name },
    issues,
    comments,
    labels,
    deployments,
    deploymentStatuses,
    requests,
    violations,
    seedRun,
    denyPermission(permission, access = 'write') {
      denied.set(permission, access);
    },
    grantAll() {
      denied.clear();
    },
    failNext(operationId, o = {}) {
      if (!(operationId in OPERATIONS)) throw new Error(`github-sim: unknown operation ${operationId}`);
      failures.set(operationId, { status: o.status ?? 502, applied: o.applied ?? false, times: o.times ?? 1 });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DEFAULT_JOBS: SeedJobOptions[] = [
  {
    name: 'build',
    conclusion: 'success',
    steps: [
      { name: 'Set up job', conclusion: 'success' },
      { name: 'Checkout', conclusion: 'success' },
      { name: 'Build', conclusion: 'success' },
    ],
  },
  {
    name: 'deploy',
    conclusion: 'failure',
    steps: [
      { name: 'Set up job', conclusion: 'success' },
      { name: 'Checkout', conclusion: 'success' },
      { name: 'Deploy to Render', conclusion: 'failure' },
      { name: 'Post Checkout', conclusion: 'success' },
    ],
  },
  {
    name: 'smoke-test',
    conclusion: 'failure',
    steps: [
      { name: 'Set up job', conclusion: 'success' },
      { name: 'Run smoke tests', conclusion: 'failure' },
      { name: 'Upload report', conclusion: 'skipped' },
    ],
  },
  {
    name: 'incident',
    conclusion: null,
    status: 'in_progress',
    steps: [
      { name: 'Set up job', conclusion: 'success' },
      { name: 'Post incident issue', conclusion: null, status: 'in_progress' },
    ],
  },
];

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
