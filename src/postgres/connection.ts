/**
 * A PostgreSQL connection from a `postgres://` URL. The password never goes on a command line, whether
 * it came as `user:password@` or as a `?password=` query parameter (which libpq reads too, and which
 * wins over the userinfo): libpq tools get the URL without it and PGPASSWORD in their environment, so
 * `ps` and `/proc/<pid>/cmdline` never show it.
 */
import pg from 'pg';
import { ConfigurationError, ExternalError } from '../errors.js';
import { redactUrl } from '../redact.js';

export interface PgConnection {
  database: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** For libpq tools: the URL without its password. */
  libpqUrl: string;
  /** For people: `postgres://user:***@host:5432/db`. */
  display: string;
  /** Environment for libpq tools (PGPASSWORD, and nothing from the runner's PG* variables). */
  env: NodeJS.ProcessEnv;
  /** The same server, another database. */
  withDatabase(name: string): PgConnection;
  /** The full URL with its password, for the node-postgres client only. */
  secretUrl: string;
}

export function parsePgUrl(input: string, raw: string): PgConnection {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigurationError(`input '${input}': expected a URL like postgres://user:password@host:5432/dbname`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(
      `input '${input}': expected a postgres:// or postgresql:// URL (or redis:// where Redis is supported), got '${url.protocol}//…'`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigurationError(`input '${input}': the URL names no database (…/dbname)`);
  if (!url.hostname) throw new ConfigurationError(`input '${input}': the URL names no host`);
  if (queryParams(url).some((p) => p.key === 'sslpassword')) {
    throw new ConfigurationError(
      `input '${input}': sslpassword cannot be given to pg_dump and pg_restore but on their command line, where ps shows it (libpq reads it from no environment variable); use a client key that is not encrypted (kept 0600), or put the connection in a pg_service.conf`,
    );
  }
  return build(url);
}

/** The URL's query as libpq reads it: `key=value` pairs split on `&`, percent-decoded (`+` stays `+`). */
function queryParams(url: URL): { raw: string; key: string; value: string }[] {
  return url.search
    .slice(1)
    .split('&')
    .filter((raw) => raw !== '')
    .map((raw) => {
      const eq = raw.indexOf('=');
      const decode = (s: string) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      };
      return { raw, key: decode(eq < 0 ? raw : raw.slice(0, eq)), value: decode(eq < 0 ? '' : raw.slice(eq + 1)) };
    });
}

function build(url: URL): PgConnection {
  const params = queryParams(url);
  // As libpq: a password in the query wins over the one in the userinfo.
  const fromQuery = params.filter((p) => p.key === 'password').pop();
  const password = fromQuery ? fromQuery.value : decodeURIComponent(url.password);
  const bare = new URL(url.toString());
  bare.password = '';
  // Rebuilt by hand, not through searchParams, which would re-encode the other values (a space as `+`).
  const kept = params.filter((p) => p.key !== 'password').map((p) => p.raw);
  bare.search = kept.length ? `?${kept.join('&')}` : '';
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  if (password) env.PGPASSWORD = password;
  env.PGAPPNAME = 'opskit';
  return {
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password,
    libpqUrl: bare.toString(),
    display: redactUrl(url.toString()),
    env,
    secretUrl: url.toString(),
    withDatabase(name: string) {
      const other = new URL(url.toString());
      other.pathname = `/${encodeURIComponent(name)}`;
      return build(other);
    },
  };
}

/** Opens a node-postgres client; connection failures become ExternalErrors without the password. */
export async function connect(conn: PgConnection): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: conn.secretUrl, application_name: 'opskit' });
  try {
    await client.connect();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ExternalError(
      `cannot connect to ${conn.display}: ${message.split(conn.password || '\u0000').join('***')}`,
    );
  }
  client.on('error', () => undefined);
  return client;
}

export async function withClient<T>(conn: PgConnection, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(conn);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
