/**
 * The deploy checklist in one call (the root action and `npm run demo` both use it): backup,
 * migrate, deploy, smoke test; on failure, roll back and open or update the incident issue.
 * Every step is the library code its own action runs.
 */
import { type BackupResult, backup } from '../backup/backup.js';
import type { Compression } from '../backup/compression.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { type MigrateOptions, type MigrateResult, migrate } from '../migrate/migrate.js';
import type { PgClient } from '../postgres/client.js';
import type { PgConnection } from '../postgres/connection.js';
import type { RenderClient } from '../render/client.js';
import { type RenderResult, runRender } from '../render/deploy.js';
import { runSmokeTests } from '../smoke/run.js';
import type { SmokeOptions, SmokeReport } from '../smoke/types.js';
import type { Store } from '../storage/types.js';
import { type ChecklistItem, type ItemId, TITLES } from './types.js';

export interface ChecklistOptions {
  logger: Logger;
  database?: {
    conn: PgConnection;
    backupTo: { store: Store; prefix: string };
    compression: Compression;
    resolveClient(serverMajor: number): Promise<PgClient>;
    tempDir: string;
    /** Omit to skip migrations. */
    migrations?: Omit<
      MigrateOptions,
      'conn' | 'backupTo' | 'existingBackup' | 'compression' | 'resolveClient' | 'tempDir' | 'logger'
    >;
    onProgress?(rawBytes: number): void;
  };
  deploy?: { client: RenderClient; serviceId: string; commit?: string; imageUrl?: string; timeoutMs: number };
  smoke?: SmokeOptions;
  /** Opens or updates the incident issue for a failed run; returns its URL. */
  incident?(failure: { step: ItemId; message: string; items: ChecklistItem[] }): Promise<{ url: string } | undefined>;
  /** Told when each item starts and ends (the demo's progress). */
  onItem?(item: ChecklistItem, phase: 'start' | 'end'): void;
}

export interface ChecklistResult {
  ok: boolean;
  items: ChecklistItem[];
  failedStep?: ItemId;
  failure?: string;
  backup?: BackupResult;
  migrate?: MigrateResult;
  deploy?: RenderResult;
  smoke?: SmokeReport;
  incidentUrl?: string;
  durationSeconds: number;
}

