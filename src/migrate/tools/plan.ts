/** What a tool's plan is (the command lines it runs) and the pieces every tool's plan is built from. */
import { statSync } from 'node:fs';
import type { PgConnection } from '../../postgres/connection.js';

export type ExternalTool = 'knex' | 'alembic' | 'prisma' | 'supabase' | 'command';

export const EXTERNAL_TOOLS: readonly ExternalTool[] = ['knex', 'alembic', 'prisma', 'supabase', 'command'];

export interface ToolPlan {
  tool: ExternalTool;
  /** Applies the pending migrations. */
  up: string[];
  /** Undoes what this run applied, where that needs no state from before the run (knex: migrate:rollback). Prefer `downFor`. */
  down?: string[];
  /** Lists migrations for dry-run; read it with `pending`. */
  status?: string[];
  /** Exit codes of `status` that still carry an answer (prisma migrate status exits 1 when migrations are pending). */
  statusExitCodes?: number[];
  /** The migration state: run it before `up` and again after it; `downFor` and `pending` read its output. */
  snapshot?: string[];
  /** The command that undoes what this run applied, from `snapshot`'s output before and after `up`; undefined when this run recorded nothing. */
  downFor?(before: string, after: string): string[] | undefined;
  /** The pending migrations, oldest first, from `status`'s output (and `snapshot`'s, which alembic needs). */
  pending?(status: string, snapshot?: string): string[];
  /** The complete environment for the tool: the runner's without its PG* variables, then DATABASE_URL and PG*. */
  env: Record<string, string>;
  /** What on-failure: down does with this tool, or why it cannot. */
  describeDown: string;
}

export interface ToolPlanOptions {
  /** The `migrations-dir` input, relative to `cwd` (DEFAULT_MIGRATIONS_DIR when not given). */
  migrationsDir: string;
  conn: PgConnection;
  /** The parsed `command` input: replaces the tool's `up`. */
  command?: string[];
  /** Where the tools run: the user's project. */
  cwd: string;
}

export const NPX = ['npx', '--no-install'];

export const NO_DOWN = 'restore the backup taken before the run to undo it';

/** The database URL for a command line: no password, not even as a query parameter. */
export function argvUrl(conn: PgConnection): string {
  const url = new URL(conn.libpqUrl);
  url.password = '';
  url.searchParams.delete('password');
  return url.toString();
}

/** A path argument that cannot be read as an option. */
export function pathArg(p: string): string {
  return p.startsWith('-') ? `./${p}` : p;
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
