import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startRenderSim, type RenderSim } from '../harness/render-sim.js';

type Json = Record<string, unknown>;
interface Deploy {
  id: string;
  status: string;
  trigger: string;
  commit?: { id: string; message?: string };
  image?: { ref: string; sha: string };
  startedAt?: string;
  finishedAt?: string;
  createdAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 5 ms until it returns something other than undefined/false. */
async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** A plain-fetch client, like the action under test will be. */
function client(sim: RenderSim, apiKey = sim.apiKey) {
  const headers = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
  return {
    get: (path: string) => fetch(`${sim.baseUrl}${path}`, { headers }),
    post: (path: string, body?: unknown, extra: Record<string, string> = {}) =>
      fetch(`${sim.baseUrl}${path}`, {
        method: 'POST',
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async deploy(serviceId: string, deployId: string): Promise<Deploy> {
      const res = await this.get(`/services/${serviceId}/deploys/${deployId}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Deploy;
    },
    async deploys(serviceId: string, query = ''): Promise<Deploy[]> {
      const res = await this.get(`/services/${serviceId}/deploys${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { deploy: Deploy; cursor: string }[]).map((x) => x.deploy);
    },
  };
}

/** Statuses a deploy goes through, as seen by polling every 5 ms until a terminal one. */
async function watch(
  c: ReturnType<typeof client>,
  serviceId: string,
  deployId: string,
  seen: string[] = [],
): Promise<string[]> {
  await until(async () => {
    const d = await c.deploy(serviceId, deployId);
    if (seen[seen.length - 1] !== d.status) seen.push(d.status);
    return ['live', 'canceled', 'build_failed', 'update_failed', 'deactivated', 'pre_deploy_failed'].includes(d.status);
  });
  return seen;
}

describe('Render API simulator: normal scenarios answer within the spec', () => {
  let sim: RenderSim;
  let c: ReturnType<typeof client>;

  beforeAll(async () => {
    sim = await startRenderSim({ timeScale: 0.2 });
    c = client(sim);
  });
  afterEach(() => expect(sim.violations).toEqual([]));
  afterAll(() => sim?.stop());

  it('finds a service by name and runs a full deploy timeline, deactivating the previous live deploy', async () => {
    const svc = sim.addService({ name: 'web-api', url: 'https://web-api.example.com' });
    sim.addService({ name: 'other' });
    const found = await c.get('/services?name=web-api&limit=20');
    expect(found.status).toBe(200);
    expect(found.headers.get('ratelimit-limit')).toBe('400');
    const list = (await found.json()) as { service: Json; cursor: string }[];
    expect(list).toHaveLength(1);
    expect(list[0]?.cursor).toEqual(expect.any(String));
    expect(list[0]?.service).toMatchObject({
      id: svc.id,
      name: 'web-api',
      type: 'web_service',
      suspended: 'not_suspended',
      serviceDetails: { url: 'https://web-api.example.com', numInstances: 1 },
    });
    const one = (await (await c.get(`/services/${svc.id}`)).json()) as Json;
    expect(one.id).toBe(svc.id);

    const before = await c.deploys(svc.id);
    expect(before.map((d) => d.status)).toEqual(['live', 'deactivated']);
    expect(before[0]?.id).toBe(svc.liveDeployId);

    sim.scriptDeploy(svc.id, {
      commitId: 'a'.repeat(40),
      statuses: [
        { status: 'created', ms: 1000 },
        { status: 'build_in_progress', ms: 1000 },
        { status: 'update_in_progress', ms: 1000 },
        { status: 'live', ms: 0 },
      ],
    });
    const since = new Date().toISOString();
    const res = await c.post(`/services/${svc.id}/deploys`, { clearCache: 'do_not_clear' });
    expect(res.status).toBe(201);
    expect(res.headers.get('ratelimit-limit')).toBe('10');
    expect(res.headers.get('ratelimit-remaining')).toBe('9');
    const deploy = (await res.json()) as Deploy;
    expect(deploy).toMatchObject({ status: 'created', trigger: 'api', commit: { id: 'a'.repeat(40) } });
    expect(deploy.id).toMatch(/^dep-[a-v0-9]{20}$/);
    expect(deploy.image).toBeUndefined();

    expect(await watch(c, svc.id, deploy.id, [deploy.status])).toEqual([
      'created',
      'build_in_progress',
      'update_in_progress',
      'live',
    ]);
    const done = await c.deploy(svc.id, deploy.id);
    expect(done.startedAt).toEqual(expect.any(String));
    expect(done.finishedAt).toEqual(expect.any(String));

    const after = await c.deploys(svc.id);
    expect(after.map((d) => [d.id, d.status])).toEqual([
      [deploy.id, 'live'],
      [svc.liveDeployId, 'deactivated'],
      [before[1]?.id, 'deactivated'],
    ]);
    expect((await c.deploys(svc.id, `?createdAfter=${encodeURIComponent(since)}`)).map((d) => d.id)).toEqual([
      deploy.id,
    ]);
    expect((await c.deploys(svc.id, '?status=deactivated&limit=1')).map((d) => d.id)).toEqual([svc.liveDeployId]);
    expect((await c.deploys(svc.id, '?status=live&status=deactivated')).length).toBe(3);
    const page1 = (await (await c.get(`/services/${svc.id}/deploys?limit=2`)).json()) as { cursor: string }[];
    const page2 = await c.deploys(svc.id, `?limit=2&cursor=${page1[1]?.cursor}`);
    expect(page2.map((d) => d.id)).toEqual([before[1]?.id]);
    expect(sim.service(svc.id)).toMatchObject({ liveDeployId: deploy.id, suspended: false, numInstances: 1 });
    expect(sim.deploysTriggered(svc.id)).toBe(1);
  });

  it('answers 202 Queued with no body while a deploy is in progress, then runs the queued deploy', async () => {
    const svc = sim.addService({ name: 'queued' });
    sim.scriptDeploy(svc.id, {
      statuses: [
        { status: 'created', ms: 20 },
        { status: 'build_in_progress', ms: 60_000 },
      ],
    });
    const first = await c.post(`/services/${svc.id}/deploys`, {});
    expect(first.status).toBe(201);
    const running = (await first.json()) as Deploy;

    const second = await c.post(`/services/${svc.id}/deploys`, { clearCache: 'clear' });
    expect(second.status).toBe(202);
    expect(second.headers.get('content-type')).toBeNull();
    expect(await second.text()).toBe('');

    const [queued, ...rest] = await c.deploys(svc.id);
    expect(queued).toMatchObject({ status: 'queued', trigger: 'api' });
    expect(rest[0]?.id).toBe(running.id);
    expect(sim.deploysTriggered(svc.id)).toBe(2);

    const cancel = await c.post(`/services/${svc.id}/deploys/${running.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as Deploy).status).toBe('canceled');
    expect((await watch(c, svc.id, queued?.id ?? '')).pop()).toBe('live');
  });

  it('deploys an image-backed service: deploys carry image, never commit', async () => {
    const svc = sim.addService({ name: 'img', image: true, imagePath: 'ghcr.io/acme/img:1.0' });
    const history = await c.deploys(svc.id);
    expect(history.every((d) => d.commit === undefined && d.image?.ref === 'ghcr.io/acme/img:1.0')).toBe(true);
    const service = (await (await c.get(`/services/${svc.id}`)).json()) as Json;
    expect(service).toMatchObject({ imagePath: 'ghcr.io/acme/img:1.0', serviceDetails: { runtime: 'image' } });
    expect(service.repo).toBeUndefined();

    const res = await c.post(`/services/${svc.id}/deploys`, { imageUrl: 'ghcr.io/acme/img:1.1' });
    expect(res.status).toBe(201);
    const deploy = (await res.json()) as Deploy;
    expect('commit' in deploy).toBe(false);
    expect(deploy.image).toEqual({ ref: 'ghcr.io/acme/img:1.1', sha: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await watch(c, svc.id, deploy.id)).pop()).toBe('live');
  });

  it('supersedes a deploy: it is canceled and a newer new_commit deploy goes live', async () => {
    const svc = sim.addService({ name: 'superseded' });
    sim.scriptDeploy(svc.id, {
      supersededBy: 'next',
      statuses: [
        { status: 'created', ms: 30 },
        { status: 'build_in_progress', ms: 100 },
      ],
    });
    const deploy = (await (await c.post(`/services/${svc.id}/deploys`, {})).json()) as Deploy;
    expect((await watch(c, svc.id, deploy.id)).pop()).toBe('canceled');
    const newer = await until(async () => {
      const [latest] = await c.deploys(svc.id);
      return latest?.status === 'live' ? latest : undefined;
    });
    expect(newer.trigger).toBe('new_commit');
    expect(newer.commit?.id).not.toBe(deploy.commit?.id);
    expect(sim.service(svc.id).liveDeployId).toBe(newer.id);

    // a deploy that went live first is deactivated once the newer one is live
    sim.scriptDeploy(svc.id, {
      supersededBy: 'next',
      statuses: [
        { status: 'created', ms: 20 },
        { status: 'live', ms: 50 },
      ],
    });
    const wentLive = (await (await c.post(`/services/${svc.id}/deploys`, {})).json()) as Deploy;
    expect((await watch(c, svc.id, wentLive.id)).pop()).toBe('live');
    await until(async () => (await c.deploy(svc.id, wentLive.id)).status === 'deactivated');
    expect(sim.deploysTriggered(svc.id)).toBe(2);
  });

  it('cancels an in-progress deploy, and refuses to cancel a finished one', async () => {
    const svc = sim.addService({ name: 'cancel-me' });
    sim.scriptDeploy(svc.id, { statuses: [{ status: 'build_in_progress', ms: 60_000 }] });
    const deploy = (await (await c.post(`/services/${svc.id}/deploys`, {})).json()) as Deploy;
    expect(deploy.status).toBe('build_in_progress');
    const res = await c.post(`/services/${svc.id}/deploys/${deploy.id}/cancel`);
    expect(res.status).toBe(200);
    expect((await res.json()) as Deploy).toMatchObject({ id: deploy.id, status: 'canceled' });
    const again = await c.post(`/services/${svc.id}/deploys/${deploy.id}/cancel`);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ id: expect.any(String), message: expect.stringMatching(/not in progress/) });
    expect(sim.service(svc.id).liveDeployId).toBe(svc.liveDeployId);
    expect((await c.get(`/services/${svc.id}/deploys/dep-nope`)).status).toBe(404);
  });

  it('rolls back to a previous deploy with a new rollback deploy of the same commit', async () => {
    const svc = sim.addService({ name: 'rollback', history: 3 });
    const [, previous] = await c.deploys(svc.id);
    const res = await c.post(`/services/${svc.id}/rollback`, { deployId: previous?.id });
    expect(res.status).toBe(201);
    const rollback = (await res.json()) as Deploy;
    expect(rollback).toMatchObject({ trigger: 'rollback', commit: { id: previous?.commit?.id } });
    expect((await watch(c, svc.id, rollback.id)).pop()).toBe('live');
    expect(sim.service(svc.id).liveDeployId).toBe(rollback.id);
    expect((await c.deploy(svc.id, svc.liveDeployId)).status).toBe('deactivated');
    expect(sim.rollbacksTriggered(svc.id)).toBe(1);
    expect(sim.deploysTriggered(svc.id)).toBe(0);
    expect((await c.post(`/services/${svc.id}/rollback`, { deployId: 'dep-unknown' })).status).toBe(404);
  });

  it('suspends, refuses deploys while suspended, resumes with a service_resumed deploy, scales and restarts', async () => {
    const svc = sim.addService({ name: 'sleepy' });
    const suspend = await c.post(`/services/${svc.id}/suspend`);
    expect(suspend.status).toBe(202);
    expect(await suspend.text()).toBe('');
    expect((await (await c.get(`/services/${svc.id}`)).json()) as Json).toMatchObject({
      suspended: 'suspended',
      suspenders: ['user'],
    });
    expect(sim.service(svc.id).suspended).toBe(true);
    const refused = await c.post(`/services/${svc.id}/deploys`, {});
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as Json).message).toMatch(/suspended/);
    expect((await c.post(`/services/${svc.id}/restart`)).status).toBe(400);

    expect((await c.post(`/services/${svc.id}/resume`)).status).toBe(202);
    const [resumed] = await c.deploys(svc.id);
    expect(resumed?.trigger).toBe('service_resumed');
    expect((await watch(c, svc.id, resumed?.id ?? '')).pop()).toBe('live');
    expect(sim.service(svc.id).suspended).toBe(false);

    const scale = await c.post(`/services/${svc.id}/scale`, { numInstances: 3 });
    expect(scale.status).toBe(202);
    expect(sim.service(svc.id).numInstances).toBe(3);
    const restart = await c.post(`/services/${svc.id}/restart`);
    expect(restart.status).toBe(200);
    expect(await restart.text()).toBe('');
  });

  it('rate-limits deploy triggers to 10 per minute per service (hooks and suspend share the bucket)', async () => {
    const svc = sim.addService({ name: 'busy' });
    const other = sim.addService({ name: 'calm' });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await c.post(`/services/${svc.id}/deploys`, {})).status);
    statuses.push((await fetch(sim.deployHookUrl(svc.id), { method: 'POST' })).status);
    expect(statuses).toEqual([201, 202, 202, 202, 202, 202, 202, 202, 202, 200]);
    const limited = await c.post(`/services/${svc.id}/deploys`, {});
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(await limited.json()).toEqual({ id: expect.any(String), message: 'rate limit exceeded' });
    expect((await c.post(`/services/${svc.id}/suspend`)).status).toBe(429);
    expect((await fetch(sim.deployHookUrl(svc.id))).status).toBe(429);
    expect(sim.deploysTriggered(svc.id)).toBe(10);
    expect((await c.post(`/services/${other.id}/deploys`, {})).status).toBe(201);
  });

  it('rate-limits GETs to 400 per minute per API key', async () => {
    const sim2 = await startRenderSim();
    try {
      const c2 = client(sim2);
      const svc = sim2.addService({ name: 'polled' });
      const statuses: number[] = [];
      for (let batch = 0; batch < 8; batch++) {
        const res = await Promise.all(
          Array.from({ length: 50 }, () => c2.get(`/services/${svc.id}/deploys/${svc.liveDeployId}`)),
        );
        statuses.push(...res.map((r) => r.status));
        await Promise.all(res.map((r) => r.arrayBuffer()));
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(400);
      const limited = await c2.get(`/services/${svc.id}/deploys`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await c2.post(`/services/${svc.id}/deploys`, {})).status).toBe(201);
      expect(sim2.violations).toEqual([]);
    } finally {
      await sim2.stop();
    }
  });

  it('injects 429 with Retry-After, 503, and dropped connections', async () => {
    const svc = sim.addService({ name: 'flaky' });
    sim.fault({ method: 'GET', path: /\/deploys\/dep-/, status: 429, retryAfterSeconds: 7, count: 1 });
    const throttled = await c.get(`/services/${svc.id}/deploys/${svc.liveDeployId}`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(((await throttled.json()) as Json).message).toEqual(expect.any(String));
    expect((await c.get(`/services/${svc.id}/deploys/${svc.liveDeployId}`)).status).toBe(200);

    sim.fault({ method: 'post', path: /\/deploys$/, status: 503, count: 2 });
    expect((await c.post(`/services/${svc.id}/deploys`, {})).status).toBe(503);
    expect((await c.post(`/services/${svc.id}/deploys`, {})).status).toBe(503);
    expect(sim.deploysTriggered(svc.id)).toBe(0);

    sim.fault({ path: /\/deploys$/, drop: true, count: 1 });
    await expect(c.post(`/services/${svc.id}/deploys`, {})).rejects.toThrow();
    expect(sim.deploysTriggered(svc.id)).toBe(0);
    expect(sim.requests[sim.requests.length - 1]).toMatchObject({ method: 'POST', status: 0 });

    sim.scriptDeploy(svc.id, {
      dropConnectionAfterCreate: true,
      statuses: [
        { status: 'build_in_progress', ms: 50 },
        { status: 'live', ms: 0 },
      ],
    });
    await expect(c.post(`/services/${svc.id}/deploys`, { clearCache: 'do_not_clear' })).rejects.toThrow();
    expect(sim.deploysTriggered(svc.id)).toBe(1);
    const [created] = await c.deploys(svc.id, '?limit=1');
    expect(created?.trigger).toBe('api');
    expect((await watch(c, svc.id, created?.id ?? '')).pop()).toBe('live');
  });

  it('triggers deploys through the deploy hook with GET or POST', async () => {
    const svc = sim.addService({ name: 'hooked' });
    const url = sim.deployHookUrl(svc.id);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/deploy/${svc.id}\\?key=[\\w-]+$`));
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(200);
    const { deploy } = (await post.json()) as { deploy: { id: string } };
    expect(Object.keys(deploy)).toEqual(['id']);
    expect(await c.deploy(svc.id, deploy.id)).toMatchObject({ trigger: 'deploy_hook' });
    const get = await fetch(url);
    expect(get.status).toBe(200);
    expect(sim.deploysTriggered(svc.id)).toBe(2);
    expect((await fetch(url.replace(/key=.*/, 'key=wrong'))).status).toBe(404);
    expect(sim.deploysTriggered(svc.id)).toBe(2);
  });

  it('answers 401 in the error shape without or with a wrong API key', async () => {
    const svc = sim.addService({ name: 'private' });
    const missing = await fetch(`${sim.baseUrl}/services/${svc.id}`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ id: expect.any(String), message: 'unauthorized' });
    expect((await client(sim, 'rnd_wrong').post(`/services/${svc.id}/deploys`, {})).status).toBe(401);
    expect(sim.deploysTriggered(svc.id)).toBe(0);
  });
});

describe('Render API simulator: spec violations are caught', () => {
  let sim: RenderSim;
  let c: ReturnType<typeof client>;
  let serviceId: string;

  beforeAll(async () => {
    sim = await startRenderSim({ timeScale: 0.1 });
    c = client(sim);
    serviceId = sim.addService({ name: 'strict' }).id;
  });
  afterAll(() => sim?.stop());

  /** Runs `act`, returns the violations it added. */
  async function violationsOf(act: () => Promise<Response>): Promise<{ status: number; added: string[] }> {
    const before = sim.violations.length;
    const res = await act();
    await res.arrayBuffer();
    return { status: res.status, added: sim.violations.slice(before) };
  }

  it('rejects a body whose clearCache is not the string enum', async () => {
    const { status, added } = await violationsOf(() => c.post(`/services/${serviceId}/deploys`, { clearCache: 'yes' }));
    expect(status).toBe(400);
    expect(added).toEqual([expect.stringMatching(/create-deploy.*\/requestBody\/clearCache must be equal to one of/)]);
    const bool = await violationsOf(() => c.post(`/services/${serviceId}/deploys`, { clearCache: true }));
    expect(bool.added).toEqual([expect.stringMatching(/clearCache must be string/)]);
    expect(sim.deploysTriggered(serviceId)).toBe(0);
  });

  it('rejects other malformed requests: missing body, text/plain JSON, wrong types, bad queries', async () => {
    const cases: [string, () => Promise<Response>, RegExp][] = [
      ['no body', () => c.post(`/services/${serviceId}/deploys`), /must have required property 'requestBody'/],
      [
        'fetch default content-type',
        () => c.post(`/services/${serviceId}/deploys`, '{}', { 'content-type': 'text/plain;charset=UTF-8' }),
        /content-type is "text\/plain;charset=UTF-8", not application\/json/,
      ],
      ['not JSON', () => c.post(`/services/${serviceId}/deploys`, '{clearCache'), /JSON/],
      [
        'string instances',
        () => c.post(`/services/${serviceId}/scale`, { numInstances: '3' }),
        /numInstances must be integer/,
      ],
      ['rollback without id', () => c.post(`/services/${serviceId}/rollback`, {}), /required property 'deployId'/],
      [
        'comma statuses',
        () => c.get(`/services/${serviceId}/deploys?status=live,queued`),
        /\/query\/status\/0 must be equal/,
      ],
      ['limit too big', () => c.get(`/services/${serviceId}/deploys?limit=500`), /\/query\/limit must be <= 100/],
      [
        'bad date',
        () => c.get(`/services/${serviceId}/deploys?createdAfter=yesterday`),
        /must match format "date-time"/,
      ],
      ['unknown query', () => c.get(`/services?serviceName=x`), /must NOT have additional properties.*serviceName/],
      [
        'deployMode with commitId',
        () => c.post(`/services/${serviceId}/deploys`, { deployMode: 'deploy_only', commitId: 'abc' }),
        /deployMode cannot be combined/,
      ],
    ];
    for (const [name, act, pattern] of cases) {
      const { status, added } = await violationsOf(act);
      expect([name, status]).toEqual([name, 400]);
      expect([name, added]).toEqual([name, [expect.stringMatching(pattern)]]);
    }
    const unknown = await violationsOf(() => c.get(`/services/${serviceId}/events`));
    expect(unknown.status).toBe(404);
    expect(unknown.added).toEqual([
      expect.stringMatching(/\/services\/\{serviceId\}\/events in the spec but not simulated/),
    ]);
    const nowhere = await violationsOf(() => c.get('/nope'));
    expect(nowhere.added).toEqual([expect.stringMatching(/matches no path of the spec/)]);
    expect(sim.deploysTriggered(serviceId)).toBe(0);
  });

  it('catches a corrupted response and answers 500 instead', async () => {
    sim.corruptNextResponse();
    const { status, added } = await violationsOf(() => c.get(`/services/${serviceId}`));
    expect(status).toBe(500);
    expect(added).toEqual([expect.stringMatching(/response 200 .*retrieve-service.*\/id must be string/)]);

    sim.corruptNextResponse((body) => ({ ...(body as Json), status: 'exploded' }));
    const deploy = await violationsOf(() => c.post(`/services/${serviceId}/deploys`, {}));
    expect(deploy.status).toBe(500);
    expect(deploy.added).toEqual([
      expect.stringMatching(/response 201 .*create-deploy.*\/status must be equal to one of/),
    ]);

    sim.scriptDeploy(serviceId, { respond202: true, statuses: [{ status: 'live', ms: 0 }] });
    sim.corruptNextResponse(() => ({ queued: true }));
    const queued = await violationsOf(() => c.post(`/services/${serviceId}/deploys`, {}));
    expect(queued.added).toEqual([expect.stringMatching(/response 202 .*declares no body/)]);

    sim.corruptNextResponse((body) => (body as { deploy: Json }[]).map((x) => ({ ...x, deploy: { status: 'live' } })));
    const listed = await violationsOf(() => c.get(`/services/${serviceId}/deploys`));
    expect(listed.added).toEqual([expect.stringMatching(/list-deploys.*\/0\/deploy must have required property 'id'/)]);

    // the spec's serviceDetails oneOf (patched to be discriminated by type) still has teeth
    sim.corruptNextResponse((body) => {
      const service = structuredClone(body) as { serviceDetails: Json };
      delete service.serviceDetails.openPorts;
      return service;
    });
    const details = await violationsOf(() => c.get(`/services/${serviceId}`));
    expect(details.added).toEqual([expect.stringMatching(/\/serviceDetails must have required property 'openPorts'/)]);

    const fine = await violationsOf(() => c.get(`/services/${serviceId}`));
    expect(fine).toEqual({ status: 200, added: [] });
  });
});
