/** Secret redaction: what must never reach a log line, an error, a summary or an output. */

const MASK = '***';

/** `postgres://user:pw@host/db?password=x` → `postgres://user:***@host/db?password=***`. Leaves non-URLs alone. */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.password) url.password = MASK;
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(key)) url.searchParams.set(key, MASK);
  }
  return url.toString().replaceAll('%2A%2A%2A', MASK);
}

const SECRET_PARAM = /pass|secret|token|key|signature|sig|auth|credential/i;
const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$|token|secret|key|pass/i;

/** True for a header name whose value is a credential by its nature. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/** Header map with secret values replaced; `all` masks every value (the smoke-test `headers` input is secret as a whole). */
export function redactHeaders(headers: Record<string, string>, all = false): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, all || isSecretHeader(k) ? MASK : v]));
}

/**
 * The parts of a value that are secret on their own: a URL's password, secret query parameter values.
 *
 * `whole: true` is for a URL that is a secret as a whole (a Slack, Teams or Discord webhook, a deploy hook):
 * for http(s) its path carries the credential (`/services/T…/B…/<token>`), and a server that echoes the path
 * back in an error would print it. Then the path (as written, decoded, without its leading slash) and each
 * path segment that looks like an id or token (8+ characters with a digit, or 16+) are secret too; plain words
 * like `services` or `webhooks` are not, so they stay readable everywhere else.
 */
export function secretPartsOfUrl(value: string, options: { whole?: boolean } = {}): string[] {
  try {
    const url = new URL(value);
    const parts: string[] = [];
    if (url.password) parts.push(url.password, safeDecode(url.password));
    for (const [k, v] of url.searchParams) if (SECRET_PARAM.test(k) && v) parts.push(v);
    if (options.whole && (url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.length > 1) {
      const pathname = url.pathname;
      parts.push(pathname, safeDecode(pathname), pathname.slice(1));
      for (const segment of pathname.split('/')) {
        if (TOKEN_LIKE.test(segment)) parts.push(segment, safeDecode(segment));
      }
    }
    return [...new Set(parts)];
  } catch {
    return [];
  }
}

/** A path segment that is an id or a token rather than a word: 8+ characters with a digit, or 16+. */
const TOKEN_LIKE = /^(?=[^/]*\d)[^/]{8,}$|^[^/]{16,}$/;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Replace every occurrence of each secret in a text (for messages built from a service's answer). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s.length >= 3) out = out.split(s).join(MASK);
  return out;
}
