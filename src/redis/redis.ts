/** Redis backups: `redis-cli --rdb` (password through REDISCLI_AUTH, never argv), checked with redis-check-rdb. */
import { ConfigurationError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { runTool } from '../util/child.js';

export interface RedisConnection {
  host: string;
  port: number;
  user?: string;
  password: string;
  db: number;
  tls: boolean;
  display: string;
  database: string;
}

export function parseRedisUrl(input: string, raw: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigurationError(`input '${input}': expected a URL like redis://:password@host:6379/0`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigurationError(`input '${input}': expected redis:// or rediss://, got '${url.protocol}//…'`);
  }
  const db = Number(url.pathname.replace(/^\//, '') || '0');
  if (!Number.isInteger(db) || db < 0)
    throw new ConfigurationError(`input '${input}': the database number must be a whole number`);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: decodeURIComponent(url.password),
    db,
    tls: url.protocol === 'rediss:',
    display: redactUrl(url.toString()),
    database: `redis-${url.hostname}-${db}`.replace(/[^A-Za-z0-9._-]/g, '_'),
  };
}

export function cliArgs(c: RedisConnection): string[] {
  const args = ['-h', c.host, '-p', String(c.port), '--no-auth-warning'];
  if (c.user) args.push('--user', c.user);
  if (c.tls) args.push('--tls');
  return args;
}

export function cliEnv(c: RedisConnection): NodeJS.ProcessEnv {
  return c.password ? { ...process.env, REDISCLI_AUTH: c.password } : { ...process.env };
}

/** Writes the server's RDB snapshot to `file` (redis-cli can only write a file; redis-check-rdb reads one). */
export async function dumpRdb(c: RedisConnection, file: string): Promise<void> {
  await runTool('redis-cli', [...cliArgs(c), '--rdb', file], { env: cliEnv(c), secrets: [c.password] });
}

export async function checkRdb(file: string): Promise<void> {
  await runTool('redis-check-rdb', [file]);
}

export async function redisInfo(c: RedisConnection): Promise<{ version: string; keys: Record<string, number> }> {
  const text = await runTool('redis-cli', [...cliArgs(c), 'INFO'], { env: cliEnv(c), secrets: [c.password] });
  const version = /redis_version:(\S+)/.exec(text)?.[1] ?? 'unknown';
  const keys: Record<string, number> = {};
  for (const m of text.matchAll(/^(db\d+):keys=(\d+)/gm)) keys[m[1]!] = Number(m[2]);
  return { version, keys };
}

export async function redisCliVersion(): Promise<string> {
  const text = await runTool('redis-cli', ['--version']);
  return /(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? text.trim();
}
