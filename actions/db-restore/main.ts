import * as core from '@actions/core';
import path from 'node:path';
import { type RestoreConfig, parseRestoreConfig } from '../../src/backup/config.js';
import { assertFresh, backupStatus } from '../../src/backup/freshness.js';
import { type LocatedBackup, locateBackup } from '../../src/backup/locate.js';
import { restoreRdb } from '../../src/backup/restore-rdb.js';
import { restore } from '../../src/backup/restore.js';
import {
  formatBackupStatusSummary,
  formatRdbRestoreSummary,
  formatRestoreSummary,
} from '../../src/backup/restore-summary.js';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { openOptionalStore } from '../../src/storage/index.js';
import { cancelOnSignals } from '../../src/util/signals.js';
import { type ActionContext, runAction } from '../common/run.js';
import { pgClientResolver } from '../common/pg-client.js';

await runAction('db-restore', async (ctx) => {
  for (const id of ctx.inputs.list('decrypt-with', { commas: false })) ctx.secret(id);
  const config = parseRestoreConfig(ctx.inputs);
  const { tempDir } = ctx;
  // Mode clean replaces database-url's database: the backup must be of it (or allow-other-database); mode status
  // with a database-url checks the backups of that database.
  const located = await locateBackup(
    config.source,
    { tempDir, logger: ctx.logger },
    {
      database: config.mode === 'clean' || config.mode === 'status' ? config.target?.database : undefined,
      allowOtherDatabase: config.allowOtherDatabase,
    },
  );
  // Mode status lists the archive; a restore reads it back whole anyway (and says when it is not there).
  const status = await backupStatus(located, { archive: config.mode === 'status' });
  ctx.output('backup-uri', status.uri);
  ctx.output('backup-age-seconds', String(Math.round(status.ageMs / 1000)));
  if (config.mode === 'status') {
    await core.summary.addRaw(formatBackupStatusSummary(status, config.maxAgeMs)).write();
    assertFresh(status, config.maxAgeMs);
    ctx.logger.info(`${status.uri}: made ${status.createdAt.toISOString()}, ${Math.round(status.ageMs / 1000)}s ago`);
    return;
  }
  assertFresh(status, config.maxAgeMs);
  if (located.manifest.engine === 'redis' || config.targetDirectory) {
    await restoreRedis(ctx, config, located);
    return;
  }
  const target = config.target!;
  const preRestore =
    config.mode === 'clean'
      ? openOptionalStore(
          config.preRestoreBackup,
          { tempDir, logger: ctx.logger },
          () => ({ store: located.store, prefix: `${located.prefix}pre-restore/` }),
          'pre-restore-backup',
        )
      : undefined;

  const cancel = cancelOnSignals(ctx.logger, 'the restore');
  const result = await restore({
    backup: located,
    target,
    mode: config.mode,
    targetDatabase: config.targetDatabase,
    confirm: config.confirm,
    preRestore,
    jobs: config.jobs,
    keys: { identities: config.identities, passphrase: config.passphrase },
    drill: config.drill,
    keepPrevious: config.keepPrevious,
    signal: cancel.signal,
    resolveClient: pgClientResolver(config.pgClient, ctx.logger, 'restore'),
    tempDir,
    logger: ctx.logger,
  });

  ctx.output('restored-from', result.restoredFrom);
  ctx.output('database', result.database);
  ctx.output('duration-seconds', String(result.durationSeconds));
  ctx.output('tables', String(result.tables));
  ctx.output('rows', String(result.rows));
  ctx.output('matches-manifest', String(result.matchesManifest));
  await core.summary.addRaw(formatRestoreSummary(result, config.drill)).write();
  if (!result.matchesManifest) {
    throw new ExternalError(
      `the restored database differs from the backup's manifest: ${result.differences.slice(0, 5).join('; ')}`,
    );
  }
});

/** A Redis backup: an RDB file put into a data directory, checked and counted first (restore-rdb.ts). */
async function restoreRedis(ctx: ActionContext, config: RestoreConfig, located: LocatedBackup): Promise<void> {
  if (located.manifest.engine !== 'redis')
    throw new ConfigurationError(
      `input 'target-directory' is for Redis backups; ${located.store.uri(located.archiveKey)} is a PostgreSQL backup (give database-url and target-database)`,
    );
  if (!config.targetDirectory)
    throw new ConfigurationError(
      `input 'target-directory' is required to restore the Redis backup ${located.store.uri(located.archiveKey)}: the Redis data directory to put dump.rdb in (with Redis stopped), or a new one`,
    );
  const cancel = cancelOnSignals(ctx.logger, 'the restore');
  const result = await restoreRdb({
    backup: located,
    directory: path.resolve(ctx.workspace, config.targetDirectory),
    keys: { identities: config.identities, passphrase: config.passphrase },
    tempDir: ctx.tempDir,
    signal: cancel.signal,
    logger: ctx.logger,
  });
  const keys = Object.values(result.keys ?? {});
  ctx.output('restored-from', result.restoredFrom);
  ctx.output('database', result.file);
  ctx.output('duration-seconds', String(result.durationSeconds));
  ctx.output('tables', String(keys.length));
  ctx.output('rows', String(keys.reduce((a, b) => a + b, 0)));
  ctx.output('matches-manifest', String(result.matchesManifest));
  await core.summary.addRaw(formatRdbRestoreSummary(result)).write();
  if (!result.matchesManifest)
    throw new ExternalError(
      `the RDB's keys differ from the backup's manifest (${result.differences.join('; ')}); nothing was written to ${config.targetDirectory}`,
    );
}
