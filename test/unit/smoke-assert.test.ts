import { describe, expect, it } from '@jest/globals';
import type { HttpResponse } from '../../src/http/request.js';
import { Inputs } from '../../src/inputs.js';
import { dotPath, evaluateResponse } from '../../src/smoke/assert.js';
import { parseSmokeOptions } from '../../src/smoke/config.js';
import type { SmokeCheck } from '../../src/smoke/types.js';

/** One check parsed from the YAML lines that follow `- url: /x` (so matchers behave as in the action). */
function checkOf(...lines: string[]): SmokeCheck {
  const yaml = ['- url: /x', ...lines.map((l) => `  ${l}`)].join('\n');
  const values: Record<string, string> = { 'base-url': 'http://h.example', checks: yaml };
  return parseSmokeOptions(new Inputs((n) => values[n] ?? '')).checks[0]!;
}

function response(body: unknown, status = 200, latencyMs = 12): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    latencyMs,
  };
}

describe('evaluateResponse: status and latency', () => {
  it('passes a 2xx response by default', () => {
    expect(evaluateResponse(checkOf(), response({}, 204))).toEqual([]);
  });

  it('reports a status mismatch with the expected pattern', () => {
    expect(evaluateResponse(checkOf(), response({}, 503))).toEqual(['status 503, expected 2xx']);
    expect(evaluateResponse(checkOf('expect-status: 200,204'), response({}, 201))).toEqual([
      'status 201, expected 200,204',
    ]);
    expect(evaluateResponse(checkOf('expect-status: 404'), response({}, 404))).toEqual([]);
  });

  it('fails a response slower than max-latency and passes one at the limit', () => {
    const c = checkOf('max-latency: 500ms');
    expect(evaluateResponse(c, response({}, 200, 1500))).toEqual(['took 1.5s, expected at most 500ms']);
    expect(evaluateResponse(c, response({}, 200, 500))).toEqual([]);
    expect(evaluateResponse(c, response({}, 200, 499.9))).toEqual([]);
  });

  it('reports every failure at once, in order', () => {
    const c = checkOf('max-latency: 10ms', 'expect-json:', '  $.status: healthy', 'expect-body: ok');
    expect(evaluateResponse(c, response({ status: 'down' }, 500, 20))).toEqual([
      'status 500, expected 2xx',
      'took 20ms, expected at most 10ms',
      '$.status is "down", expected "healthy"',
      `body does not contain 'ok'`,
    ]);
  });
});

