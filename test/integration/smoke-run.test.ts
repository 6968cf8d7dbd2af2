import { afterEach, describe, expect, it } from '@jest/globals';
import type http from 'node:http';
import { json, startHttpServer, type TestServer } from '../harness/http-server.js';
import { Inputs } from '../../src/inputs.js';
import { memoryLogger } from '../../src/logger.js';
import { parseSmokeOptions } from '../../src/smoke/config.js';
import { runSmokeTests } from '../../src/smoke/run.js';
import type { SmokeOptions } from '../../src/smoke/types.js';

/** Options as the action would parse them, with fast retries; `values` are action inputs. */
function options(values: Record<string, string>): SmokeOptions {
  const all: Record<string, string> = { timeout: '5s', 'retry-interval': '50ms', ...values };
  return { ...parseSmokeOptions(new Inputs((n) => all[n] ?? '')), maxRetryIntervalMs: 200 };
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const server = await startHttpServer(handler);
  servers.push(server);
  return server;
}

describe('runSmokeTests against real HTTP servers', () => {
  it('with consecutive-successes 3, passes only once the service answers 3 times in a row', async () => {
    let n = 0;
    // Requests 1-4 alternate ok/fail; from request 5 on the service is stable.
    const server = await serve((_req, res) => {
      n++;
      if (n <= 4 && n % 2 === 0) return json(res, 503, { status: 'starting' });
      return json(res, 200, { status: 'healthy' });
    });
    const logger = memoryLogger();
    const report = await runSmokeTests(
      options({ url: `${server.url}/flaky`, 'consecutive-successes': '3', timeout: '10s' }),
      logger,
    );

    expect(report.passed).toBe(true);
    expect(report.failed).toEqual([]);
    // ok, fail, ok, fail, ok, ok, ok
    expect(server.requests).toHaveLength(7);
    expect(report.checks[0]).toMatchObject({ passed: true, attempts: 7, status: 200, reason: undefined });
    expect(logger.lines).toContain(`info: ${server.url}/flaky: passed after 7 attempts`);
    // The same failure twice in a row is logged once (repeats only every 30 s).
    expect(logger.lines.filter((l) => l.includes('failed: status 503, expected 2xx'))).toEqual([
      expect.stringMatching(/^info: .*\/flaky: attempt 2 failed: status 503, expected 2xx; retrying in \d+ms$/),
    ]);
  });

  it('with consecutive-successes 3, fails a service that keeps alternating', async () => {
    let n = 0;
    const server = await serve((_req, res) => (++n % 2 === 0 ? json(res, 503, {}) : json(res, 200, {})));
    const report = await runSmokeTests(
      options({ url: `${server.url}/alternating`, 'consecutive-successes': '3', timeout: '1s' }),
      memoryLogger(),
    );

    expect(report.passed).toBe(false);
    expect(report.failed).toEqual([`${server.url}/alternating`]);
    const check = report.checks[0]!;
    expect(check.attempts).toBe(server.requests.length);
    expect(check.attempts).toBeGreaterThanOrEqual(4);
    // The tail of the reason depends on whether the deadline hit after an ok or a failed attempt.
    expect(check.reason?.startsWith(`not healthy within 1.0s after ${check.attempts} attempts: `)).toBe(true);
  });

  it('with consecutive-successes 3 on a stable service, sends exactly 3 requests', async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }));
    const report = await runSmokeTests(
      options({ url: `${server.url}/stable`, 'consecutive-successes': '3' }),
      memoryLogger(),
    );
    expect(report.passed).toBe(true);
    expect(server.requests).toHaveLength(3);
    expect(report.checks[0]!.attempts).toBe(3);
    expect(report.checks[0]!.latencyMs.count).toBe(3);
  });

  it('takes latency samples after the check passes: samples 10 give 11 latencies near the server delay', async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }, 50));
    const report = await runSmokeTests(options({ url: `${server.url}/slow`, samples: '10' }), memoryLogger());

    expect(report.passed).toBe(true);
    expect(server.requests).toHaveLength(11);
    const latency = report.checks[0]!.latencyMs;
    expect(latency.count).toBe(11);
    expect(latency.min).toBeGreaterThanOrEqual(45);
    expect(latency.p95).toBeGreaterThanOrEqual(45);
    expect(latency.p95).toBeLessThan(300);
    expect(latency.p50!).toBeLessThanOrEqual(latency.p95!);
    expect(latency.p95!).toBeLessThanOrEqual(latency.max!);
    expect(report.p95Ms).toBe(latency.p95);
  });

  it('fails a check whose p95 is over latency-p95, naming p95 in the reason', async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }, 50));
    const report = await runSmokeTests(
      options({ url: `${server.url}/slow`, samples: '5', 'latency-p95': '20ms' }),
      memoryLogger(),
    );

    expect(report.passed).toBe(false);
    expect(report.failed).toEqual([`${server.url}/slow`]);
    expect(server.requests).toHaveLength(6);
    expect(report.checks[0]!.reason).toMatch(/^p95 latency \d+ms over 6 requests, expected at most 20ms$/);
  });

  it('passes a check whose p95 is under latency-p95', async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }));
    const report = await runSmokeTests(
      options({ url: `${server.url}/fast`, samples: '5', 'latency-p95': '2s' }),
      memoryLogger(),
    );
    expect(report.passed).toBe(true);
    expect(report.checks[0]!.latencyMs.count).toBe(6);
  });

  it('fails each attempt slower than max-latency and retries until the deadline', async () => {
    const server = await serve((req, res) => json(res, 200, { ok: true }, req.url === '/slow' ? 100 : 0));
    const report = await runSmokeTests(
      options({
        'base-url': server.url,
        timeout: '800ms',
        checks: '- name: slow\n  url: /slow\n  max-latency: 30ms\n- name: fast\n  url: /fast\n  max-latency: 2s',
      }),
      memoryLogger(),
    );

    expect(report.passed).toBe(false);
    expect(report.failed).toEqual(['slow']);
    const slow = report.checks.find((c) => c.name === 'slow')!;
    expect(slow.attempts).toBeGreaterThanOrEqual(2);
    expect(slow.status).toBe(200);
    expect(slow.reason).toMatch(/^not healthy within 800ms after \d+ attempts: took \d+ms, expected at most 30ms$/);
    expect(report.checks.find((c) => c.name === 'fast')).toMatchObject({ passed: true, attempts: 1 });
  });

  it('sends a POST with a JSON body, its content-type and the headers', async () => {
    const received: { method?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const server = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        Object.assign(received, { method: req.method, headers: req.headers, body });
        json(res, 201, { id: 7 });
      });
    });
    const report = await runSmokeTests(
      options({
        'base-url': `${server.url}/api`,
        headers: 'Authorization: Bearer t0ken-123',
        checks: [
          '- name: create',
          '  url: /items',
          '  method: POST',
          '  expect-status: 201',
          '  body:',
          '    name: widget',
          '    tags: [a, b]',
          '  expect-json:',
          '    $.id: 7',
        ].join('\n'),
      }),
      memoryLogger(),
    );

    expect(report.checks[0]).toMatchObject({ name: 'create', method: 'POST', passed: true, status: 201 });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /api/items']);
    expect(received.method).toBe('POST');
    expect(received.body).toBe('{"name":"widget","tags":["a","b"]}');
    expect(received.headers?.['content-type']).toBe('application/json');
    expect(received.headers?.['content-length']).toBe(String(Buffer.byteLength(received.body!)));
    expect(received.headers?.authorization).toBe('Bearer t0ken-123');
  });

  it('reports a failing and a passing check together, listing only the failing one', async () => {
    const server = await serve((req, res) =>
      req.url === '/ok' ? json(res, 200, { status: 'healthy' }) : json(res, 500, { status: 'broken' }),
    );
    const report = await runSmokeTests(
      options({
        'base-url': server.url,
        timeout: '600ms',
        checks: [
          '- name: good',
          '  url: /ok',
          '  expect-json: {$.status: healthy}',
          '- name: bad',
          '  url: /broken',
          '  expect-json: {$.status: healthy}',
        ].join('\n'),
      }),
      memoryLogger(),
    );

    expect(report.tool).toBe('smoke-test');
    expect(report.passed).toBe(false);
    expect(report.failed).toEqual(['bad']);
    expect(report.checks.map((c) => [c.name, c.passed, c.status])).toEqual([
      ['good', true, 200],
      ['bad', false, 500],
    ]);
    expect(report.checks[1]!.reason).toMatch(
      /^not healthy within 600ms after \d+ attempts: status 500, expected 2xx; \$\.status is "broken", expected "healthy"$/,
    );
    expect(report.checks[0]!.reason).toBeUndefined();
    expect(report.checks[1]!.url).toBe(`${server.url}/broken`);
    expect(server.requests.filter((r) => r.url === '/ok')).toHaveLength(1);
  });

  it('keeps header secrets out of reasons and log lines even when the service echoes them', async () => {
    const server = await serve((req, res) => json(res, 500, { youSent: req.headers['x-api-key'] }));
    const logger = memoryLogger();
    const report = await runSmokeTests(
      options({
        'base-url': server.url,
        timeout: '400ms',
        checks:
          '- name: echo\n  url: /echo\n  headers:\n    X-Api-Key: sup3r-s3cret\n  expect-json:\n    $.youSent: nope',
      }),
      logger,
    );

    expect(report.passed).toBe(false);
    expect(report.checks[0]!.reason).toContain('$.youSent is "***", expected "nope"');
    expect(JSON.stringify(report)).not.toContain('sup3r-s3cret');
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(logger.lines.join('\n')).not.toContain('sup3r-s3cret');
  });

  it('reports a request that gets no answer within request-timeout', async () => {
    const server = await serve(() => undefined); // never answers
    const report = await runSmokeTests(
      options({ url: `${server.url}/hang`, timeout: '600ms', 'request-timeout': '100ms' }),
      memoryLogger(),
    );
    expect(report.passed).toBe(false);
    expect(report.checks[0]!.status).toBeUndefined();
    expect(report.checks[0]!.reason).toMatch(
      /^not healthy within 600ms after \d+ attempts: no response within 100ms \(request-timeout\)$/,
    );
  });

  it.each([1, 5])('never has more than concurrency %d requests in flight', async (concurrency) => {
    let inFlight = 0;
    let peak = 0;
    const server = await serve((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        json(res, 200, { ok: true });
      }, 200);
    });
    const report = await runSmokeTests(
      options({
        'base-url': server.url,
        concurrency: String(concurrency),
        checks: [1, 2, 3, 4, 5].map((i) => `- name: c${i}\n  url: /c${i}`).join('\n'),
      }),
      memoryLogger(),
    );

    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(server.requests.map((r) => r.url).sort()).toEqual(['/c1', '/c2', '/c3', '/c4', '/c5']);
    expect(peak).toBe(concurrency);
  });
});
