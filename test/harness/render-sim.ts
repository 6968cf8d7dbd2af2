/**
 * A Render REST API simulator on loopback, for testing code that talks to https://api.render.com/v1 with plain fetch.
 *
 * Every request to /v1 is validated against Render's OpenAPI spec with openapi-backend (path params, query, body)
 * and every response the simulator sends is validated against the operation's declared responses. Mismatches land in
 * `violations`: a bad request is answered 400 in Render's error shape, a bad response is replaced by a 500.
 *
 * Modelled: services (list/retrieve/suspend/resume/restart/scale) and deploys (trigger, list, retrieve, cancel,
 * rollback) with a per-service deploy timeline, Render's queueing (202 Queued with no body while a deploy is in
 * progress), superseding, Render's published rate limits, deploy hooks, and injected faults.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type * as OpenApiBackendModule from 'openapi-backend';
import type { OpenAPIBackend } from 'openapi-backend';

/**
 * openapi-backend is CommonJS and require()s the ESM-only @apidevtools/json-schema-ref-parser 16, which Node
 * (>= 20.19) can do but jest's module runtime cannot ("Must use import to load ES Module"); jest also patches
 * node:module's createRequire. So load it with Node's own require, from the unpatched builtin.
 */
const nodeRequire = process.getBuiltinModule('node:module').createRequire(import.meta.url);
const { OpenAPIBackend: Backend, ValidationContext } = nodeRequire('openapi-backend') as typeof OpenApiBackendModule;

/** The copy of Render's spec vendored in the repository (specs/README.md says where it comes from). */
export const DEFAULT_RENDER_SPEC = fileURLToPath(new URL('../../specs/render-openapi.json', import.meta.url));

/** The operations the simulator answers; any other path of the spec gets a 404 and a violation. */
const SIMULATED: Record<string, string[]> = {
  '/services': ['get'],
  '/services/{serviceId}': ['get'],
  '/services/{serviceId}/deploys': ['get', 'post'],
  '/services/{serviceId}/deploys/{deployId}': ['get'],
  '/services/{serviceId}/deploys/{deployId}/cancel': ['post'],
  '/services/{serviceId}/rollback': ['post'],
  '/services/{serviceId}/suspend': ['post'],
  '/services/{serviceId}/resume': ['post'],
  '/services/{serviceId}/restart': ['post'],
  '/services/{serviceId}/scale': ['post'],
};

/**
 * How the simulator changes the spec in memory before handing it to openapi-backend (the file is never touched).
 * The first three keep the meaning of the spec; the last one fixes a schema no web service can satisfy.
 */
export const RENDER_SPEC_PATCHES = [
  'Keywords next to a $ref (description/default on deployMode and webServiceDetailsPOST.plan) are dropped: OAS 3.0 ' +
    'says they are ignored, and openapi-backend refuses the document while they are there.',
  '$refs into #/paths/... (webServiceDetails.disk.id -> /disks/{diskId} parameter) are inlined.',
  'Paths and components that the simulated operations do not reach are pruned (ajv compiles ~2 s instead of ~12 s).',
  'service.serviceDetails is `oneOf` [static, web, private, backgroundWorker, cronJob] details without ' +
    'additionalProperties:false; the required fields of web ⊇ private ⊇ backgroundWorker, so every web service ' +
    'matches 3 branches and fails `oneOf`. Replaced by the same oneOf discriminated by `type` (web_service -> ' +
    'webServiceDetails, ...).',
];

export interface DeployStep {
  status: string;
  ms: number;
}

export interface DeployScript {
  /** Statuses in order; each is held for `ms` (× timeScale). A terminal last status ends the deploy; a non-terminal one is held forever. */
  statuses: DeployStep[];
  /** The commit Render resolves "latest commit on the branch" to (git services, when the request names none). */
  commitId?: string;
  /** Answer the trigger 202 with no body even when nothing else is in progress (the deploy is still created). */
  respond202?: boolean;
  /** Create the deploy, then destroy the socket instead of answering. */
  dropConnectionAfterCreate?: boolean;
  /**
   * After the last scripted step's ms, a newer deploy (trigger new_commit, default timeline) starts: this deploy becomes
   * `canceled` if it was still in progress, or `deactivated` once the newer one is live if it had gone live.
   */
  supersededBy?: 'next';
}

export interface FaultSpec {
  /** Any method when absent (case-insensitive). */
  method?: string;
  /** Tested against the URL path without query, e.g. /v1/services/srv-x/deploys or /deploy/srv-x. */
  path: RegExp;
  /** 429 (sends Retry-After), 500, 502, 503, ... Answered before auth, rate limits and handlers: nothing happens. */
  status?: number;
  retryAfterSeconds?: number;
  /** Destroy the socket without answering (and without doing anything). */
  drop?: boolean;
  count: number;
}

export interface SimRequest {
  method: string;
  /** URL path without query. */
  path: string;
  /** Repeated keys are joined with ','. */
  query: Record<string, string>;
  /** Parsed JSON, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** Status sent; 0 when the connection was dropped. */
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
  /** The spec operation, or 'deploy-hook', or undefined for unknown routes. */
  operationId?: string;
}