describe('evaluateResponse: expect-json', () => {
  const health = checkOf('expect-json:', '  $.status: healthy', '  $.checks.*: healthy');

  it('passes when every matched value is as expected', () => {
    expect(
      evaluateResponse(health, response({ status: 'healthy', checks: { db: 'healthy', redis: 'healthy' } })),
    ).toEqual([]);
  });

  it('names the concrete failing path of a wildcard', () => {
    const res = response({ status: 'healthy', checks: { database: 'healthy', redis: 'down', queue: 'healthy' } });
    expect(evaluateResponse(health, res)).toEqual(['$.checks.redis is "down", expected "healthy"']);
  });

  it('reports each failing wildcard match separately', () => {
    const res = response({ status: 'degraded', checks: { database: 'unhealthy', 'cache-1': 'slow' } });
    expect(evaluateResponse(health, res)).toEqual([
      '$.status is "degraded", expected "healthy"',
      '$.checks.database is "unhealthy", expected "healthy"',
      `$.checks['cache-1'] is "slow", expected "healthy"`,
    ]);
  });

  it('reports a path with no match', () => {
    expect(evaluateResponse(health, response({ status: 'healthy' }))).toEqual([
      '$.checks.* has no value, expected "healthy"',
    ]);
    expect(evaluateResponse(checkOf('expect-json:', '  $.version: 2'), response({}))).toEqual([
      '$.version has no value, expected 2',
    ]);
  });

  it('reports array indexes in the path', () => {
    const c = checkOf('expect-json:', '  $.items[*].ok: true');
    expect(evaluateResponse(c, response({ items: [{ ok: true }, { ok: false }] }))).toEqual([
      '$.items[1].ok is false, expected true',
    ]);
  });

  it('matches /regex/ expectations against scalar values', () => {
    const c = checkOf('expect-json:', '  $.version: /^v\\d+\\.\\d+$/');
    expect(evaluateResponse(c, response({ version: 'v1.12' }))).toEqual([]);
    expect(evaluateResponse(c, response({ version: 'v1.12-rc1' }))).toEqual([
      '$.version is "v1.12-rc1", expected /^v\\d+\\.\\d+$/',
    ]);
    expect(evaluateResponse(c, response({ version: { major: 1 } }))).toEqual([
      '$.version is {"major":1}, expected /^v\\d+\\.\\d+$/',
    ]);
  });

  it('honours regex flags', () => {
    const c = checkOf('expect-json:', '  $.status: /^OK$/i');
    expect(evaluateResponse(c, response({ status: 'ok' }))).toEqual([]);
    expect(evaluateResponse(c, response({ status: 'okay' }))).toHaveLength(1);
  });

  it('compares a numeric expectation with a number or its string form', () => {
    const c = checkOf('expect-json:', '  $.count: 3');
    expect(evaluateResponse(c, response({ count: 3 }))).toEqual([]);
    expect(evaluateResponse(c, response({ count: '3' }))).toEqual([]);
    expect(evaluateResponse(c, response({ count: 4 }))).toEqual(['$.count is 4, expected 3']);
    expect(evaluateResponse(c, response({ count: [3] }))).toEqual(['$.count is [3], expected 3']);
  });

  it('compares booleans and nested objects', () => {
    const c = checkOf('expect-json:', '  $.ready: true', '  $.meta: {region: eu}');
    expect(evaluateResponse(c, response({ ready: true, meta: { region: 'eu' } }))).toEqual([]);
    expect(evaluateResponse(c, response({ ready: false, meta: { region: 'us' } }))).toEqual([
      '$.ready is false, expected true',
      '$.meta is {"region":"us"}, expected {"region":"eu"}',
    ]);
  });

  it('reports a body that is not JSON, quoting its first 40 characters with whitespace folded', () => {
    const html = `<html>\n  <body>Bad Gateway</body>\n</html> and a lot more text after that`;
    expect(evaluateResponse(health, response(html, 200))).toEqual([
      `body is not JSON (starts with '<html> <body>Bad Gateway</body> </html')`,
    ]);
  });

  it('cuts long actual values in the message', () => {
    const c = checkOf('expect-json:', '  $.msg: short');
    const [failure] = evaluateResponse(c, response({ msg: 'x'.repeat(200) }));
    expect(failure).toBe(`$.msg is "${'x'.repeat(79)}…, expected "short"`);
  });
});

describe('evaluateResponse: expect-body', () => {
  it('checks a substring', () => {
    const c = checkOf('expect-body: all good');
    expect(evaluateResponse(c, response('status: all good today'))).toEqual([]);
    expect(evaluateResponse(c, response('status: all bad'))).toEqual([`body does not contain 'all good'`]);
  });

  it('checks a /regex/', () => {
    const c = checkOf('expect-body: /^pong\\s*$/');
    expect(evaluateResponse(c, response('pong\n'))).toEqual([]);
    expect(evaluateResponse(c, response('ping pong'))).toEqual([`body does not match '/^pong\\s*$/'`]);
  });

  it('treats regex characters in a plain expectation literally', () => {
    const c = checkOf('expect-body: "a.c"');
    expect(evaluateResponse(c, response('xa.cx'))).toEqual([]);
    expect(evaluateResponse(c, response('abc'))).toEqual([`body does not contain 'a.c'`]);
  });
});

describe('dotPath', () => {
  it.each([
    ["$['checks']['database']", '$.checks.database'],
    ["$['items'][0]['ok']", '$.items[0].ok'],
    ["$['a b']", "$['a b']"],
    ["$['x']['a-b']['_c9']", "$.x['a-b']._c9"],
    ["$['9lives']", "$['9lives']"],
    ['$', '$'],
  ])('%s → %s', (normalized, dotted) => expect(dotPath(normalized)).toBe(dotted));
});