export async function runChecklist(o: ChecklistOptions): Promise<ChecklistResult> {
  const t0 = performance.now();
  const items: ChecklistItem[] = (['backup', 'migrate', 'deploy', 'smoke'] as const).map((id) => ({
    id,
    title: TITLES[id],
    state: 'not-run',
  }));
  const item = (id: ItemId) => items.find((i) => i.id === id)!;
  const result: ChecklistResult = { ok: true, items, durationSeconds: 0 };

  const step = async (id: ItemId, enabled: boolean, fn: (it: ChecklistItem) => Promise<boolean>): Promise<boolean> => {
    const it = item(id);
    if (!enabled) {
      it.state = 'skipped';
      return true;
    }
    o.onItem?.(it, 'start');
    const ts = performance.now();
    let ok: boolean;
    try {
      ok = await fn(it);
    } catch (err) {
      it.detail = errorMessage(err);
      ok = false;
    }
    it.seconds = Math.round((performance.now() - ts) / 100) / 10;
    it.state = ok ? 'passed' : 'failed';
    o.onItem?.(it, 'end');
    if (!ok) {
      result.ok = false;
      result.failedStep = id;
      result.failure = it.detail;
    }
    return ok;
  };

  const db = o.database;
  const good =
    (await step('backup', Boolean(db), async (it) => {
      result.backup = await backup({
        source: { engine: 'postgres', conn: db!.conn },
        store: db!.backupTo.store,
        prefix: db!.backupTo.prefix,
        nameTemplate: 'pre-deploy-{db}-{timestamp}',
        format: 'custom',
        jobs: 1,
        compression: db!.compression,
        encryption: { kind: 'none' },
        verify: 'full',
        resolveClient: db!.resolveClient,
        extraArgs: [],
        tempDir: db!.tempDir,
        logger: o.logger,
        onProgress: db!.onProgress,
      });
      it.detail = `${result.backup.uri} (${result.backup.manifest.sizeBytes} bytes, verified)`;
      return true;
    })) &&
    (await step('migrate', Boolean(db?.migrations), async (it) => {
      result.migrate = await migrate({
        ...db!.migrations!,
        conn: db!.conn,
        backupTo: db!.backupTo,
        existingBackup: result.backup,
        compression: db!.compression,
        resolveClient: db!.resolveClient,
        tempDir: db!.tempDir,
        logger: o.logger,
      });
      const m = result.migrate;
      it.detail = m.outcome.startsWith('failed')
        ? `${m.outcome}: ${m.error} (${m.recovery})`
        : `${m.outcome}: ${m.applied.join(', ') || 'nothing pending'}`;
      return !m.outcome.startsWith('failed');
    })) &&
    (await step('deploy', Boolean(o.deploy), async (it) => {
      result.deploy = await runRender({
        client: o.deploy!.client,
        service: { id: o.deploy!.serviceId },
        action: 'deploy',
        commit: o.deploy!.commit,
        imageUrl: o.deploy!.imageUrl,
        clearCache: false,
        wait: true,
        timeoutMs: o.deploy!.timeoutMs,
        cancelOnTimeout: true,
        rollbackOnFailure: true,
        resumeIfSuspended: false,
        supersededIsFailure: false,
        logger: o.logger,
      });
      it.detail = result.deploy.message;
      if (result.deploy.service.dashboardUrl && result.deploy.deployId) {
        it.link = {
          label: result.deploy.deployId,
          url: `${result.deploy.service.dashboardUrl.replace(/\/$/, '')}/deploys/${result.deploy.deployId}`,
        };
      }
      if (result.deploy.rolledBack)
        items.push({ id: 'rollback', title: TITLES.rollback, state: 'passed', detail: result.deploy.message });
      return result.deploy.ok;
    })) &&
    (await step('smoke', Boolean(o.smoke), async (it) => {
      result.smoke = await runSmokeTests(o.smoke!, o.logger);
      const failed = result.smoke.checks.filter((c) => !c.passed);
      it.detail = failed.length
        ? failed.map((c) => `${c.name}: ${c.reason}`).join('; ')
        : `${result.smoke.checks.length} checks healthy`;
      return result.smoke.passed;
    }));

  if (!good) {
    if (result.failedStep === 'smoke' && result.deploy?.previousDeployId && o.deploy)
      await rollbackApp(o, result, items);
    if (o.incident) {
      const entry: ChecklistItem = { id: 'incident', title: TITLES.incident, state: 'not-run' };
      items.push(entry);
      const ts = performance.now();
      try {
        const issue = await o.incident({ step: result.failedStep!, message: result.failure ?? 'failed', items });
        if (issue) {
          result.incidentUrl = issue.url;
          entry.link = { label: 'incident issue', url: issue.url };
        }
        entry.state = 'passed';
      } catch (err) {
        entry.state = 'failed';
        entry.detail = errorMessage(err);
      }
      entry.seconds = Math.round((performance.now() - ts) / 100) / 10;
    }
  }
  result.durationSeconds = Math.round((performance.now() - t0) / 100) / 10;
  return result;
}

/** The smoke test failed after a successful deploy: put the previous deploy back. */
async function rollbackApp(o: ChecklistOptions, result: ChecklistResult, items: ChecklistItem[]): Promise<void> {
  const entry: ChecklistItem = { id: 'rollback', title: TITLES.rollback, state: 'not-run' };
  items.push(entry);
  o.onItem?.(entry, 'start');
  const ts = performance.now();
  try {
    const rb = await runRender({
      client: o.deploy!.client,
      service: { id: o.deploy!.serviceId },
      action: 'rollback',
      deployId: result.deploy!.previousDeployId,
      clearCache: false,
      wait: true,
      timeoutMs: o.deploy!.timeoutMs,
      cancelOnTimeout: false,
      rollbackOnFailure: false,
      resumeIfSuspended: false,
      supersededIsFailure: false,
      logger: o.logger,
    });
    entry.state = rb.ok ? 'passed' : 'failed';
    entry.detail = rb.message;
  } catch (err) {
    entry.state = 'failed';
    entry.detail = errorMessage(err);
  }
  entry.seconds = Math.round((performance.now() - ts) / 100) / 10;
  o.onItem?.(entry, 'end');
}
