/**
 * The deploy checklist in one call (the root action and `npm run demo` both use it): backup,
 * migrate, deploy, (blue-green switch,) smoke test; on failure, move traffic back, roll back and open or
 * update the incident issue. Every step is the library code its own action runs.
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
import { runSwitch, type SwitchDeps } from '../switch/run.js';
import { describeShares } from '../switch/shares.js';
import type { SwitchOptions, SwitchResult } from '../switch/types.js';
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
    onProgress?(storedBytes: number): void;
  };
  deploy?: { client: RenderClient; serviceId: string; commit?: string; imageUrl?: string; timeoutMs: number };
  /**
   * Blue-green (the blue-green-switch library): after the deploy, traffic moves to the idle colour; when the
   * smoke test fails, it moves back to the colour it came from. Omit for no switch (no item for it).
   */
  switch?: { options: Omit<SwitchOptions, 'action'>; deps: SwitchDeps };
  smoke?: SmokeOptions;
  /** Opens or updates the incident issue for a failed run; returns its URL. */
  incident?(failure: { step: ItemId; message: string; items: ChecklistItem[] }): Promise<{ url: string } | undefined>;
  /** Told when each item starts and ends (the demo's progress). */
  onItem?(item: ChecklistItem, phase: 'start' | 'end'): void;
  /**
   * A cancelled run (SIGINT/SIGTERM): the backup stops and leaves nothing; a migration running is cancelled and the
   * database put back from the backup, as for a failed migration.
   */
  signal?: AbortSignal;
}

export interface ChecklistResult {
  ok: boolean;
  items: ChecklistItem[];
  failedStep?: ItemId;
  failure?: string;
  backup?: BackupResult;
  migrate?: MigrateResult;
  deploy?: RenderResult;
  switch?: SwitchResult;
  /** The switch back to the colour before, after a failed smoke test. */
  switchBack?: SwitchResult;
  smoke?: SmokeReport;
  incidentUrl?: string;
  durationSeconds: number;
}

export async function runChecklist(o: ChecklistOptions): Promise<ChecklistResult> {
  const t0 = performance.now();
  const ids: ItemId[] = ['backup', 'migrate', 'deploy', ...(o.switch ? (['switch'] as const) : []), 'smoke'];
  const items: ChecklistItem[] = ids.map((id) => ({
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
        signal: o.signal,
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
        signal: o.signal,
      });
      const m = result.migrate;
      it.detail = m.outcome.startsWith('failed')
        ? `${m.outcome}: ${m.error} (${m.recovery})`
        : `${m.outcome}: ${m.applied.join(', ') || 'nothing pending'}`;
      return !m.outcome.startsWith('failed');
    })) &&
    (await step('deploy', Boolean(o.deploy), async (it) => {
      result.deploy = await runRender({
        ...renderCall(o),
        action: 'deploy',
        commit: o.deploy!.commit,
        imageUrl: o.deploy!.imageUrl,
        cancelOnTimeout: true,
        rollbackOnFailure: true,
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
    // No item at all without a switch (the root action's checklist has none).
    (!o.switch ||
      (await step('switch', true, async (it) => {
        result.switch = await runSwitch({ ...o.switch!.options, action: 'switch' }, o.switch!.deps);
        it.detail = describeSwitch(result.switch);
        return result.switch.ok;
      }))) &&
    (await step('smoke', Boolean(o.smoke), async (it) => {
      result.smoke = await runSmokeTests(o.smoke!, o.logger);
      const failed = result.smoke.checks.filter((c) => !c.passed);
      it.detail = failed.length
        ? failed.map((c) => `${c.name}: ${c.reason}`).join('; ')
        : `${result.smoke.checks.length} checks healthy`;
      return result.smoke.passed;
    }));

  if (!good) {
    if (result.failedStep === 'smoke' && result.switch?.ok && !result.switch.unchanged)
      await recover(o, items, 'switch-back', async (entry) => {
        result.switchBack = await runSwitch({ ...o.switch!.options, action: 'rollback', to: 'idle' }, o.switch!.deps);
        entry.detail = describeSwitch(result.switchBack);
        return result.switchBack.ok;
      });
    if (
      (result.failedStep === 'smoke' || result.failedStep === 'switch') &&
      result.deploy?.previousDeployId &&
      o.deploy
    )
      await recover(o, items, 'rollback', (entry) => rollbackApp(o, result, entry));
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

/** A recovery item after a failed step (switch back, roll back): told to `onItem`, timed, never throws. */
async function recover(
  o: ChecklistOptions,
  items: ChecklistItem[],
  id: ItemId,
  fn: (entry: ChecklistItem) => Promise<boolean>,
): Promise<void> {
  const entry: ChecklistItem = { id, title: TITLES[id], state: 'not-run' };
  items.push(entry);
  o.onItem?.(entry, 'start');
  const ts = performance.now();
  try {
    entry.state = (await fn(entry)) ? 'passed' : 'failed';
  } catch (err) {
    entry.state = 'failed';
    entry.detail = errorMessage(err);
  }
  entry.seconds = Math.round((performance.now() - ts) / 100) / 10;
  o.onItem?.(entry, 'end');
}

/** The smoke test (or the switch) failed after a successful deploy: put the previous deploy back. */
async function rollbackApp(o: ChecklistOptions, result: ChecklistResult, entry: ChecklistItem): Promise<boolean> {
  const rb = await runRender({
    ...renderCall(o),
    action: 'rollback',
    deployId: result.deploy!.previousDeployId,
    cancelOnTimeout: false,
    rollbackOnFailure: false,
  });
  entry.detail = rb.message;
  return rb.ok;
}

/** What the checklist's deploy and rollback share: the service, waiting for the outcome, nothing else changed. */
function renderCall(o: ChecklistOptions) {
  return {
    client: o.deploy!.client,
    service: { id: o.deploy!.serviceId },
    clearCache: false,
    wait: true,
    timeoutMs: o.deploy!.timeoutMs,
    resumeIfSuspended: false,
    supersededIsFailure: false,
    logger: o.logger,
  };
}

/** `traffic on green 100% (was blue 100%)`, or why it failed, which says where traffic is now. */
function describeSwitch(r: SwitchResult): string {
  if (r.error !== undefined) return errorMessage(r.error);
  if (r.unchanged) return `${r.to} already had all traffic`;
  const was = r.before ? ` (was ${describeShares(r.before.shares)})` : '';
  return `traffic on ${r.now ? describeShares(r.now.shares) : r.to}${was}`;
}
