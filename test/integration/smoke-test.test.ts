import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { runAction } from '../harness/action.js';
import { json, selfSignedCert, startHttpServer, type TestServer } from '../harness/http-server.js';

const HEALTHY = { status: 'healthy', checks: { database: 'healthy', redis: 'healthy' } };
const DEGRADED = { status: 'degraded', checks: { database: 'unhealthy' } };

const healthChecks = (path: string) => `
- name: api
  url: ${path}
  expect-json:
    $.status: healthy
    $.checks.*: healthy
`;

describe('smoke-test action against real HTTP servers', () => {
  let server: TestServer;
  let startedAt = 0;

  beforeAll(async () => {
    startedAt = Date.now();
    server = await startHttpServer((req, res) => {
      switch (req.url) {
        case '/healthy':
          return json(res, 200, HEALTHY);
        case '/degraded':
          return json(res, 503, DEGRADED);
        case '/warming':
          // Healthy only once the server has been up for 3 seconds.
          return Date.now() - startedAt >= 3000 ? json(res, 200, HEALTHY) : json(res, 503, { status: 'starting' });
        case '/hang':
          return; // never answers
        case '/secret-echo':
          return json(res, 500, { youSent: req.headers['authorization'] });
        default:
          return json(res, 404, { error: 'not found' });
      }
    });
  });
  afterAll(() => server.close());

  it('passes a healthy service on $.status and every $.checks.* entry', async () => {
    const run = await runAction('smoke-test', { 'base-url': server.url, checks: healthChecks('/healthy') });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(run.outputs.failed).toBe('');
    expect(Number(run.outputs['p95-ms'])).toBeGreaterThanOrEqual(0);
    expect(run.summary).toContain('✅ Smoke test passed');
    expect(run.summary).toMatch(/\| api \| ✅ passed \| 1 \|/);
  });

  it('fails a degraded service naming $.checks.database and the status', async () => {
    const run = await runAction('smoke-test', {
      'base-url': server.url,
      checks: healthChecks('/degraded'),
      timeout: '2s',
      'retry-interval': '200ms',
    });
    expect(run.code).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(run.outputs.failed).toBe('api');
    expect(run.stdout).toContain('$.checks.database is "unhealthy", expected "healthy"');
    expect(run.stdout).toContain('status 503, expected 2xx');
    expect(run.summary).toContain('$.checks.database');
    const report = JSON.parse(await readFile(run.outputs.report!, 'utf8').catch(() => '{}'));
    // the report lives in RUNNER_TEMP, which the harness removes; the path is still reported
    expect(run.outputs.report).toMatch(/smoke-test-report-\d+\.json$/);
    expect(report).toBeDefined();
  });

  it('waits for a service that turns healthy after 3 s, inside the deadline', async () => {
    startedAt = Date.now();
    const run = await runAction('smoke-test', {
      url: `${server.url}/warming`,
      timeout: '20s',
      'retry-interval': '500ms',
    });
    expect(run.code).toBe(0);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3000);
    const attempts = Number(/\| ✅ passed \| (\d+) \|/.exec(run.summary)?.[1]);
    expect(attempts).toBeGreaterThan(1);
  });

  it('cuts a hanging server at request-timeout', async () => {
    const run = await runAction('smoke-test', {
      url: `${server.url}/hang`,
      'request-timeout': '300ms',
      timeout: '1500ms',
      'retry-interval': '100ms',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no response within 300ms (request-timeout)');
    expect(run.stdout).toMatch(/not healthy within 1\.5s after \d+ attempts/);
  });

  it('never shows a value passed in headers, even when the server echoes it back', async () => {
    const token = 'Bearer s3cr3t-token-value-42';
    const run = await runAction('smoke-test', {
      url: `${server.url}/secret-echo`,
      headers: `Authorization: ${token}`,
      checks: `- name: echo\n  url: ${server.url}/secret-echo\n  expect-body: ok`,
      timeout: '1s',
      'retry-interval': '100ms',
    });
    expect(run.code).toBe(1);
    expect(server.requests.some((r) => r.headers.authorization === token)).toBe(true);
    expect(run.masked).toContain(token);
    expect(run.visible).not.toContain('s3cr3t-token-value-42');
  });
});

describe('smoke-test TLS certificate lifetime', () => {
  it('fails tls-min-days: 30 when the certificate expires in 5 days, passes tls-min-days: 3', async () => {
    const cert = await selfSignedCert(5);
    const server = await startHttpServer((_req, res) => json(res, 200, HEALTHY), cert);
    try {
      const env = { NODE_EXTRA_CA_CERTS: cert.certFile };
      const short = await runAction(
        'smoke-test',
        { url: `${server.url}/`, 'tls-min-days': '30', timeout: '5s' },
        { env },
      );
      expect(short.code).toBe(1);
      expect(short.stdout).toMatch(/TLS certificate expires in [45] days .*expected at least 30/);
      expect(short.summary).toMatch(/\| [45] days \|/);
      const ok = await runAction('smoke-test', { url: `${server.url}/`, 'tls-min-days': '3', timeout: '5s' }, { env });
      expect(ok.code).toBe(0);
    } finally {
      await server.close();
      await cert.cleanup();
    }
  });
});
