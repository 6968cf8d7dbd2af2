import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  Inputs,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseInteger,
  parseList,
  parseOptionalDuration,
  parseStatusPattern,
  parseStringMap,
  parseTextMatcher,
  parseUrl,
  parseYamlBlock,
} from '../../src/inputs.js';
import { ConfigurationError } from '../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['2d', 172_800_000],
  ])('reads %s', (raw, ms) => expect(parseDuration('timeout', raw)).toBe(ms));

  it.each(['soon', '10', '5 minutes', '-1s', '', '1x', 's'])('rejects %p naming the input', (raw) => {
    expect(() => parseDuration('timeout', raw)).toThrow(ConfigurationError);
    expect(() => parseDuration('timeout', raw)).toThrow(/input 'timeout': expected a duration like 30s/);
  });

  it('treats off, 0 and empty as no limit', () => {
    expect(parseOptionalDuration('statement-timeout', 'off')).toBeUndefined();
    expect(parseOptionalDuration('statement-timeout', '')).toBeUndefined();
    expect(parseOptionalDuration('statement-timeout', '3s')).toBe(3000);
  });
});

describe('scalar parsers', () => {
  it('reads booleans the way the runner writes them', () => {
    expect(parseBoolean('wait', 'true')).toBe(true);
    expect(parseBoolean('wait', 'False')).toBe(false);
    expect(() => parseBoolean('wait', 'maybe')).toThrow("input 'wait': expected true or false, got 'maybe'");
  });

  it('bounds integers', () => {
    expect(parseInteger('jobs', '4', 1, 64)).toBe(4);
    expect(() => parseInteger('jobs', '0', 1, 64)).toThrow(/from 1 to 64/);
    expect(() => parseInteger('jobs', '2.5', 1, 64)).toThrow(/'jobs'/);
  });

  it('matches enums case-insensitively and lists what is accepted', () => {
    expect(parseEnum('format', 'Custom', ['custom', 'plain'] as const)).toBe('custom');
    expect(() => parseEnum('format', 'tar', ['custom', 'plain'] as const)).toThrow('one of custom, plain');
  });

  it('accepts only the given URL schemes and hides a password in the message', () => {
    expect(parseUrl('url', 'https://example.com/x').hostname).toBe('example.com');
    expect(() => parseUrl('url', 'ftp://example.com')).toThrow(/input 'url'/);
    let message = '';
    try {
      parseUrl('url', 'ftp://user:hunter2@example.com');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('user:***@');
    expect(message).not.toContain('hunter2');
  });
});

describe('lists and blocks', () => {
  it('splits on lines and commas, dropping blanks and comments', () => {
    expect(parseList('a, b\n\n# note\nc\n')).toEqual(['a', 'b', 'c']);
    expect(parseList('a,b\nc', { commas: false })).toEqual(['a,b', 'c']);
  });

  it('parses YAML and JSON blocks and names the input on a syntax error', () => {
    expect(parseYamlBlock('checks', '- name: a\n  url: /x')).toEqual([{ name: 'a', url: '/x' }]);
    expect(parseYamlBlock('checks', '[{"name":"a"}]')).toEqual([{ name: 'a' }]);
    expect(() => parseYamlBlock('checks', '- name: [a')).toThrow(/input 'checks': expected a YAML or JSON block/);
  });

  it('reads header maps as strings', () => {
    expect(parseStringMap('headers', 'Authorization: Bearer x\nX-Num: 3')).toEqual({
      Authorization: 'Bearer x',
      'X-Num': '3',
    });
    expect(() => parseStringMap('headers', '- a')).toThrow(/input 'headers'/);
  });
});

describe('matchers', () => {
  it('reads status codes, lists, classes and ranges', () => {
    const m = parseStatusPattern('expect-status', '200,204, 3xx');
    expect([200, 204, 301, 201, 500].map((s) => m.test(s))).toEqual([true, true, true, false, false]);
    expect(parseStatusPattern('expect-status', '200-299').test(250)).toBe(true);
    for (const bad of ['ok', '2x', '600', '299-200', '']) {
      expect(() => parseStatusPattern('expect-status', bad)).toThrow(/input 'expect-status'/);
    }
  });

  it('reads substrings and /regex/', () => {
    expect(parseTextMatcher('expect-body', 'ok').test('all ok')).toBe(true);
    expect(parseTextMatcher('expect-body', '/^v\\d+$/').test('v12')).toBe(true);
    expect(parseTextMatcher('expect-body', '/^v\\d+$/').test('xv12')).toBe(false);
    expect(() => parseTextMatcher('expect-body', '/(/')).toThrow(/input 'expect-body'/);
  });
});

describe('an input left at its default', () => {
  const values: Record<string, string> = { 'clear-cache': 'false', instances: '', token: 'ghs_x', action: 'rollback' };
  const inputs = new Inputs((name) => values[name] ?? '', { 'clear-cache': 'false', action: 'deploy', token: null });

  it('does not count as given', () => {
    expect(inputs.has('clear-cache')).toBe(false);
    expect(inputs.has('instances')).toBe(false);
  });

  it('counts when it differs from the default, or the default is an expression', () => {
    expect(inputs.has('action')).toBe(true);
    expect(inputs.has('token')).toBe(true);
  });

  it('still reads as its value', () => {
    expect(inputs.boolean('clear-cache', true)).toBe(false);
  });
});

describe('actions/common/specs.generated.ts', () => {
  it('matches every action.yml (npm run docs or npm run build rewrites it)', async () => {
    const { generateSpecs, SPEC_FILE } = await import('../../scripts/action-spec.js');
    expect(readFileSync(SPEC_FILE, 'utf8')).toBe(await generateSpecs());
  });
});

describe('Inputs.withPrefix', () => {
  const inputs = new Inputs(
    (name) => ({ 'smoke-timeout': '2m', 'smoke-url': 'https://app.example.com/health', timeout: '9s' })[name] ?? '',
    { 'smoke-timeout': '5m', 'smoke-retry-interval': '2s' },
  );
  const smoke = inputs.withPrefix('smoke-');

  it('reads the prefixed input under the name without the prefix', () => {
    expect(smoke.duration('timeout', '1s')).toBe(120_000);
    expect(smoke.list('url')).toEqual(['https://app.example.com/health']);
    expect(smoke.raw('checks')).toBe('');
    expect(smoke.name('timeout')).toBe('smoke-timeout');
    expect(inputs.duration('timeout', '1s')).toBe(9_000);
  });

  it('names the prefixed input in every error', () => {
    const bad = new Inputs((name) => (name === 'smoke-timeout' ? 'soon' : '')).withPrefix('smoke-');
    expect(() => bad.duration('timeout', '5m')).toThrow(/^input 'smoke-timeout': expected a duration/);
    expect(() => bad.required('checks')).toThrow("input 'smoke-checks' is required but was not supplied");
  });

  it('knows the prefixed inputs’ defaults: one left at its default was not given', () => {
    const atDefault = new Inputs((name) => (name === 'smoke-timeout' ? '5m' : ''), { 'smoke-timeout': '5m' });
    expect(atDefault.withPrefix('smoke-').has('timeout')).toBe(false);
    expect(smoke.has('timeout')).toBe(true);
  });
});
