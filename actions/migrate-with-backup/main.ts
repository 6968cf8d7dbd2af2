import * as core from '@actions/core';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { parseMigrateConfig } from '../../src/migrate/config.js';
import { migrate } from '../../src/migrate/migrate.js';
import { formatMigrateSummary } from '../../src/migrate/summary.js';
import { createFileStore, openOptionalStore } from '../../src/storage/index.js';
import { cancelOnSignals } from '../../src/util/signals.js';
import { type ActionContext, runAction } from '../common/run.js';
import { pgClientResolver } from '../common/pg-client.js';
import { uploadBackupArtifact } from '../common/artifact.js';

await runAction('migrate-with-backup', async (ctx) => {
  try {
    await migrateStep(ctx);
  } catch (err) {
    // outcome is set on every exit: refused when nothing was tried (bad input, lint refusing a destructive
    // statement, no backup taken, nothing changed), failed when something else stopped the run.
    if (!ctx.written('outcome')) ctx.output('outcome', err instanceof ConfigurationError ? 'refused' : 'failed');
    throw err;
  }
});

async function migrateStep(ctx: ActionContext): Promise<void> {
  const cwd = ctx.workspace;
  const config = parseMigrateConfig(ctx.inputs, cwd);
  const { tempDir } = ctx;
  const defaultDir = path.join(tempDir, 'opskit-migration-backups');
  const backupTo = openOptionalStore(
    config.backupDestination,
    { tempDir, logger: ctx.logger },
    () => ({ store: createFileStore(defaultDir), prefix: '' }),
    'backup-destination',
  );

  const cancel = cancelOnSignals(ctx.logger, 'the migration');
  const result = await migrate({
    ...config,
    signal: cancel.signal,
    cwd,
    backupTo,
    appliedBy: ctx.run.actor ? `${ctx.run.actor} (${ctx.run.workflow ?? 'workflow'})` : os.userInfo().username,
    resolveClient: pgClientResolver(config.pgClient, ctx.logger),
    tempDir,
    logger: ctx.logger,
  });

  if (result.backup && config.backupDestination === 'default') {
    await uploadBackupArtifact(defaultDir, result.backup, ctx.logger, {
      allowPlaintext: config.allowPlaintextArtifact,
    });
  }
  ctx.output('outcome', result.outcome);
  ctx.output('applied', JSON.stringify(result.applied));
  ctx.output('rolled-back', result.rolledBack ? JSON.stringify(result.rolledBack) : '');
  ctx.output('pending', JSON.stringify(result.pending));
  ctx.output('backup-uri', result.backup?.uri ?? '');
  await core.summary.addRaw(formatMigrateSummary(result)).write();
  if (result.outcome.startsWith('failed')) {
    throw new ExternalError(`${result.error} (${result.outcome}: ${result.recovery})`);
  }
}
