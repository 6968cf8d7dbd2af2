import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import { Inputs } from '../../src/inputs.js';
import { parseSmokeOptions } from '../../src/smoke/config.js';

const inputs = (values: Record<string, string>) => new Inputs((name) => values[name] ?? '');
const parse = (values: Record<string, string>) => parseSmokeOptions(inputs(values));
const urlsOf = (values: Record<string, string>) => parse(values).checks.map((c) => c.url.toString());

describe('parseSmokeOptions: options', () => {
  it('applies the documented defaults', () => {
    const o = parse({ url: 'http://h.example/health' });
    expect(o).toMatchObject({
      timeoutMs: 300_000,
      requestTimeoutMs: 10_000,
      retryIntervalMs: 2000,
      maxRetryIntervalMs: 30_000,
      consecutiveSuccesses: 1,
      samples: 0,
      concurrency: 10,
      secrets: [],
    });
    expect(o.latencyP95Ms).toBeUndefined();
    expect(o.tlsMinDays).toBeUndefined();
  });

  it('reads every option when given', () => {
    const o = parse({
      url: 'http://h.example/health',
      timeout: '30s',
      'request-timeout': '1500ms',
      'retry-interval': '250ms',
      'consecutive-successes': '3',
      samples: '20',
      'latency-p95': '400ms',
      concurrency: '2',
      'tls-min-days': '14',
    });
    expect(o).toMatchObject({
      timeoutMs: 30_000,
      requestTimeoutMs: 1500,
      retryIntervalMs: 250,
      consecutiveSuccesses: 3,
      samples: 20,
      latencyP95Ms: 400,
      concurrency: 2,
      tlsMinDays: 14,
    });
  });

  it.each(['off', 'OFF', '0'])('turns the TLS check off with tls-min-days: %s', (raw) => {
    expect(parse({ url: 'http://h.example/', 'tls-min-days': raw }).tlsMinDays).toBeUndefined();
  });

  it('rejects out-of-range numbers naming the input', () => {
    expect(() => parse({ url: 'http://h.example/', concurrency: '0' })).toThrow(/input 'concurrency'/);
    expect(() => parse({ url: 'http://h.example/', 'consecutive-successes': '101' })).toThrow(
      /input 'consecutive-successes'/,
    );
    expect(() => parse({ url: 'http://h.example/', 'tls-min-days': 'soon' })).toThrow(/input 'tls-min-days'/);
  });

  it('requires url or checks', () => {
    expect(() => parse({})).toThrow(ConfigurationError);
    expect(() => parse({})).toThrow("input 'url' or 'checks' is required");
  });
});

