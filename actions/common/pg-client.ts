/**
 * The pg-client resolver for actions: what is installed, else (on GitHub-hosted runners only, where
 * the machine is throwaway) postgresql-client-<major> from apt.postgresql.org, kept with @actions/cache.
 * On self-hosted runners opskit never adds apt sources by itself: the error says what to install.
 */
import type { Logger } from '../../src/logger.js';
import { type PgClient, type PgClientSpec, defaultRunner, resolvePgClient } from '../../src/postgres/client.js';
import { type CacheLike, createInstaller, detectOs } from '../../src/postgres/install.js';

/** @actions/cache (and the Azure SDK under it) loads only when a client must be installed: start-up stays fast. */
async function actionsCache(): Promise<CacheLike | undefined> {
  const cache = await import('@actions/cache');
  if (!cache.isFeatureAvailable()) return undefined;
  return {
    restore: (paths, key) => cache.restoreCache(paths, key),
    save: async (paths, key) => {
      await cache.saveCache(paths, key);
    },
  };
}

export function pgClientResolver(
  spec: PgClientSpec,
  logger: Logger,
  purpose: 'dump' | 'restore' = 'dump',
): (major: number) => Promise<PgClient> {
  return async (major) => {
    const hosted = process.env.RUNNER_ENVIRONMENT === 'github-hosted' && process.platform === 'linux';
    const os = hosted ? await detectOs(defaultRunner).catch(() => undefined) : undefined;
    const installer = os
      ? createInstaller({
          run: defaultRunner,
          os,
          logger,
          cache: await actionsCache(),
        })
      : undefined;
    return resolvePgClient(spec, major, { logger, installer, purpose });
  };
}
