/**
 * A PostgreSQL connection from a `postgres://` URL. The password never goes on a command line:
 * libpq tools get the URL without it and PGPASSWORD in their environment.
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
  return build(url);
}

function build(url: URL): PgConnection {
  const password = decodeURIComponent(url.password);
  const bare = new URL(url.toString());
  bare.password = '';
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
