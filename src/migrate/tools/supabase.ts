/**
 * The supabase CLI (`tool: supabase`): its plan and a parser of `supabase migration list`.
 *
 * `supabase db push --db-url <URL without password> --yes`, status `supabase migration list
 * --db-url …`. The CLI parses `--db-url` with pgconn, which fills a missing password from `PGPASSWORD`
 * like libpq does. No down migrations. It reads `<workdir>/supabase/migrations`: a `migrations-dir` given
 * must end in `supabase/migrations` and becomes `--workdir`.
 */
import path from 'node:path';
import { ConfigurationError } from '../../errors.js';
import { lines, unreadable } from './output.js';
import { type ToolPlan, type ToolPlanOptions, NO_DOWN, argvUrl, pathArg } from './plan.js';

export function supabasePlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  let workdir: string[] = [];
  if (given) {
    const normal = path.normalize(dir).replace(/\/+$/, '');
    if (!/(^|\/)supabase\/migrations$/.test(normal)) {
      throw new ConfigurationError(
        `input 'migrations-dir': the supabase CLI reads <project>/supabase/migrations; give a path that ends in ` +
          `supabase/migrations or leave it unset, got '${dir}'`,
      );
    }
    const project = path.dirname(path.dirname(normal));
    if (project !== '.') workdir = ['--workdir', pathArg(project)];
  }
  const url = argvUrl(o.conn);
  return {
    tool: 'supabase',
    up: ['supabase', 'db', 'push', '--db-url', url, '--yes', ...workdir],
    status: ['supabase', 'migration', 'list', '--db-url', url, ...workdir],
    pending: (status) => parseSupabaseMigrationList(status).pending,
    env,
    describeDown: `supabase has no down migrations: ${NO_DOWN}`,
  };
}

/** `supabase migration list` (a Local | Remote | Time table) → versions applied remotely and pending (local only). */
export function parseSupabaseMigrationList(stdout: string): { applied: string[]; pending: string[] } {
  const applied: string[] = [];
  const pending: string[] = [];
  let header = false;
  for (const line of lines(stdout)) {
    if (!line.includes('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    if (/^local$/i.test(cells[0] ?? '') && /^remote$/i.test(cells[1] ?? '')) {
      header = true;
      continue;
    }
    if (!header || cells.every((c) => /^-*$/.test(c))) continue;
    const [local = '', remote = ''] = cells;
    if (remote) applied.push(remote);
    else if (local) pending.push(local);
  }
  if (!header) throw unreadable('supabase migration list', stdout);
  return { applied, pending };
}
