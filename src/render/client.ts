/**
 * A small Render API client on fetch: per-request timeouts, retries with backoff and jitter for
 * reads (honouring Retry-After on 429), and errors that carry Render's status and message but
 * never the API key.
 */
import { ExternalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelay } from '../util/backoff.js';
import { sleep } from '../util/time.js';
import type { Deploy, Service } from './types.js';

export interface RenderClientOptions {
  baseUrl: string;
  apiKey: string;
  logger: Logger;
  requestTimeoutMs?: number;
  /** Attempts for a request that may be repeated safely (GETs, and POSTs whose effect we can check). */
  maxAttempts?: number;
}

export class RenderRequestError extends ExternalError {
  constructor(
    message: string,
    status: number | undefined,
    /** true when the request may have reached Render and taken effect (timeout, dropped connection, 5xx). */
    readonly outcomeUnknown: boolean,
  ) {
    super(message, status);
  }
}

export interface ApiStats {
  calls: number;
  retries: number;
}

export class RenderClient {
  readonly stats: ApiStats = { calls: 0, retries: 0 };
  private readonly base: string;
  constructor(private readonly o: RenderClientOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
  }

  /** One request. `retry: true` retries 429, 5xx and network failures; otherwise only 429 (which never took effect). */
  async request<T>(
    method: string,
    path: string,
    opts: { query?: Record<string, string>; body?: unknown; retry?: boolean } = {},
  ): Promise<{ status: number; body: T | undefined }> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const max = this.o.maxAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      this.stats.calls++;
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.o.apiKey}`,
            accept: 'application/json',
            ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 30_000),
        });
      } catch (err) {
        const why = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : `failed (${causeOf(err)})`;
        if (opts.retry && attempt < max) {
          await this.pause(attempt, undefined, `${method} ${path} ${why}`);
          continue;
        }
        throw new RenderRequestError(`Render API ${method} ${path} ${why}`, undefined, true);
      }
      if (res.status === 429 || (res.status >= 500 && opts.retry)) {
        if (attempt < max) {
          await res.body?.cancel();
          await this.pause(attempt, res.headers.get('retry-after'), `${method} ${path} answered ${res.status}`);
          continue;
        }
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (res.status >= 400) {
        const message = (body as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || res.statusText);
        const hint =
          res.status === 401
            ? ' (check api-key)'
            : res.status === 404
              ? ' (check service-id and that the key can see it)'
              : '';
        throw new RenderRequestError(
          `Render API ${method} ${path} answered ${res.status}: ${message}${hint}`,
          res.status,
          res.status >= 500,
        );
      }
      return { status: res.status, body: body as T };
    }
  }

  private async pause(attempt: number, retryAfter: string | null | undefined, why: string): Promise<void> {
    this.stats.retries++;
    const fromHeader = retryAfter ? Number(retryAfter) * 1000 : NaN;
    const wait =
      Number.isFinite(fromHeader) && fromHeader >= 0
        ? Math.min(fromHeader, 120_000)
        : backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 });
    this.o.logger.info(`${why}; retrying in ${Math.round(wait / 100) / 10}s`);
    await sleep(wait);
  }

  async getService(id: string): Promise<Service> {
    return (await this.request<Service>('GET', `/services/${encodeURIComponent(id)}`, { retry: true })).body!;
  }

  async findServicesByName(name: string): Promise<Service[]> {
    const r = await this.request<{ service: Service }[]>('GET', '/services', {
      query: { name, limit: '20' },
      retry: true,
    });
    return (r.body ?? []).map((x) => x.service).filter((s) => s.name === name);
  }

  async listDeploys(serviceId: string, limit = 20): Promise<Deploy[]> {
    const r = await this.request<{ deploy: Deploy }[]>('GET', `/services/${encodeURIComponent(serviceId)}/deploys`, {
      query: { limit: String(limit) },
      retry: true,
    });
    return (r.body ?? []).map((x) => x.deploy);
  }

  async getDeploy(serviceId: string, deployId: string): Promise<Deploy> {
    return (
      await this.request<Deploy>(
        'GET',
        `/services/${encodeURIComponent(serviceId)}/deploys/${encodeURIComponent(deployId)}`,
        { retry: true },
      )
    ).body!;
  }

  /** Not retried: a repeated trigger could deploy twice. Callers check the deploy list when the outcome is unknown. */
  async triggerDeploy(
    serviceId: string,
    body: { commitId?: string; imageUrl?: string; clearCache?: 'clear' | 'do_not_clear' },
  ): Promise<{ deploy?: Deploy; queued: boolean }> {
    const r = await this.request<Deploy>('POST', `/services/${encodeURIComponent(serviceId)}/deploys`, { body });
    return r.status === 202 ? { queued: true } : { deploy: r.body, queued: false };
  }

  async cancelDeploy(serviceId: string, deployId: string): Promise<Deploy | undefined> {
    return (
      await this.request<Deploy>(
        'POST',
        `/services/${encodeURIComponent(serviceId)}/deploys/${encodeURIComponent(deployId)}/cancel`,
      )
    ).body;
  }

  async rollback(serviceId: string, deployId: string): Promise<Deploy> {
    return (
      await this.request<Deploy>('POST', `/services/${encodeURIComponent(serviceId)}/rollback`, { body: { deployId } })
    ).body!;
  }

  async serviceAction(serviceId: string, what: 'suspend' | 'resume' | 'restart'): Promise<void> {
    await this.request('POST', `/services/${encodeURIComponent(serviceId)}/${what}`, { retry: false });
  }

  async scale(serviceId: string, numInstances: number): Promise<void> {
    await this.request('POST', `/services/${encodeURIComponent(serviceId)}/scale`, { body: { numInstances } });
  }
}

function causeOf(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; message?: string };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
