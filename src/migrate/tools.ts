/**
 * External migration tools for migrate-with-backup (`tool: knex | alembic | prisma | supabase | command`):
 * the command lines that apply, list and undo migrations, the environment they run in, and parsers for
 * what the tools print.
 *
 * Secrets: the full database URL (with its password) goes to every tool as `DATABASE_URL` in the
 * environment, with `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE`/`PGPASSWORD` (and `PGSSLMODE` when the URL has
 * one) beside it. A URL on a command line never carries the password: tools that need one there (knex
 * without a knexfile, the supabase CLI) get the URL without it and read `PGPASSWORD`.
 *
 * Every command is an argument array for `spawnTool`/`runTool` (src/util/child.ts): no shell, ever. The
 * `command` input is parsed by `parseCommand` (./command.ts), which splits a line like a shell splits words but
 * refuses anything a shell would expand or interpret.
 *
 * Each tool has its file in ./tools/ (knex.ts, alembic.ts, prisma.ts, supabase.ts): its command lines and the
 * parsers of what it prints. `dir` there is the `migrations-dir` input, `migrations` when not given.
 *
 * `tool: command` runs the `command` input, as parsed; no down, no status. A `command` given with another tool
 * replaces that tool's `up` only: down, status and snapshot stay the tool's own.
 */
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import type { PgConnection } from '../postgres/connection.js';
import { alembicPlan } from './tools/alembic.js';
import { knexPlan } from './tools/knex.js';
import { EXTERNAL_TOOLS, type ExternalTool, NO_DOWN, type ToolPlan, type ToolPlanOptions } from './tools/plan.js';
import { prismaPlan } from './tools/prisma.js';
import { supabasePlan } from './tools/supabase.js';

export { EXTERNAL_TOOLS, type ExternalTool, type ToolPlan, type ToolPlanOptions } from './tools/plan.js';

/** The `migrations-dir` input's default: a `migrationsDir` equal to it counts as not given. */
export const DEFAULT_MIGRATIONS_DIR = 'migrations';

export function toolPlan(tool: ExternalTool, o: ToolPlanOptions): ToolPlan {
  const env = toolEnv(o.conn);
  const dir = o.migrationsDir.trim() || DEFAULT_MIGRATIONS_DIR;
  const given = path.normalize(dir).replace(/\/+$/, '') !== DEFAULT_MIGRATIONS_DIR;
  let plan: ToolPlan;
  switch (tool) {
    case 'knex':
      plan = knexPlan(o, dir, given, env);
      break;
    case 'alembic':
      plan = alembicPlan(o, dir, given, env);
      break;
    case 'prisma':
      plan = prismaPlan(o, dir, given, env);
      break;
    case 'supabase':
      plan = supabasePlan(o, dir, given, env);
      break;
    case 'command':
      if (!o.command?.length) throw new ConfigurationError(`input 'command' is required when 'tool' is command`);
      plan = { tool, up: [...o.command], env, describeDown: `a custom command has no down migration: ${NO_DOWN}` };
      break;
    default:
      throw new ConfigurationError(`input 'tool': expected one of ${EXTERNAL_TOOLS.join(', ')}, got '${String(tool)}'`);
  }
  if (o.command?.length && tool !== 'command') plan.up = [...o.command];
  return plan;
}

/** The runner's environment without its PG* variables, plus DATABASE_URL (full, secret) and PG* for this database. */
export function toolEnv(conn: PgConnection): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(conn.env)) if (v !== undefined && !k.startsWith('PG')) env[k] = v;
  const url = new URL(conn.secretUrl);
  // postgresql:// is the spelling every tool takes (SQLAlchemy refuses postgres://).
  env.DATABASE_URL = conn.secretUrl.replace(/^postgres:/, 'postgresql:');
  env.PGHOST = conn.host.replace(/^\[(.*)\]$/, '$1');
  env.PGPORT = String(conn.port);
  if (conn.user) env.PGUSER = conn.user;
  env.PGDATABASE = conn.database;
  const password = conn.password || url.searchParams.get('password') || '';
  if (password) env.PGPASSWORD = password;
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  env.PGAPPNAME = conn.env.PGAPPNAME ?? 'opskit';
  return env;
}