export interface AddServiceOptions {
  id?: string;
  name: string;
  /** Image-backed (runtime image, deploys carry `image`, never `commit`). Default: git-backed node web service. */
  image?: boolean;
  suspended?: boolean;
  url?: string;
  liveDeployId?: string;
  /** Older deploys, default 2: the newest is live, the others deactivated. 0: no deploys (liveDeployId ''). */
  history?: number;
  /** Image services: the configured image, default docker.io/<name>/app:latest. */
  imagePath?: string;
  numInstances?: number;
}

export interface ServiceState {
  suspended: boolean;
  numInstances: number;
  liveDeployId?: string;
  /** Deploy objects as the API returns them, newest first. */
  deploys: Record<string, unknown>[];
}

export interface RenderSim {
  /** http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  apiKey: string;
  addService(o: AddServiceOptions): { id: string; liveDeployId: string };
  /** Queue how the next deploy triggered on this service (API, hook or rollback) behaves. */
  scriptDeploy(serviceId: string, s: DeployScript): void;
  fault(o: FaultSpec): void;
  /** http://127.0.0.1:<port>/deploy/<serviceId>?key=<random>; GET or POST answers 200 {"deploy":{"id":"dep-…"}}. */
  deployHookUrl(serviceId: string): string;
  requests: SimRequest[];
  violations: string[];
  /** Deploys created by POST /deploys (201, 202 or dropped after create) and by the deploy hook. */
  deploysTriggered(serviceId: string): number;
  rollbacksTriggered(serviceId: string): number;
  service(serviceId: string): ServiceState;
  /** Test-only: the next JSON API response is passed through `mutate` (default: `id` becomes a number) before validation. */
  corruptNextResponse(mutate?: (body: unknown) => unknown): void;
  stop(): Promise<void>;
}

export interface RenderSimOptions {
  specPath?: string;
  /** Multiplies every scripted ms (0.1 makes the default 300 ms steps 30 ms). Rate-limit windows are not scaled. */
  timeScale?: number;
  /** Render's published limits by default: 10 deploy triggers / min / service, 400 GET / min, 30 other writes / min. */
  rateLimits?: { deploysPerServicePerMinute?: number; getsPerMinute?: number; writesPerMinute?: number };
}

// ---------------------------------------------------------------------------------------------------------------
// spec preparation (cached per spec path: compiling the validators is the slow part)

type Obj = Record<string, unknown>;

interface SpecResponse {
  content?: Record<string, { schema?: unknown }>;
}
interface SpecOperation {
  operationId: string;
  path: string;
  method: string;
  requestBody?: unknown;
  responses: Record<string, SpecResponse>;
}
interface ValidationError {
  instancePath?: string;
  message?: string;
  params?: unknown;
}
type ValidateFn = ((data: unknown) => boolean) & { errors?: ValidationError[] | null };

interface Prepared {
  api: OpenAPIBackend;
  /** Every path template and method of the full spec, to tell "not simulated" from "not in the spec". */
  allRoutes: { template: string; re: RegExp; methods: string[] }[];
  deployStatuses: string[];
  validateError: ValidateFn;
}

const prepared = new Map<string, Promise<Prepared>>();

function pointer(doc: unknown, ref: string): unknown {
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
    node = (node as Obj)[key];
    if (node === undefined) throw new Error(`render-sim: unresolvable $ref ${ref}`);
  }
  return node;
}

