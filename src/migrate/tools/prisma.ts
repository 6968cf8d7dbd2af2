/**
 * prisma (`tool: prisma`): its plan and a parser of `prisma migrate status`.
 *
 * `npx --no-install prisma migrate deploy`, status `prisma migrate status` (exits 1 when migrations
 * are pending, which still is an answer). Prisma has no down migrations. Its schema (or prisma.config.ts)
 * names `env("DATABASE_URL")`. When `migrations-dir` is given, the schema.prisma beside it is passed as
 * `--schema` (prisma keeps migrations next to the schema).
 */
import path from 'node:path';
import { ConfigurationError } from '../../errors.js';
import { lines, unreadable } from './output.js';
import { type ToolPlan, type ToolPlanOptions, NO_DOWN, NPX, isFile, pathArg } from './plan.js';

export function prismaPlan(o: ToolPlanOptions, dir: string, given: boolean, env: Record<string, string>): ToolPlan {
  let schema: string[] = [];
  if (given) {
    const file = path.join(path.dirname(dir), 'schema.prisma');
    if (!isFile(path.resolve(o.cwd, file))) {
      throw new ConfigurationError(
        `input 'migrations-dir': prisma keeps its migrations beside its schema, and there is no ${file}; ` +
          'leave migrations-dir unset to let prisma find its schema (prisma/schema.prisma or prisma.config.ts)',
      );
    }
    schema = ['--schema', pathArg(file)];
  }
  const prisma = (...args: string[]) => [...NPX, 'prisma', 'migrate', ...args, ...schema];
  return {
    tool: 'prisma',
    up: prisma('deploy'),
    status: prisma('status'),
    statusExitCodes: [0, 1],
    pending: (status) => parsePrismaStatus(status).pending,
    env,
    describeDown: `prisma has no down migrations (prisma migrate deploy only goes forward): ${NO_DOWN}`,
  };
}

/** `prisma migrate status` → pending migration names; `upToDate` when prisma says so. */
export function parsePrismaStatus(stdout: string): { pending: string[]; upToDate: boolean } {
  const all = lines(stdout);
  if (all.some((l) => /^Database schema is up to date/i.test(l))) return { pending: [], upToDate: true };
  const start = all.findIndex((l) => /^Following migrations? ha(?:ve|s) not yet been applied:?/i.test(l));
  if (start < 0) throw unreadable('prisma migrate status', stdout);
  const pending: string[] = [];
  for (const line of all.slice(start + 1)) {
    if (!line) {
      if (pending.length) break;
      continue;
    }
    if (/^To apply migrations/i.test(line)) break;
    pending.push(line);
  }
  return { pending, upToDate: false };
}
