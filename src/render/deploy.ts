/**
 * deploy-render: trigger exactly one deploy, follow it to its end, roll back to the deploy that
 * was live before when it fails or times out, and report a timeline.
 */
import { ConfigurationError, ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { formatDuration, sleep } from '../util/time.js';
import { RenderClient, RenderRequestError } from './client.js';
import type { RenderAction, RenderConfig } from './config.js';
import { type Deploy, FAILED, type Service } from './types.js';
import { type TimelineEntry, waitForDeploy } from './wait.js';

export type { RenderAction };

/** What runs the Render call, besides the settings of its config (parseRenderConfig). */
export interface RenderServices {
  client: RenderClient;
  service: { id?: string; name?: string };
  logger: Logger;
  /** Told when the deploy is known and when it ends (GitHub Deployment statuses). */
  events?: { started?(deployId: string, service?: Service): Promise<void>; rolledBack?(to: string): Promise<void> };
}

/** The call's settings come from deploy-render's config, without what becomes the client and the service. */
export type RenderOptions = Omit<RenderConfig, 'apiKey' | 'apiUrl' | 'serviceId' | 'serviceName' | 'github'> &
  RenderServices;

export type Outcome = 'live' | 'failed' | 'timed-out' | 'superseded' | 'canceled' | 'triggered' | 'done';

export interface RenderResult {
  service: Service;
  deployId?: string;
  status: string;
  outcome: Outcome;
  ok: boolean;
  previousDeployId?: string;
  rolledBack: boolean;
  rollbackDeployId?: string;
  timeline: TimelineEntry[];
  rollbackTimeline?: TimelineEntry[];
  durationSeconds: number;
  message: string;
  /** The deploy acted on or read (its commit, image and times), when there is one. */
  deploy?: Deploy;
}

export async function runRender(o: RenderOptions): Promise<RenderResult> {
  const t0 = Date.now();
  const service = await resolveService(o.client, o.service);
  const base = { service, rolledBack: false, timeline: [] as TimelineEntry[] };
  const seconds = () => Math.round((Date.now() - t0) / 100) / 10;

  switch (o.action) {
    case 'status': {
      const [latest] = await o.client.listDeploys(service.id, 1);
      const deploy = o.deployId ? await o.client.getDeploy(service.id, o.deployId) : latest;
      const status = deploy?.status ?? 'none';
      let message = `${service.name}: deploy ${deploy?.id ?? '(none)'} is ${deploy?.status ?? 'absent'}`;
      let ok = true;
      if (o.liveForMs !== undefined) {
        const since = deploy?.finishedAt ? Date.parse(deploy.finishedAt) : NaN;
        const liveMs = Date.now() - since;
        if (status !== 'live') {
          ok = false;
          message += `: it is not live, so it has not soaked (live-for ${formatDuration(o.liveForMs)})`;
        } else if (Number.isNaN(since) || liveMs < o.liveForMs) {
          ok = false;
          message += `, live for ${Number.isNaN(since) ? 'an unknown time' : formatDuration(liveMs)}: less than live-for ${formatDuration(o.liveForMs)}`;
        } else message += `, live for ${formatDuration(liveMs)} (at least ${formatDuration(o.liveForMs)})`;
      }
      return {
        ...base,
        deployId: deploy?.id,
        status,
        outcome: 'done',
        ok,
        durationSeconds: seconds(),
        message,
        deploy,
      };
    }
    case 'suspend':
    case 'resume':
    case 'restart':
      await o.client.serviceAction(service.id, o.action);
      return {
        ...base,
        status: o.action,
        outcome: 'done',
        ok: true,
        durationSeconds: seconds(),
        message: `${service.name}: ${o.action} requested`,
      };
    case 'scale':
      await o.client.scale(service.id, o.instances!);
      return {
        ...base,
        status: 'scaled',
        outcome: 'done',
        ok: true,
        durationSeconds: seconds(),
        message: `${service.name}: scaled to ${o.instances} instances`,
      };
    case 'cancel': {
      const id =
        o.deployId ??
        (await o.client.listDeploys(service.id, 10)).find(
          (d) => d.status && !['live', 'deactivated', 'canceled', ...FAILED].includes(d.status),
        )?.id;
      if (!id)
        return {
          ...base,
          status: 'none',
          outcome: 'done',
          ok: true,
          durationSeconds: seconds(),
          message: `${service.name}: no deploy in progress to cancel`,
        };
      await o.client.cancelDeploy(service.id, id);
      return {
        ...base,
        deployId: id,
        status: 'canceled',
        outcome: 'done',
        ok: true,
        durationSeconds: seconds(),
        message: `${service.name}: canceled ${id}`,
      };
    }
    case 'rollback':
      return rollbackAction(o, service, base, seconds);
    case 'deploy':
      return deployAction(o, service, base, seconds);
  }
}

async function resolveService(client: RenderClient, s: { id?: string; name?: string }): Promise<Service> {
  if (s.id) return client.getService(s.id);
  const found = await client.findServicesByName(s.name!);
  if (found.length === 0)
    throw new ConfigurationError(
      `input 'service-name': no Render service named '${s.name}' is visible to this API key`,
    );
  if (found.length > 1) {
    throw new ConfigurationError(
      `input 'service-name': ${found.length} services are named '${s.name}' (${found.map((x) => x.id).join(', ')}); use service-id`,
    );
  }
  return found[0]!;
}

function lastLive(deploys: Deploy[], except?: string): Deploy | undefined {
  return deploys.find((d) => d.status === 'live' && d.id !== except);
}

async function rollbackAction(
  o: RenderOptions,
  service: Service,
  base: { service: Service; rolledBack: boolean; timeline: TimelineEntry[] },
  seconds: () => number,
): Promise<RenderResult> {
  const deploys = await o.client.listDeploys(service.id, 50);
  const current = lastLive(deploys);
  let target = o.deployId;
  if (!target || target === 'previous') {
    // The last deploy that was live before the current one: deactivated and older than it.
    const idx = current ? deploys.findIndex((d) => d.id === current.id) : -1;
    target = deploys.slice(idx + 1).find((d) => d.status === 'deactivated' || d.status === 'live')?.id;
    if (!target)
      throw new ConfigurationError(`input 'deploy-id': ${service.name} has no earlier live deploy to roll back to`);
  }
  const created = await o.client.rollback(service.id, target);
  await o.events?.started?.(created.id, service);
  if (!o.wait)
    return {
      ...base,
      deployId: created.id,
      previousDeployId: current?.id,
      status: created.status ?? 'created',
      outcome: 'triggered',
      ok: true,
      durationSeconds: seconds(),
      message: `rollback to ${target} started as ${created.id}`,
    };
  const waited = await waitForDeploy(o.client, service.id, created.id, {
    timeoutMs: o.timeoutMs,
    logger: o.logger,
    label: 'rollback',
  });
  const ok = waited.deploy.status === 'live';
  return {
    ...base,
    deployId: created.id,
    previousDeployId: current?.id,
    status: waited.deploy.status ?? 'unknown',
    outcome: ok ? 'live' : waited.timedOut ? 'timed-out' : 'failed',
    ok,
    rolledBack: ok,
    timeline: waited.timeline,
    durationSeconds: seconds(),
    message: ok ? `rolled back ${service.name} to ${target}` : `rollback to ${target} ended ${waited.deploy.status}`,
  };
}

async function deployAction(
  o: RenderOptions,
  service: Service,
  base: { service: Service; rolledBack: boolean; timeline: TimelineEntry[] },
  seconds: () => number,
): Promise<RenderResult> {
  if (service.suspended === 'suspended') {
    if (!o.resumeIfSuspended) {
      throw new ConfigurationError(
        `${service.name} is suspended: a deploy would not go live; resume it first or set resume-if-suspended: true`,
      );
    }
    o.logger.info(`${service.name} is suspended; resuming it first`);
    await o.client.serviceAction(service.id, 'resume');
  }
  const before = await o.client.listDeploys(service.id, 20);
  const previous = lastLive(before);
  const known = new Set(before.map((d) => d.id));
  const deploy = await triggerOnce(o, service, known);
  o.logger.info(`deploy ${deploy.id} triggered for ${service.name}${previous ? ` (live before: ${previous.id})` : ''}`);
  await o.events?.started?.(deploy.id, service);
  if (!o.wait) {
    return {
      ...base,
      deployId: deploy.id,
      previousDeployId: previous?.id,
      status: deploy.status ?? 'created',
      outcome: 'triggered',
      ok: true,
      durationSeconds: seconds(),
      message: `deploy ${deploy.id} triggered`,
    };
  }

  const waited = await waitForDeploy(o.client, service.id, deploy.id, { timeoutMs: o.timeoutMs, logger: o.logger });
  const status = waited.deploy.status ?? 'unknown';
  let outcome: Outcome;
  let message: string;
  if (status === 'live') {
    return {
      ...base,
      deployId: deploy.id,
      previousDeployId: previous?.id,
      status,
      outcome: 'live',
      ok: true,
      timeline: waited.timeline,
      durationSeconds: seconds(),
      message: `deploy ${deploy.id} is live`,
    };
  } else if (waited.timedOut) {
    outcome = 'timed-out';
    message = `deploy ${deploy.id} was still ${status} after the timeout`;
    if (o.cancelOnTimeout) {
      await o.client
        .cancelDeploy(service.id, deploy.id)
        .catch((err) => o.logger.warning(`cancel failed: ${errorMessage(err)}`));
      message += '; it was canceled';
    }
  } else if (status === 'canceled' || status === 'deactivated') {
    const newer = (await o.client.listDeploys(service.id, 20)).find(
      (d) => !known.has(d.id) && d.id !== deploy.id && (d.createdAt ?? '') >= (waited.deploy.createdAt ?? ''),
    );
    if (newer) {
      const ok = !o.supersededIsFailure;
      return {
        ...base,
        deployId: deploy.id,
        previousDeployId: previous?.id,
        status: 'superseded',
        outcome: 'superseded',
        ok,
        timeline: waited.timeline,
        durationSeconds: seconds(),
        message: `deploy ${deploy.id} was superseded by ${newer.id} (${status})`,
      };
    }
    outcome = 'canceled';
    message = `deploy ${deploy.id} was canceled and nothing superseded it`;
  } else {
    outcome = 'failed';
    message = `deploy ${deploy.id} ended ${status}`;
  }

  const result: RenderResult = {
    ...base,
    deployId: deploy.id,
    previousDeployId: previous?.id,
    status,
    outcome,
    ok: false,
    timeline: waited.timeline,
    durationSeconds: 0,
    message,
  };
  if (o.rollbackOnFailure && previous) {
    o.logger.error(`${message}; rolling back to ${previous.id}`);
    try {
      const rb = await o.client.rollback(service.id, previous.id);
      const back = await waitForDeploy(o.client, service.id, rb.id, {
        timeoutMs: o.timeoutMs,
        logger: o.logger,
        label: 'rollback',
      });
      result.rollbackDeployId = rb.id;
      result.rollbackTimeline = back.timeline;
      result.rolledBack = back.deploy.status === 'live';
      result.message += result.rolledBack
        ? `; rolled back to ${previous.id} (live again as ${rb.id})`
        : `; the rollback ${rb.id} ended ${back.deploy.status}`;
      if (result.rolledBack) await o.events?.rolledBack?.(previous.id);
    } catch (err) {
      result.message += `; the rollback failed: ${errorMessage(err)}`;
    }
  } else if (o.rollbackOnFailure) {
    result.message += '; there was no earlier live deploy to roll back to';
  }
  result.durationSeconds = seconds();
  return result;
}

/**
 * Triggers exactly one deploy. A 202 (queued, no body) or an unknown outcome (timeout, dropped
 * connection, 5xx) is resolved by looking for a deploy created since, never by posting again
 * unless the list shows that the first attempt did not take.
 */
async function triggerOnce(o: RenderOptions, service: Service, known: Set<string>): Promise<Deploy> {
  const body = { commitId: o.commit, imageUrl: o.imageUrl, clearCache: o.clearCache ? ('clear' as const) : undefined };
  for (let attempt = 1; attempt <= 2; attempt++) {
    let outcomeUnknown = false;
    try {
      if (o.deployHookUrl) {
        const hooked = await triggerHook(o.deployHookUrl);
        if (hooked) return hooked;
      } else {
        const r = await o.client.triggerDeploy(service.id, body);
        if (r.deploy) return r.deploy;
        o.logger.info('Render queued the deploy (202, no body): finding it in the deploy list');
      }
    } catch (err) {
      if (!(err instanceof RenderRequestError) || !err.outcomeUnknown) throw err;
      outcomeUnknown = true;
      o.logger.warning(`the deploy trigger's outcome is unknown (${err.message}); checking whether it took effect`);
    }
    const found = await findNewDeploy(o, service.id, known);
    if (found) return found;
    if (!outcomeUnknown) break;
  }
  throw new ExternalError(
    `Render accepted the deploy trigger for ${service.name}, but no new deploy appeared in its deploy list`,
  );
}

async function findNewDeploy(o: RenderOptions, serviceId: string, known: Set<string>): Promise<Deploy | undefined> {
  for (let i = 0; i < 8; i++) {
    const fresh = (await o.client.listDeploys(serviceId, 20)).filter((d) => !known.has(d.id));
    const match = fresh.find(
      (d) =>
        (!o.commit || d.commit?.id?.startsWith(o.commit)) &&
        (!o.imageUrl || !d.image?.ref || d.image.ref === o.imageUrl),
    );
    if (match) return match;
    await sleep(Math.min(1000 * (i + 1), 5000));
  }
  return undefined;
}

/** Render's deploy hook: a POST to a secret URL. Its answer names the deploy when it can. */
export async function triggerHook(url: string): Promise<Deploy | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  } catch {
    throw new RenderRequestError('the deploy hook request failed before an answer came', undefined, true);
  }
  if (res.status >= 400)
    throw new RenderRequestError(`the deploy hook answered ${res.status}`, res.status, res.status >= 500);
  const data = (await res.json().catch(() => undefined)) as { deploy?: { id?: string } } | undefined;
  return data?.deploy?.id ? { id: data.deploy.id } : undefined;
}