function templateRegex(template: string): RegExp {
  const body = template
    .split(/\{[^}]+\}/)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${body}/?$`);
}

async function prepare(specPath: string): Promise<Prepared> {
  const raw = JSON.parse(await readFile(specPath, 'utf8')) as Obj & { paths: Record<string, Obj>; components: Obj };
  const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const allRoutes = Object.entries(raw.paths).map(([template, item]) => ({
    template,
    re: templateRegex(template),
    methods: Object.keys(item).filter((m) => httpMethods.includes(m)),
  }));
  const schemas = raw.components.schemas as Record<string, Obj>;
  const deployStatuses = (schemas.deployStatus?.enum as string[] | undefined) ?? [];
  if (!deployStatuses.includes('live')) throw new Error(`render-sim: no deployStatus enum in ${specPath}`);

  const doc = structuredClone(raw);
  // 1 + 2: drop $ref siblings, inline #/paths refs
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Obj;
    if (typeof o.$ref === 'string') {
      const ref = o.$ref;
      for (const k of Object.keys(o)) if (k !== '$ref') delete o[k];
      if (ref.startsWith('#/paths/')) {
        delete o.$ref;
        Object.assign(o, structuredClone(pointer(raw, ref)));
        walk(o);
      }
      return;
    }
    Object.values(o).forEach(walk);
  };
  walk(doc);
  // 3: prune paths, methods and unreachable components
  const paths: Record<string, Obj> = {};
  for (const [template, methods] of Object.entries(SIMULATED)) {
    const item = doc.paths[template];
    if (!item) throw new Error(`render-sim: ${template} is not in ${specPath}`);
    paths[template] = Object.fromEntries(
      Object.entries(item).filter(([k]) => !httpMethods.includes(k) || methods.includes(k)),
    );
  }
  doc.paths = paths;
  const reached = new Set<string>();
  const queue: unknown[] = [paths];
  while (queue.length) {
    JSON.stringify(queue.pop(), (k, v: unknown) => {
      if (k === '$ref' && typeof v === 'string' && !reached.has(v)) {
        reached.add(v);
        queue.push(pointer(doc, v));
      }
      return v;
    });
  }
  const components: Record<string, Obj> = { securitySchemes: (doc.components.securitySchemes ?? {}) as Obj };
  for (const ref of reached) {
    const [, , section, name] = ref.split('/');
    if (!section || !name) continue;
    (components[section] ??= {})[name] = (doc.components[section] as Obj)[name];
  }
  doc.components = components;
  // 4: discriminate service.serviceDetails by type
  const service = (components.schemas as Record<string, Obj & { properties?: Record<string, Obj> }>).service;
  const details = service?.properties?.serviceDetails?.oneOf as { $ref: string }[] | undefined;
  const typeOf: Record<string, string> = {
    staticSiteDetails: 'static_site',
    webServiceDetails: 'web_service',
    privateServiceDetails: 'private_service',
    backgroundWorkerDetails: 'background_worker',
    cronJobDetails: 'cron_job',
  };
  if (service?.properties && details?.every((d) => typeOf[d.$ref.split('/').pop() ?? ''])) {
    service.properties.serviceDetails = { type: 'object' };
    service.allOf = [
      {
        oneOf: details.map((d) => ({
          type: 'object',
          properties: { type: { type: 'string', enum: [typeOf[d.$ref.split('/').pop() ?? '']] }, serviceDetails: d },
        })),
      },
    ];
  }

  const dateTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
  const definition = doc as unknown as ConstructorParameters<typeof Backend>[0]['definition'];
  const api = new Backend({
    definition,
    apiRoot: '/v1',
    quick: true, // no async re-validation of the document; validators compiled below
    strict: true,
    ajvOpts: { allErrors: true },
    customizeAjv: (ajv) => {
      ajv.addFormat('date-time', {
        type: 'string',
        validate: (s: string) => dateTime.test(s) && !isNaN(Date.parse(s)),
      });
      return ajv;
    },
  });
  await api.init();
  for (const op of api.router.getOperations()) {
    const id = op.operationId as string;
    api.validator.getRequestValidatorsForOperation(id);
    api.validator.getStatusBasedResponseValidatorForOperation(id);
  }
  const errorSchema = (api.definition.components?.schemas as Record<string, unknown> | undefined)?.error;
  if (!errorSchema) throw new Error('render-sim: no components.schemas.error in the spec');
  const validateError = api.validator.getAjv(ValidationContext.Response).compile(errorSchema as Obj) as ValidateFn;
  return { api, allRoutes, deployStatuses, validateError };
}

function formatErrors(errors: ValidationError[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 6)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------------------------
// state

const TERMINAL = new Set(['live', 'deactivated', 'build_failed', 'update_failed', 'canceled', 'pre_deploy_failed']);

interface DeployRec {
  id: string;
  status: string;
  trigger: string;
  commit?: { id: string; message: string; createdAt: string };
  image?: { ref: string; sha: string };
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  script: DeployScript;
  timers: Set<NodeJS.Timeout>;
  cursor: string;
}

interface ServiceRec {
  id: string;
  name: string;
  slug: string;
  image: boolean;
  imagePath?: string;
  url: string;
  createdAt: string;
  updatedAt: string;
  suspended: boolean;
  numInstances: number;
  liveDeployId?: string;
  deploys: DeployRec[]; // newest first
  active?: DeployRec;
  queue: DeployRec[];
  scripts: DeployScript[];
  hookKey: string;
  cursor: string;
  triggered: number;
  rollbacks: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuv0123456789';
function renderId(prefix: string): string {
  return `${prefix}-${[...randomBytes(20)].map((b) => ALPHABET[b % 32]).join('')}`;
}
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const iso = (ms = Date.now()) => new Date(ms).toISOString();
/** The repository part of an image reference: everything before the tag or digest. */
function imageRepo(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

const DEFAULT_SCRIPT: DeployStep[] = [
  { status: 'created', ms: 300 },
  { status: 'build_in_progress', ms: 300 },
  { status: 'update_in_progress', ms: 300 },
  { status: 'live', ms: 0 },
];
/** Rollbacks and resumes skip the build. */
const FAST_SCRIPT: DeployStep[] = [
  { status: 'created', ms: 50 },
  { status: 'update_in_progress', ms: 100 },
  { status: 'live', ms: 0 },
];

interface Reply {
  status: number;
  body?: unknown;
  /** Also record the 400 as a violation (the spec's own rules were broken). */
  violation?: string;
  drop?: boolean;
  headers?: Record<string, string>;
}

export async function startRenderSim(o: RenderSimOptions = {}): Promise<RenderSim> {
  const specPath = o.specPath ?? DEFAULT_RENDER_SPEC;
  let pending = prepared.get(specPath);
  if (!pending) {
    pending = prepare(specPath);
    prepared.set(specPath, pending);
    pending.catch(() => prepared.delete(specPath));
  }
  const spec = await pending;
  const { api } = spec;
  const timeScale = o.timeScale ?? 1;
  const limits = {
    deploys: o.rateLimits?.deploysPerServicePerMinute ?? 10,
    gets: o.rateLimits?.getsPerMinute ?? 400,
    writes: o.rateLimits?.writesPerMinute ?? 30,
  };

  const apiKey = `rnd_${randomBytes(24).toString('base64url')}`;
  const ownerId = renderId('tea');
  const services = new Map<string, ServiceRec>();
  const faults: FaultSpec[] = [];
  const requests: SimRequest[] = [];
  const violations: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const windows = new Map<string, number[]>();
  let corrupt: ((body: unknown) => unknown) | undefined;
  let port = 0;

  // ---- deploy engine ----

  const schedule = (d: DeployRec, ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      d.timers.delete(t);
      fn();
    }, ms * timeScale);
    t.unref();
    timers.add(t);
    d.timers.add(t);
  };
  const setStatus = (d: DeployRec, status: string) => {
    d.status = status;
    d.updatedAt = iso();
    if (!d.startedAt && status !== 'created' && status !== 'queued') d.startedAt = d.updatedAt;
  };
  const finish = (svc: ServiceRec, d: DeployRec) => {
    d.finishedAt = iso();
    for (const t of d.timers) {
      clearTimeout(t);
      timers.delete(t);
    }
    d.timers.clear();
    if (d.status === 'live') {
      const previous = svc.deploys.find((x) => x.id === svc.liveDeployId);
      if (previous && previous !== d) setStatus(previous, 'deactivated');
      svc.liveDeployId = d.id;
    }
    if (svc.active === d) {
      svc.active = undefined;
      const next = svc.queue.shift();
      if (next) start(svc, next);
    }
  };
  const supersede = (svc: ServiceRec, d: DeployRec) => {
    if (!TERMINAL.has(d.status)) {
      setStatus(d, 'canceled');
      finish(svc, d);
    }
    create(svc, 'new_commit', { script: { statuses: DEFAULT_SCRIPT } });
  };
  const runStep = (svc: ServiceRec, d: DeployRec, i: number) => {
    const steps = d.script.statuses;
    const step = steps[i];
    if (!step) return;
    setStatus(d, step.status);
    const last = i === steps.length - 1;
    if (TERMINAL.has(step.status)) {
      finish(svc, d);
      if (d.script.supersededBy) schedule(d, step.ms, () => supersede(svc, d));
    } else if (!last) schedule(d, step.ms, () => runStep(svc, d, i + 1));
    else if (d.script.supersededBy) schedule(d, step.ms, () => supersede(svc, d));
  };
  const start = (svc: ServiceRec, d: DeployRec) => {
    svc.active = d;
    runStep(svc, d, 0);
  };
  const create = (
    svc: ServiceRec,
    trigger: string,
    opts: { script?: DeployScript; commitId?: string; imageRef?: string; from?: DeployRec },
  ): { deploy: DeployRec; queued: boolean } => {
    const script = opts.script ?? svc.scripts.shift() ?? { statuses: DEFAULT_SCRIPT };
    const now = iso();
    const d: DeployRec = {
      id: renderId('dep'),
      status: 'created',
      trigger,
      createdAt: now,
      updatedAt: now,
      script,
      timers: new Set(),
      cursor: randomBytes(9).toString('base64url'),
    };
    if (opts.from) {
      if (opts.from.commit) d.commit = { ...opts.from.commit };
      if (opts.from.image) d.image = { ...opts.from.image };
    } else if (svc.image) {
      d.image = { ref: opts.imageRef ?? svc.imagePath ?? '', sha: `sha256:${hex(32)}` };
    } else {
      const id = opts.commitId ?? script.commitId ?? hex(20);
      d.commit = { id, message: `commit ${id.slice(0, 7)}`, createdAt: now };
    }
    svc.deploys.unshift(d);
    const queued = Boolean(svc.active);
    if (queued) {
      d.status = 'queued';
      svc.queue.push(d);
    } else start(svc, d);
    return { deploy: d, queued };
  };
  const cancel = (svc: ServiceRec, d: DeployRec): boolean => {
    if (TERMINAL.has(d.status)) return false;
    svc.queue = svc.queue.filter((x) => x !== d);
    setStatus(d, 'canceled');
    finish(svc, d);
    return true;
  };

  // ---- JSON shapes ----

  const deployJson = (d: DeployRec): Obj => {
    const out: Obj = { id: d.id };
    if (d.commit) out.commit = { ...d.commit };
    if (d.image) out.image = { ...d.image };
    out.status = d.status;
    out.trigger = d.trigger;
    if (d.startedAt) out.startedAt = d.startedAt;
    if (d.finishedAt) out.finishedAt = d.finishedAt;
    out.createdAt = d.createdAt;
    out.updatedAt = d.updatedAt;
    return out;
  };
  const serviceJson = (s: ServiceRec): Obj => ({
    id: s.id,
    autoDeploy: s.image ? 'no' : 'yes',
    ...(s.image ? {} : { branch: 'main', repo: `https://github.com/example/${s.slug}` }),
    createdAt: s.createdAt,
    dashboardUrl: `https://dashboard.render.com/web/${s.id}`,
    ...(s.image ? { imagePath: s.imagePath } : {}),
    name: s.name,
    notifyOnFail: 'default',
    ownerId,
    rootDir: '',
    slug: s.slug,
    suspended: s.suspended ? 'suspended' : 'not_suspended',
    suspenders: s.suspended ? ['user'] : [],
    type: 'web_service',
    updatedAt: s.updatedAt,
    serviceDetails: {
      env: s.image ? 'image' : 'node',
      runtime: s.image ? 'image' : 'node',
      envSpecificDetails: s.image
        ? { dockerCommand: '', dockerContext: '', dockerfilePath: '' }
        : { buildCommand: 'npm ci && npm run build', startCommand: 'npm start' },
      healthCheckPath: '/healthz',
      numInstances: s.numInstances,
      openPorts: [{ port: 10000, protocol: 'TCP' }],
      plan: 'starter',
      region: 'oregon',
      buildPlan: 'starter',
      url: s.url,
      pullRequestPreviewsEnabled: 'no',
      previews: { generation: 'off' },
      maxShutdownDelaySeconds: 30,
    },
  });
  const error = (status: number, message: string, extra: Partial<Reply> = {}): Reply => ({
    status,
    body: { id: randomUUID(), message },
    ...extra,
  });

  // ---- rate limits ----

  const hit = (key: string, limit: number) => {
    const now = Date.now();
    const hits = (windows.get(key) ?? []).filter((t) => t > now - 60_000);
    windows.set(key, hits);
    const ok = hits.length < limit;
    if (ok) hits.push(now);
    const oldest = hits[0] ?? now;
    const headers: Record<string, string> = {
      'Ratelimit-Limit': String(limit),
      'Ratelimit-Remaining': String(Math.max(0, limit - hits.length)),
      'Ratelimit-Reset': String(Math.ceil((oldest + 60_000) / 1000)),
    };
    if (!ok) headers['Retry-After'] = String(Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)));
    return { ok, headers };
  };

  // ---- validation ----

  const checkResponse = (op: SpecOperation, status: number, body: unknown, strictStatus: boolean): string[] => {
    const declared =
      op.responses[String(status)] ?? op.responses[`${Math.floor(status / 100)}XX`] ?? op.responses.default;
    if (!declared) {
      if (strictStatus) return [`status ${status} is not declared for ${op.operationId}`];
      if (body !== undefined && !spec.validateError(body)) return [formatErrors(spec.validateError.errors)];
      return [];
    }
    if (!declared.content) {
      return body === undefined ? [] : [`the spec declares no body for ${status} but one was sent`];
    }
    if (body === undefined) return [`the spec requires a JSON body for ${status}`];
    const r = api.validator.validateResponse(body, op.operationId, status);
    return r.valid ? [] : [formatErrors(r.errors as ValidationError[])];
  };

  // ---- handlers ----

  const findService = (id: string | undefined) => (id ? services.get(id) : undefined);
  const notFound = (what: string) => error(404, `${what} not found`);
  const page = <T extends { cursor: string }>(items: T[], query: URLSearchParams): T[] => {
    const cursor = query.get('cursor');
    let from = 0;
    if (cursor) {
      const at = items.findIndex((x) => x.cursor === cursor);
      from = at < 0 ? items.length : at + 1;
    }
    return items.slice(from, from + Number(query.get('limit') ?? 20));
  };
  const listParam = (query: URLSearchParams, name: string) => query.getAll(name).flatMap((v) => v.split(','));

  const handle = (operationId: string, params: Record<string, string>, query: URLSearchParams, body: Obj): Reply => {
    if (operationId === 'list-services') {
      const names = listParam(query, 'name');
      const types = listParam(query, 'type');
      const suspended = listParam(query, 'suspended');
      const owners = listParam(query, 'ownerId');
      const matching = [...services.values()].filter(
        (s) =>
          (!names.length || names.includes(s.name)) &&
          (!types.length || types.includes('web_service')) &&
          (!suspended.length || suspended.includes(s.suspended ? 'suspended' : 'not_suspended')) &&
          (!owners.length || owners.includes(ownerId)),
      );
      return { status: 200, body: page(matching, query).map((s) => ({ service: serviceJson(s), cursor: s.cursor })) };
    }
    const svc = findService(params.serviceId);
    if (!svc) return notFound('service');
    switch (operationId) {
      case 'retrieve-service':
        return { status: 200, body: serviceJson(svc) };
      case 'list-deploys': {
        const statuses = query.getAll('status');
        const time = (name: string) => (query.get(name) ? Date.parse(query.get(name) as string) : undefined);
        const [cb, ca, ub, ua, fb, fa] = [
          'createdBefore',
          'createdAfter',
          'updatedBefore',
          'updatedAfter',
          'finishedBefore',
          'finishedAfter',
        ].map(time);
        const within = (value: string | undefined, before?: number, after?: number) => {
          if (before === undefined && after === undefined) return true;
          if (!value) return false;
          const t = Date.parse(value);
          return (before === undefined || t < before) && (after === undefined || t >= after);
        };
        const matching = svc.deploys.filter(
          (d) =>
            (!statuses.length || statuses.includes(d.status)) &&
            within(d.createdAt, cb, ca) &&
            within(d.updatedAt, ub, ua) &&
            within(d.finishedAt, fb, fa),
        );
        return { status: 200, body: page(matching, query).map((d) => ({ deploy: deployJson(d), cursor: d.cursor })) };
      }
      case 'retrieve-deploy': {
        const d = svc.deploys.find((x) => x.id === params.deployId);
        return d ? { status: 200, body: deployJson(d) } : notFound('deploy');
      }
      case 'create-deploy': {
        const { clearCache, commitId, imageUrl, deployMode } = body as {
          clearCache?: string;
          commitId?: string;
          imageUrl?: string;
          deployMode?: string;
        };
        if (
          deployMode !== undefined &&
          (commitId !== undefined || imageUrl !== undefined || clearCache !== undefined)
        ) {
          const m = 'deployMode cannot be combined with commitId, imageUrl or clearCache';
          return error(400, m, { violation: m });
        }
        if (svc.image && commitId !== undefined) {
          const m = 'commitId is not supported for image-backed services';
          return error(400, m, { violation: m });
        }
        if (!svc.image && imageUrl !== undefined) {
          const m = 'imageUrl is only supported for image-backed services';
          return error(400, m, { violation: m });
        }
        if (imageUrl !== undefined && imageRepo(imageUrl) !== imageRepo(svc.imagePath ?? '')) {
          const m = `imageUrl ${imageUrl} must match the host, repository and name of ${svc.imagePath}`;
          return error(400, m, { violation: m });
        }
        if (svc.suspended) return error(409, `service ${svc.id} is suspended`);
        const script = svc.scripts[0];
        const { deploy, queued } = create(svc, 'api', { commitId, imageRef: imageUrl });
        svc.triggered++;
        if (script?.dropConnectionAfterCreate) return { status: 0, drop: true };
        if (queued || script?.respond202) return { status: 202 };
        return { status: 201, body: deployJson(deploy) };
      }
      case 'cancel-deploy': {
        const d = svc.deploys.find((x) => x.id === params.deployId);
        if (!d) return notFound('deploy');
        if (!cancel(svc, d)) return error(400, `deploy ${d.id} is not in progress (status ${d.status})`);
        return { status: 200, body: deployJson(d) };
      }
      case 'rollback-deploy': {
        const target = svc.deploys.find((x) => x.id === (body as { deployId?: string }).deployId);
        if (!target) return notFound('deploy');
        if (target.status !== 'live' && target.status !== 'deactivated') {
          return error(
            400,
            `deploy ${target.id} never went live (status ${target.status}) and cannot be rolled back to`,
          );
        }
        const script = svc.scripts[0];
        const { deploy } = create(svc, 'rollback', {
          from: target,
          script: svc.scripts.shift() ?? { statuses: FAST_SCRIPT },
        });
        svc.rollbacks++;
        if (script?.dropConnectionAfterCreate) return { status: 0, drop: true };
        return { status: 201, body: deployJson(deploy) };
      }
      case 'suspend-service':
        svc.suspended = true;
        svc.updatedAt = iso();
        return { status: 202 };
      case 'resume-service':
        if (svc.suspended) {
          svc.suspended = false;
          svc.updatedAt = iso();
          const live = svc.deploys.find((x) => x.id === svc.liveDeployId);
          create(svc, 'service_resumed', { script: { statuses: FAST_SCRIPT }, from: live });
        }
        return { status: 202 };
      case 'restart-service':
        if (svc.suspended) return error(400, `service ${svc.id} is suspended`);
        return { status: 200 };
      case 'scale-service': {
        const n = (body as { numInstances: number }).numInstances;
        if (n < 1) return error(400, 'numInstances must be at least 1');
        svc.numInstances = n;
        svc.updatedAt = iso();
        return { status: 202 };
      }
    }
    return error(500, `render-sim: no handler for ${operationId}`);
  };

  // ---- HTTP ----

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        serve(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        violations.push(`render-sim crashed on ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ id: randomUUID(), message: `render-sim crashed: ${(err as Error).message}` }));
      }
    });
  });

  const serve = (req: http.IncomingMessage, res: http.ServerResponse, rawBody: string) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    let parsedBody: unknown = undefined;
    if (rawBody !== '') {
      try {
        parsedBody = JSON.parse(rawBody);
      } catch {
        parsedBody = rawBody;
      }
    }
    const entry: SimRequest = { method, path: url.pathname, query, body: parsedBody, status: 0, at: Date.now() };
    requests.push(entry);
    const label = `${method} ${url.pathname}${url.search}`;

    let op: SpecOperation | undefined;
    const reply = (r: Reply, strictStatus: boolean) => {
      if (r.drop) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      let body = r.body;
      if (op && corrupt) {
        body = corrupt(body === undefined ? undefined : structuredClone(body));
        corrupt = undefined;
      }
      let status = r.status;
      if (op) {
        const problems = checkResponse(op, status, body, strictStatus);
        if (problems.length) {
          const message = `response ${status} to ${label} (${op.operationId}) does not match the spec: ${problems.join('; ')}`;
          violations.push(message);
          status = 500;
          body = { id: randomUUID(), message: `render-sim: ${message}` };
        }
      }
      entry.status = status;
      const headers: Record<string, string> = { ...r.headers };
      if (body === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else {
        res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      }
    };

    // routing
    const hook = /^\/deploy\/([^/]+)\/?$/.exec(url.pathname);
    if (hook) entry.operationId = 'deploy-hook';
    else if (url.pathname === '/v1' || url.pathname.startsWith('/v1/')) {
      const matched = api.router.matchOperation({ method, path: url.pathname, headers: {} });
      if (matched) op = matched as unknown as SpecOperation;
      entry.operationId = op?.operationId;
    }
    if (!hook && !op) {
      const rel = url.pathname.replace(/^\/v1(?=\/)/, '');
      const route = spec.allRoutes.find((r) => r.re.test(rel));
      const why = !url.pathname.startsWith('/v1/')
        ? 'is outside /v1'
        : !route
          ? 'matches no path of the spec'
          : route.methods.includes(method.toLowerCase())
            ? `is ${route.template} in the spec but not simulated`
            : `${route.template} has no ${method} in the spec`;
      violations.push(`request ${label} ${why}`);
      return reply(error(404, 'not found'), false);
    }

    // request validation (recorded whatever the answer is)
    const problems: string[] = [];
    if (op) {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string | string[]] => e[1] !== undefined),
      );
      const result = api.validator.validateRequest(
        { method, path: url.pathname, headers, query: url.search.slice(1), body: rawBody === '' ? undefined : rawBody },
        op.operationId,
      );
      if (!result.valid) problems.push(formatErrors(result.errors as ValidationError[]));
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (op.requestBody && rawBody !== '' && mediaType !== 'application/json') {
        problems.push(`content-type is ${JSON.stringify(req.headers['content-type'] ?? null)}, not application/json`);
      }
      if (problems.length)
        violations.push(`request ${label} (${op.operationId}) does not match the spec: ${problems.join('; ')}`);
    }

    // faults
    const fault = faults.find((f) => {
      if (f.count <= 0 || (f.method && f.method.toUpperCase() !== method)) return false;
      f.path.lastIndex = 0; // a /g or /y regex is stateful
      return f.path.test(url.pathname);
    });
    if (fault) {
      fault.count--;
      if (fault.drop) return reply({ status: 0, drop: true }, false);
      const status = fault.status ?? 503;
      const headers: Record<string, string> = {};
      if (status === 429 || fault.retryAfterSeconds !== undefined)
        headers['Retry-After'] = String(fault.retryAfterSeconds ?? 1);
      if (status === 429) headers['Ratelimit-Remaining'] = '0';
      return reply(
        error(status, status === 429 ? 'rate limit exceeded' : `injected fault ${status}`, { headers }),
        false,
      );
    }

    if (hook) return serveHook(hook[1] ?? '', method, url, reply);

    // auth
    const auth = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (auth?.[1]?.trim() !== apiKey) return reply(error(401, 'unauthorized'), false);

    // rate limits (Render's table: deploy triggers, resume and suspend share 10/min/service)
    const opId = (op as SpecOperation).operationId;
    const params = (api.router.parseRequest({ method, path: url.pathname, headers: {} }, op as never).params ??
      {}) as Record<string, string>;
    const limit =
      method === 'GET'
        ? hit(`get:${apiKey}`, limits.gets)
        : ['create-deploy', 'suspend-service', 'resume-service'].includes(opId)
          ? hit(`deploy:${params.serviceId}`, limits.deploys)
          : hit(`write:${apiKey}`, limits.writes);
    if (!limit.ok) return reply(error(429, 'rate limit exceeded', { headers: limit.headers }), false);

    if (problems.length) {
      return reply(error(400, `invalid request: ${problems.join('; ')}`, { headers: limit.headers }), false);
    }
    const r = handle(opId, params, url.searchParams, (parsedBody ?? {}) as Obj);
    if (r.violation) violations.push(`request ${label} (${opId}) breaks a rule of the spec: ${r.violation}`);
    reply({ ...r, headers: { ...limit.headers, ...r.headers } }, true);
  };

  const serveHook = (serviceId: string, method: string, url: URL, reply: (r: Reply, strict: boolean) => void) => {
    const svc = services.get(serviceId);
    if (method !== 'GET' && method !== 'POST') return reply(error(405, 'method not allowed'), false);
    if (!svc || url.searchParams.get('key') !== svc.hookKey) return reply(error(404, 'not found'), false);
    const limit = hit(`deploy:${svc.id}`, limits.deploys);
    if (!limit.ok) return reply(error(429, 'rate limit exceeded', { headers: limit.headers }), false);
    const imgURL = url.searchParams.get('imgURL') ?? undefined;
    if (imgURL !== undefined && (!svc.image || imageRepo(imgURL) !== imageRepo(svc.imagePath ?? ''))) {
      return reply(error(400, `imgURL ${imgURL} does not match the service's image`), false);
    }
    if (svc.suspended) return reply(error(409, `service ${svc.id} is suspended`), false);
    const script = svc.scripts[0];
    const { deploy } = create(svc, 'deploy_hook', {
      imageRef: imgURL,
      commitId: url.searchParams.get('ref') ?? undefined,
    });
    svc.triggered++;
    if (script?.dropConnectionAfterCreate) return reply({ status: 0, drop: true }, false);
    reply({ status: 200, body: { deploy: { id: deploy.id } }, headers: limit.headers }, false);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const mustFind = (id: string) => {
    const svc = services.get(id);
    if (!svc) throw new Error(`render-sim: no service ${id}`);
    return svc;
  };

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    violations,
    addService(s) {
      const id = s.id ?? renderId('srv');
      if (services.has(id)) throw new Error(`render-sim: service ${id} exists`);
      const slug = s.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
      const created = Date.now() - 24 * 3600_000;
      const svc: ServiceRec = {
        id,
        name: s.name,
        slug,
        image: Boolean(s.image),
        imagePath: s.image ? (s.imagePath ?? `docker.io/${slug}/app:latest`) : undefined,
        url: s.url ?? `https://${slug}.onrender.com`,
        createdAt: iso(created),
        updatedAt: iso(created),
        suspended: Boolean(s.suspended),
        numInstances: s.numInstances ?? 1,
        deploys: [],
        queue: [],
        scripts: [],
        hookKey: randomBytes(8).toString('base64url'),
        cursor: randomBytes(9).toString('base64url'),
        triggered: 0,
        rollbacks: 0,
      };
      const history = s.history ?? 2;
      for (let i = history - 1; i >= 0; i--) {
        const at = iso(Date.now() - (i + 1) * 3600_000);
        const d: DeployRec = {
          id: i === 0 && s.liveDeployId ? s.liveDeployId : renderId('dep'),
          status: i === 0 ? 'live' : 'deactivated',
          trigger: 'new_commit',
          createdAt: at,
          updatedAt: at,
          startedAt: at,
          finishedAt: at,
          script: { statuses: DEFAULT_SCRIPT },
          timers: new Set(),
          cursor: randomBytes(9).toString('base64url'),
        };
        if (svc.image) d.image = { ref: svc.imagePath ?? '', sha: `sha256:${hex(32)}` };
        else {
          const sha = hex(20);
          d.commit = { id: sha, message: `commit ${sha.slice(0, 7)}`, createdAt: at };
        }
        svc.deploys.unshift(d);
      }
      svc.liveDeployId = svc.deploys[0]?.id;
      services.set(id, svc);
      return { id, liveDeployId: svc.liveDeployId ?? '' };
    },
    scriptDeploy(serviceId, s) {
      const svc = mustFind(serviceId);
      if (!s.statuses.length) throw new Error('render-sim: a deploy script needs at least one status');
      for (const step of s.statuses) {
        if (!spec.deployStatuses.includes(step.status)) {
          throw new Error(`render-sim: ${step.status} is not a deployStatus (${spec.deployStatuses.join(', ')})`);
        }
        if (!(step.ms >= 0)) throw new Error(`render-sim: bad ms ${step.ms}`);
      }
      svc.scripts.push({ ...s, statuses: s.statuses.map((x) => ({ ...x })) });
    },
    fault(f) {
      if (!(f.count >= 1)) throw new Error('render-sim: fault count must be >= 1');
      faults.push({ ...f });
    },
    deployHookUrl(serviceId) {
      const svc = mustFind(serviceId);
      return `http://127.0.0.1:${port}/deploy/${svc.id}?key=${svc.hookKey}`;
    },
    deploysTriggered: (serviceId) => mustFind(serviceId).triggered,
    rollbacksTriggered: (serviceId) => mustFind(serviceId).rollbacks,
    service(serviceId) {
      const svc = mustFind(serviceId);
      return {
        suspended: svc.suspended,
        numInstances: svc.numInstances,
        liveDeployId: svc.liveDeployId,
        deploys: svc.deploys.map(deployJson),
      };
    },
    corruptNextResponse(mutate) {
      corrupt =
        mutate ??
        ((body) => {
          if (Array.isArray(body)) return [...body, { cursor: 42 }];
          if (body && typeof body === 'object') return { ...body, id: 42 };
          return { unexpected: 'body' };
        });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
