import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runAction, emptyOutputs } from '../harness/action.js';
import { json, startHttpServer, type TestServer } from '../harness/http-server.js';
import { tempDir } from '../harness/tmp.js';

let server: TestServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  server = await startHttpServer((_req, res) => json(res, 200, { status: 'healthy' }));
  dir = await tempDir();
});
afterAll(async () => {
  await server.close();
  await dir.cleanup();
});

const check = (extra: string) => `- name: api\n  url: ${'${URL}'}/health\n${extra}`;

// [what is wrong, inputs, the input the message must name, a fragment of what is accepted]
const cases: [string, Record<string, string>, string, string][] = [
  ['neither url nor checks', {}, "input 'url' or 'checks' is required", 'one per line'],
  ['an unknown key in checks', { checks: check('  expect_json:\n    $.a: b') }, "input 'checks[1]'", 'accepted keys'],
  ['a bad timeout', { url: '${URL}/', timeout: 'soon' }, "input 'timeout'", 'duration like 30s'],
  ['a unitless request-timeout', { url: '${URL}/', 'request-timeout': '10' }, "input 'request-timeout'", 'duration'],
  ['a retry-interval in words', { url: '${URL}/', 'retry-interval': '1 minute' }, "input 'retry-interval'", 'duration'],
  ['a word as status pattern', { checks: check('  expect-status: ok') }, "input 'checks[1].expect-status'", '2xx'],
  ['a status out of range', { checks: check('  expect-status: 600') }, "input 'checks[1].expect-status'", '200-299'],
  [
    'an invalid JSONPath',
    { checks: check('  expect-json:\n    "$.checks[": healthy') },
    "input 'checks[1].expect-json'",
    'JSONPath',
  ],
  [
    'a JSONPath not starting at $',
    { checks: check('  expect-json:\n    status: healthy') },
    "input 'checks[1].expect-json'",
    'JSONPath',
  ],
  ['invalid YAML in checks', { checks: '- name: [api\n  url: /x' }, "input 'checks'", 'YAML or JSON'],
  ['checks as a map, not a list', { checks: 'name: api\nurl: /x' }, "input 'checks'", 'YAML list'],
  ['a relative url without base-url', { checks: '- name: api\n  url: /health' }, "input 'checks[1].url'", 'base-url'],
  ['a url that is not http(s)', { url: 'ftp://example.com/x' }, "input 'url'", 'http://'],
  ['concurrency 0', { url: '${URL}/', concurrency: '0' }, "input 'concurrency'", 'from 1 to 256'],
  [
    'consecutive-successes in words',
    { url: '${URL}/', 'consecutive-successes': 'two' },
    "input 'consecutive-successes'",
    'whole number',
  ],
  ['an unknown method', { checks: check('  method: FETCH') }, "input 'checks[1].method'", 'GET'],
  ['a bad max-latency', { checks: check('  max-latency: fast') }, "input 'checks[1].max-latency'", 'duration'],
  ['headers that are not a map', { url: '${URL}/', headers: '- Authorization' }, "input 'headers'", 'map of names'],
  [
    'an invalid /regex/ in expect-body',
    { checks: check('  expect-body: /(/') },
    "input 'checks[1].expect-body'",
    'regular expression',
  ],
  ['two checks with one name', { checks: check('') + check('') }, "input 'checks'", 'unique'],
  ['a negative tls-min-days', { url: '${URL}/', 'tls-min-days': '-5' }, "input 'tls-min-days'", 'whole number'],
  ['a bad latency-p95', { url: '${URL}/', 'latency-p95': '1 second' }, "input 'latency-p95'", 'duration'],
];

describe('smoke-test rejects bad input before doing anything', () => {
  it.each(cases)('%s', async (_what, raw, names, accepted) => {
    const inputs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.replaceAll('${URL}', server.url)]));
    const reportFile = path.join(dir.path, `report-${Math.random().toString(36).slice(2)}.json`);
    const before = server.requests.length;
    const run = await runAction('smoke-test', { ...inputs, 'report-file': reportFile });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::error::smoke-test failed: ${names}`);
    expect(run.stdout).toContain(accepted);
    expect(run.stdout).not.toMatch(/at .*index\.js:\d+/); // no stack trace
    expect(server.requests.length).toBe(before); // no request made
    expect(existsSync(reportFile)).toBe(false); // no file written
    expect(run.outputs).toEqual(emptyOutputs('smoke-test'));
  });
});
