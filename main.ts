/** The root action: the whole deploy checklist as one step (see action.yml). */
import * as core from '@actions/core';
import os from 'node:os';
import path from 'node:path';
import { pgClientResolver } from './actions/common/pg-client.js';
import { runAction } from './actions/common/run.js';
import { parseChecklistConfig } from './src/checklist/config.js';
import { checklistIncident } from './src/checklist/incident.js';
import { runChecklist } from './src/checklist/run.js';
import { suspendedDuring } from './src/checklist/stop-app.js';
import { renderChecklistSummary } from './src/checklist/summary.js';
import { ExternalError } from './src/errors.js';
import { RenderClient } from './src/render/client.js';
import { createFileStore, parseDestination } from './src/storage/index.js';
import { cancelOnSignals } from './src/util/signals.js';

await runAction('checklist', async (ctx) => {
  const cwd = ctx.workspace;
  const config = parseChecklistConfig(ctx.inputs, cwd);
  for (const s of config.smoke?.secrets ?? []) ctx.secret(s);
  const { tempDir } = ctx;
  const db = config.database;
  const { run } = ctx;

  const renderClient =
    config.render &&
    new RenderClient({ baseUrl: config.render.apiUrl, apiKey: config.render.apiKey, logger: ctx.logger });

  // A cancelled job gets SIGINT, then SIGTERM: the backup stops cleanly, a migration is put back.
  const cancel = cancelOnSignals(ctx.logger, 'the deploy checklist');
  const result = await runChecklist({
    logger: ctx.logger,
    signal: cancel.signal,
    database: db && {
      conn: db.conn,
      backupTo: db.backupDestination
        ? parseDestination('backup-destination', db.backupDestination, {}, { tempDir })
        : { store: createFileStore(path.join(tempDir, 'opskit-backups')), prefix: '' },
      compression: db.compression,
      resolveClient: pgClientResolver(db.pgClient, ctx.logger),
      tempDir,
      migrations: db.migrationsDir
        ? {
            tool: 'sql',
            migrationsDir: db.migrationsDir,
            cwd,
            onFailure: 'restore',
            dryRun: false,
            lint: 'error',
            allowDestructive: db.allowDestructive,
            allowOutOfOrder: false,
            lockTimeoutMs: db.lockTimeoutMs,
            waitForLockMs: 600_000,
            appliedBy: process.env.GITHUB_ACTOR ?? os.userInfo().username,
            aroundRestore:
              config.render && db.stopAppDuringRestore
                ? suspendedDuring(renderClient!, config.render.serviceId, ctx.logger)
                : undefined,
          }
        : undefined,
    },
    deploy: config.render && {
      client: renderClient!,
      serviceId: config.render.serviceId,
      commit: config.render.commit,
      timeoutMs: config.render.timeoutMs,
    },
    smoke: config.smoke,
    incident:
      config.github && run.repository
        ? checklistIncident({
            token: config.github.token,
            run,
            environment: config.environment,
            severity: config.github.severity,
            slackWebhookUrl: config.github.slackWebhookUrl,
            logger: ctx.logger,
            secrets: [...ctx.secrets],
          })
        : undefined,
  });

  ctx.output('outcome', result.ok ? 'passed' : 'failed');
  ctx.output('failed-step', result.failedStep ?? '');
  ctx.output('backup-uri', result.backup?.uri ?? '');
  ctx.output('deploy-id', result.deploy?.deployId ?? '');
  ctx.output('incident-issue-url', result.incidentUrl ?? '');
  await core.summary.addRaw(renderChecklistSummary(result)).write();
  if (!result.ok) throw new ExternalError(`the deploy checklist failed at ${result.failedStep}: ${result.failure}`);
});
