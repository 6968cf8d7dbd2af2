import * as core from '@actions/core';
import { backup } from '../../src/backup/backup.js';
import { parseBackupConfig } from '../../src/backup/config.js';
import { formatBackupSummary } from '../../src/backup/summary.js';
import { openStore } from '../../src/storage/index.js';
import { cancelOnSignals } from '../../src/util/signals.js';
import { runAction } from '../common/run.js';
import { pgClientResolver } from '../common/pg-client.js';

await runAction('db-backup', async (ctx) => {
  const config = parseBackupConfig(ctx.inputs);
  const { tempDir } = ctx;
  const { store, prefix } = openStore(config.destination, { tempDir, logger: ctx.logger });

  const cancel = cancelOnSignals(ctx.logger, 'the backup');
  const result = await backup({
    ...config,
    signal: cancel.signal,
    store,
    prefix,
    resolveClient: pgClientResolver(config.pgClient, ctx.logger),
    tempDir,
    logger: ctx.logger,
  });

  ctx.output('uri', result.uri);
  ctx.output('size-bytes', String(result.manifest.sizeBytes));
  ctx.output('sha256', result.manifest.sha256);
  ctx.output('duration-seconds', String(result.manifest.durationSeconds));
  ctx.output('manifest', result.manifestUri);
  await core.summary.addRaw(formatBackupSummary(result)).write();
});
