/**
 * The deploy checklist's policy in one place: a parsed ChecklistConfig (the root action's inputs) and the run's
 * surroundings → the options runChecklist takes. The root action and `npm run demo` both build their checklist here,
 * so both back up, migrate, deploy, smoke-test and report the same way.
 */
import path from 'node:path';
import type { RunContext } from '../github/context.js';
import type { Logger } from '../logger.js';
import type { PgClient, PgClientSpec } from '../postgres/client.js';
import { RenderClient } from '../render/client.js';
import { openOptionalStore } from '../storage/destination.js';
import { createFileStore } from '../storage/file.js';
import type { ChecklistConfig } from './config.js';
import { checklistIncident } from './incident.js';
import type { ChecklistOptions } from './run.js';
import { suspendedDuring } from './stop-app.js';

/** What the checklist needs from where it runs (a runner, the demo): nothing in it is a policy. */
export interface ChecklistSurroundings {
  logger: Logger;
  /** Scratch space; the default backup destination is a directory in it. */
  tempDir: string;
  /** Where migrations-dir was resolved (the workspace). */
  cwd: string;
  /** Who applied the migrations (the history table's applied_by). */
  appliedBy: string;
  /** The pg_dump/pg_restore finder for a pg-client spec (an action may install one; the demo only finds). */
  pgClients(spec: PgClientSpec): (serverMajor: number) => Promise<PgClient>;
  /** The workflow run: with a repository and github-token, a failed checklist opens or updates an incident issue. */
  run: RunContext;
  /** Values never to show in the incident issue or its Slack message. */
  secrets: readonly string[];
  /** A cancelled run (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** A blue-green switch after the deploy (the demo, with nginx): see ChecklistOptions.switch. */
  switch?: ChecklistOptions['switch'];
  onItem?: ChecklistOptions['onItem'];
  onProgress?(storedBytes: number): void;
}

/** How long a migration waits for another run's migration lock (migrate-with-backup's wait-for-lock default). */
export const MIGRATION_LOCK_WAIT_MS = 600_000;

export function checklistSteps(config: ChecklistConfig, s: ChecklistSurroundings): ChecklistOptions {
  const { logger, tempDir } = s;
  const db = config.database;
  const render =
    config.render && new RenderClient({ baseUrl: config.render.apiUrl, apiKey: config.render.apiKey, logger });
  const resolveClient = db && s.pgClients(db.pgClient);
  return {
    logger,
    signal: s.signal,
    database: db && {
      conn: db.conn,
      backupTo: openOptionalStore(
        db.backupDestination,
        { tempDir, logger },
        () => ({ store: createFileStore(path.join(tempDir, 'opskit-backups')), prefix: '' }),
        'backup-destination',
      )!,
      compression: db.compression,
      resolveClient: resolveClient!,
      tempDir,
      onProgress: s.onProgress,
      migrations: db.migrationsDir
        ? {
            tool: 'sql',
            migrationsDir: db.migrationsDir,
            cwd: s.cwd,
            // A failed migration is put back from the backup just taken, with the app stopped when it can be.
            onFailure: 'restore',
            dryRun: false,
            lint: 'error',
            allowDestructive: db.allowDestructive,
            allowOutOfOrder: false,
            lockTimeoutMs: db.lockTimeoutMs,
            waitForLockMs: MIGRATION_LOCK_WAIT_MS,
            appliedBy: s.appliedBy,
            aroundRestore:
              render && db.stopAppDuringRestore ? suspendedDuring(render, config.render!.serviceId, logger) : undefined,
          }
        : undefined,
    },
    deploy: config.render && {
      client: render!,
      serviceId: config.render.serviceId,
      commit: config.render.commit,
      timeoutMs: config.render.timeoutMs,
    },
    switch: s.switch,
    smoke: config.smoke,
    incident:
      config.github && s.run.repository
        ? checklistIncident({
            token: config.github.token,
            run: s.run,
            environment: config.environment,
            severity: config.github.severity,
            slackWebhookUrl: config.github.slackWebhookUrl,
            logger,
            secrets: [...s.secrets],
          })
        : undefined,
    onItem: s.onItem,
  };
}
