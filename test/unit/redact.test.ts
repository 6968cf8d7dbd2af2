import { describe, expect, it } from '@jest/globals';
import { isSecretHeader, redactHeaders, redactUrl, scrub, secretPartsOfUrl } from '../../src/redact.js';

describe('redactUrl', () => {
  it('masks the password and keeps user, host, path and other parts', () => {
    expect(redactUrl('postgres://user:hunter2@db.example.com:5432/app')).toBe(
      'postgres://user:***@db.example.com:5432/app',
    );
  });

  it('masks secret-named query parameters but not the others', () => {
    expect(redactUrl('https://h.example/x?password=pw1&page=2')).toBe('https://h.example/x?password=***&page=2');
    expect(redactUrl('https://h.example/x?token=abc123')).toBe('https://h.example/x?token=***');
    expect(redactUrl('https://h.example/x?api_key=k&sig=s&q=v')).toBe('https://h.example/x?api_key=***&sig=***&q=v');
  });

  it('masks password and query parameter together', () => {
    const out = redactUrl('postgres://user:pw@host/db?password=x');
    expect(out).toBe('postgres://user:***@host/db?password=***');
    expect(out).not.toContain('pw@');
  });

  it('leaves a URL without a password or secret parameter unchanged', () => {
    expect(redactUrl('https://user@h.example/path?page=1')).toBe('https://user@h.example/path?page=1');
    expect(redactUrl('https://h.example/health')).toBe('https://h.example/health');
  });

  it('leaves non-URLs untouched', () => {
    for (const s of ['not a url', '', '/relative/path?token=abc', 'user:pw@host']) {
      expect(redactUrl(s)).toBe(s);
    }
  });
});

describe('isSecretHeader', () => {
  it.each(['Authorization', 'proxy-authorization', 'Cookie', 'Set-Cookie', 'X-API-Key', 'x-auth-token', 'X-Secret'])(
    'treats %s as secret',
    (name) => expect(isSecretHeader(name)).toBe(true),
  );

  it.each(['Accept', 'Content-Type', 'User-Agent', 'X-Request-Id'])('treats %s as not secret', (name) =>
    expect(isSecretHeader(name)).toBe(false),
  );
});

describe('redactHeaders', () => {
  const headers = { Authorization: 'Bearer abc', Accept: 'application/json', 'X-Api-Key': 'k-123' };

  it('masks only secret headers by default', () => {
    expect(redactHeaders(headers)).toEqual({ Authorization: '***', Accept: 'application/json', 'X-Api-Key': '***' });
  });

  it('masks every value when all=true', () => {
    expect(redactHeaders(headers, true)).toEqual({ Authorization: '***', Accept: '***', 'X-Api-Key': '***' });
  });

  it('does not modify its input', () => {
    redactHeaders(headers, true);
    expect(headers.Accept).toBe('application/json');
  });
});

describe('secretPartsOfUrl', () => {
  it('returns the password', () => {
    expect(secretPartsOfUrl('postgres://user:hunter2@host/db')).toEqual(['hunter2']);
  });

  it('returns both the encoded and decoded form of an encoded password', () => {
    expect(secretPartsOfUrl('postgres://user:p%40ss@host/db')).toEqual(['p%40ss', 'p@ss']);
  });

  it('returns secret query parameter values, skipping empty ones and others', () => {
    expect(secretPartsOfUrl('https://h.example/?token=t0k&page=2&password=')).toEqual(['t0k']);
  });

  it('returns nothing for a URL without secrets or for a non-URL', () => {
    expect(secretPartsOfUrl('https://user@h.example/x?page=1')).toEqual([]);
    expect(secretPartsOfUrl('not a url')).toEqual([]);
  });

  it('returns the path of a webhook URL that is secret as a whole, and its token-like segments', () => {
    const slack = 'https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/aBcDeFgHiJkLmNoPqRsTuVwX';
    expect(secretPartsOfUrl(slack, { whole: true })).toEqual([
      '/services/T0AB12CD3/B0EF45GH6/aBcDeFgHiJkLmNoPqRsTuVwX',
      'services/T0AB12CD3/B0EF45GH6/aBcDeFgHiJkLmNoPqRsTuVwX',
      'T0AB12CD3',
      'B0EF45GH6',
      'aBcDeFgHiJkLmNoPqRsTuVwX',
    ]);
    // Plain words stay readable: masking 'services' or 'webhooks' would blank them out of every log line.
    const discord = 'https://discord.com/api/webhooks/123456789012/to%2Fken-abcdefghijklmnop';
    const parts = secretPartsOfUrl(discord, { whole: true });
    expect(parts).toEqual(
      expect.arrayContaining(['123456789012', 'to%2Fken-abcdefghijklmnop', 'to/ken-abcdefghijklmnop']),
    );
    expect(parts).not.toContain('webhooks');
    expect(parts).not.toContain('api');
  });

  it('leaves the path alone unless the URL is secret as a whole, and for non-http URLs', () => {
    expect(secretPartsOfUrl('https://api.example.com/health/v2abcdefgh')).toEqual([]);
    expect(secretPartsOfUrl('postgres://u:pw1@db.example/app_2024prod', { whole: true })).toEqual(['pw1']);
    expect(secretPartsOfUrl('https://hooks.example/', { whole: true })).toEqual([]);
  });
});

describe('scrub', () => {
  it('replaces every occurrence of each secret', () => {
    expect(scrub('key=abc123 again abc123, other=zzz9', ['abc123', 'zzz9'])).toBe('key=*** again ***, other=***');
  });

  it('does not scrub secrets shorter than 3 characters', () => {
    expect(scrub('a ab abc', ['a', 'ab'])).toBe('a ab abc');
    expect(scrub('a ab abc', ['abc'])).toBe('a ab ***');
  });

  it('leaves text without secrets unchanged', () => {
    expect(scrub('nothing here', ['secret'])).toBe('nothing here');
    expect(scrub('nothing here', [])).toBe('nothing here');
  });
});
