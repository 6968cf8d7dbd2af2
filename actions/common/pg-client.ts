/**
 * The pg-client resolver for actions: what is installed, else (on GitHub-hosted runners only, where
 * the machine is throwaway) postgresql-client-<major> from apt.postgresql.org, kept with @actions/cache.
 * On self-hosted runners opskit never adds apt sources by itself: the error says what to install.
 */
import * as cache from '@actions/cache';
import type { Logger } from '../../src/logger.js';
import { type PgClient, type PgClientSpec, defaultRunner, resolvePgClient } from '../../src/postgres/client.js';
import { type CacheLike, createInstaller, detectOs } from '../../src/postgres/install.js';

const actionsCache: CacheLike = {
  restore: (paths, key) => cache.restoreCache(paths, key),
  save: async (paths, key) => {
    await cache.saveCache(paths, key);
  },
};

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
          cache: cache.isFeatureAvailable() ? actionsCache : undefined,
        })
      : undefined;
    return resolvePgClient(spec, major, { logger, installer, purpose });
  };
}