describe('parseSmokeOptions: url list', () => {
  it('makes one GET check per line expecting 2xx, named by its URL', () => {
    const o = parse({ url: 'http://a.example/health\n# comment\n\nhttps://b.example/ready?x=1' });
    expect(o.checks.map((c) => [c.name, c.method, c.url.toString(), c.expectStatus.text])).toEqual([
      ['http://a.example/health', 'GET', 'http://a.example/health', '2xx'],
      ['https://b.example/ready?x=1', 'GET', 'https://b.example/ready?x=1', '2xx'],
    ]);
    const status = o.checks[0]!.expectStatus;
    expect([200, 204, 299, 199, 301, 404, 503].map((s) => status.test(s))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(o.checks[0]!.expectJson).toEqual([]);
    expect(o.checks[0]!.body).toBeUndefined();
  });

  it('does not split a URL on commas', () => {
    expect(urlsOf({ url: 'http://a.example/x?ids=1,2' })).toEqual(['http://a.example/x?ids=1,2']);
  });

  it('gives url-list checks the common headers', () => {
    const o = parse({ url: 'http://a.example/', headers: 'X-Env: prod' });
    expect(o.checks[0]!.headers).toEqual({ 'X-Env': 'prod' });
  });

  it('rejects a non-http URL naming the input', () => {
    expect(() => parse({ url: 'ftp://a.example/' })).toThrow(/input 'url': expected a URL/);
  });
});

describe('parseSmokeOptions: checks', () => {
  const check = (yaml: string, extra: Record<string, string> = {}) =>
    parse({ 'base-url': 'http://h.example', checks: yaml, ...extra }).checks[0]!;

  it.each([
    ['http://h.example', '/health', 'http://h.example/health'],
    ['http://h.example/', '/health', 'http://h.example/health'],
    ['http://h.example', 'health', 'http://h.example/health'],
    ['http://h.example/api', '/health', 'http://h.example/api/health'],
    ['http://h.example/api/', '/health', 'http://h.example/api/health'],
    ['http://h.example/api', 'v1/health?full=1', 'http://h.example/api/v1/health?full=1'],
  ])('resolves against base-url %s + %s → %s', (base, rel, expected) => {
    expect(urlsOf({ 'base-url': base, checks: `- url: ${rel}` })).toEqual([expected]);
  });

  it('keeps absolute check URLs as they are, even with a base-url', () => {
    expect(urlsOf({ 'base-url': 'http://h.example/api', checks: '- url: https://other.example/x' })).toEqual([
      'https://other.example/x',
    ]);
  });

  it('rejects a relative URL without base-url', () => {
    expect(() => parse({ checks: '- url: /health' })).toThrow(
      "input 'checks[1].url': expected an absolute http(s) URL, or set base-url for relative ones, got '/health'",
    );
  });

  it('names a check by method and path unless named', () => {
    const o = parse({
      'base-url': 'http://h.example/api',
      checks: '- url: /items\n  method: post\n- name: custom\n  url: /x',
    });
    expect(o.checks.map((c) => [c.name, c.method])).toEqual([
      ['POST /api/items', 'POST'],
      ['custom', 'GET'],
    ]);
  });

  it('merges common headers under per-check headers', () => {
    const c = check('- url: /x\n  headers:\n    X-Env: staging\n    Accept: application/json', {
      headers: 'Authorization: Bearer common-token\nX-Env: prod',
    });
    expect(c.headers).toEqual({
      Authorization: 'Bearer common-token',
      'X-Env': 'staging',
      Accept: 'application/json',
    });
  });

  it('sends an object body as JSON with a content-type', () => {
    const c = check('- url: /items\n  method: POST\n  body:\n    name: widget\n    tags: [a, b]\n    count: 2');
    expect(c.body).toBe('{"name":"widget","tags":["a","b"],"count":2}');
    expect(c.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('keeps a given content-type for an object body, whatever its case', () => {
    const c = check(
      '- url: /items\n  method: POST\n  headers:\n    Content-Type: application/vnd.api+json\n  body: {a: 1}',
    );
    expect(c.body).toBe('{"a":1}');
    expect(c.headers).toEqual({ 'Content-Type': 'application/vnd.api+json' });
  });

  it('sends a scalar body as text without adding a content-type', () => {
    const c = check('- url: /items\n  method: PUT\n  body: plain text');
    expect(c.body).toBe('plain text');
    expect(c.headers).toEqual({});
  });

  it('reads expect-status, expect-body and max-latency', () => {
    const c = check('- url: /x\n  expect-status: 200,204\n  expect-body: /^ok$/\n  max-latency: 1.5s');
    expect(c.expectStatus.text).toBe('200,204');
    expect(c.expectStatus.test(204)).toBe(true);
    expect(c.expectStatus.test(201)).toBe(false);
    expect(c.expectBody?.test('ok')).toBe(true);
    expect(c.expectBody?.test('not ok')).toBe(false);
    expect(c.maxLatencyMs).toBe(1500);
  });

  it('compiles expect-json paths', () => {
    const c = check('- url: /x\n  expect-json:\n    $.status: healthy\n    $.checks.*: healthy');
    expect(c.expectJson.map((e) => [e.path, e.expected.text])).toEqual([
      ['$.status', '"healthy"'],
      ['$.checks.*', '"healthy"'],
    ]);
  });

  it('collects secrets: every common header value and secret-named check headers, not Accept', () => {
    const o = parse({
      'base-url': 'http://h.example',
      headers: 'X-Env: prod-env\nAuthorization: Bearer common-token',
      checks: [
        '- name: a',
        '  url: /a',
        '  headers:',
        '    Accept: application/json',
        '    X-Api-Key: key-123',
        '- name: b',
        '  url: /b',
        '  headers:',
        '    Cookie: session=s3cr3t',
        '    X-Request-Id: req-42',
      ].join('\n'),
    });
    expect(o.secrets.sort()).toEqual(['Bearer common-token', 'key-123', 'prod-env', 'session=s3cr3t'].sort());
    expect(o.secrets).not.toContain('application/json');
    expect(o.secrets).not.toContain('req-42');
  });

  it('lists each secret once', () => {
    const o = parse({
      'base-url': 'http://h.example',
      headers: 'Authorization: Bearer t0ken',
      checks: '- name: a\n  url: /a\n- name: b\n  url: /b',
    });
    expect(o.secrets).toEqual(['Bearer t0ken']);
  });

  it('rejects unknown keys, duplicate names, bad JSONPath and a non-list', () => {
    expect(() => check('- url: /x\n  expect_status: 200')).toThrow(
      /input 'checks\[1\]': unknown key 'expect_status'; accepted keys: name, url/,
    );
    expect(() => check('- name: a\n  url: /x\n- name: a\n  url: /y')).toThrow(
      "input 'checks': two checks are named 'a'; names must be unique",
    );
    expect(() => check('- url: /x\n  expect-json:\n    "$[": 1')).toThrow(/is not a valid JSONPath/);
    expect(() => check('name: a\nurl: /x')).toThrow(/input 'checks': expected a YAML list of checks/);
    expect(() => check('- name: a')).toThrow("input 'checks[1]': 'url' is required");
    expect(() => check('- url: /x\n  method: FETCH')).toThrow(/input 'checks\[1\]\.method': expected one of GET/);
  });
});

describe('credentials inside check URLs', () => {
  it('names a url check without its password or token and lists both as secrets', () => {
    const options = parse({ url: 'http://user:hunter2@h/x?token=tok123' });
    expect(options.checks[0]!.name).not.toMatch(/hunter2|tok123/);
    expect(options.secrets).toEqual(expect.arrayContaining(['hunter2', 'tok123']));
  });
});

describe('expect-json values', () => {
  const matcher = (expected: unknown) =>
    parse({ checks: JSON.stringify([{ name: 'a', url: 'http://h/', 'expect-json': { '$.x': expected } }]) }).checks[0]!
      .expectJson[0]!.expected;

  it('treats a path-like string with non-flag letters as a literal', () => {
    expect(matcher('/home/app').test('/home/app')).toBe(true);
    expect(matcher('/home/app').test('/home/application')).toBe(false);
  });

  it('compares objects whatever their key order, and null only with null', () => {
    expect(matcher({ a: 1, b: 2 }).test({ b: 2, a: 1 })).toBe(true);
    expect(matcher(null).test('null')).toBe(false);
    expect(matcher(null).test(null)).toBe(true);
  });
});
