/**
 * migrate-with-backup: lint, lock, back up (verified), apply, and on failure put the database back
 * (restore from the backup, or run the down files of what this run applied).
 */
import type pg from 'pg';
import { type BackupResult, backup } from '../backup/backup.js';
import { restore } from '../backup/restore.js';
import { ConfigurationError, ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PgClient } from '../postgres/client.js';
import { type PgConnection, connect, withClient } from '../postgres/connection.js';
import type { Store } from '../storage/types.js';
import { spawnTool } from '../util/child.js';
import { Interrupted, interruption, onAbort, throwIfInterrupted } from '../util/signals.js';
import { scrub } from '../redact.js';
import path from 'node:path';
import { type MigrationFile, compareVersions, readMigrations } from './files.js';
import { acquireLock, readHistory, releaseLock } from './history.js';
import { type LintFinding, lintSql } from './lint.js';
import { MigrationFailure, applyMigration, revertMigration } from './sql-runner.js';
import type { MigrateConfig, OnFailure } from './config.js';
import { type ExternalTool, toolPlan } from './tools.js';

export type Outcome =
  'applied' | 'rolled-back' | 'nothing-to-do' | 'dry-run' | 'failed-restored' | 'failed-rolled-back' | 'failed';
export type { OnFailure };

/** What runs the migration, besides the settings of its config (parseMigrateConfig). */
export interface MigrateServices {
  cwd: string;
  /** undefined: no backup (only with on-failure keep). */
  backupTo?: { store: Store; prefix: string };
  /** A verified backup already taken in `backupTo` just before (the deploy checklist): used instead of a new one. */
  existingBackup?: BackupResult;
  appliedBy: string;
  resolveClient(serverMajor: number): Promise<PgClient>;
  tempDir: string;
  logger: Logger;
  /**
   * Aborting (a cancelled run) stops the backup (nothing applied, nothing left), or the migration
   * running (its query cancelled, its tool stopped), which is then handled as a failure: the
   * database is put back per on-failure, and that recovery itself is not cut short. The run then
   * throws an Interrupted error saying what state the database is in.
   */
  signal?: AbortSignal;
  /**
   * Wraps the restore that puts the database back after a failed migration (guide 000 "Database Recovery": stop
   * the app, restore, resume): the checklist suspends the Render service around it, and resumes it whatever happens.
   */
  aroundRestore?<T>(restore: () => Promise<T>): Promise<T>;
}

/** The migration's settings come from its config, without the parts the action turns into services. */
export type MigrateOptions = Omit<MigrateConfig, 'backupDestination' | 'allowPlaintextArtifact' | 'pgClient'> &
  MigrateServices;

export interface MigrateResult {
  outcome: Outcome;
  applied: string[];
  /** migrate-to: the migrations whose down SQL ran, newest first. */
  rolledBack?: string[];
  pending: string[];
  backup?: BackupResult;
  lint: LintFinding[];
  error?: string;
  /** How the database was put back, in words. */
  recovery?: string;
  durationSeconds: number;
  backupSeconds?: number;
}

export async function migrate(o: MigrateOptions): Promise<MigrateResult> {
  const result = await (o.tool === 'sql' ? migrateSql(o) : migrateWithTool(o));
  const stop = interruption(o.signal);
  if (!stop) return result;
  const what = result.outcome.startsWith('failed')
    ? `${result.applied.length ? `after applying ${result.applied.join(', ')}` : 'before any migration was applied'}; ${result.recovery}`
    : result.outcome === 'applied'
      ? `every migration was applied (${result.applied.join(', ') || 'by the tool'}) before it took effect`
      : `nothing was applied (${result.outcome})`;
  throw stop.withState(`while migrating ${o.conn.database}: ${what}`);
}

async function migrateSql(o: MigrateOptions): Promise<MigrateResult> {
  const t0 = performance.now();
  const files = await readMigrations(o.migrationsDir, o.rollbackDir);
  const client = await connect(o.conn);
  let locked = false;
  try {
    if (!o.dryRun) {
      locked = await acquireLock(
        client,
        o.waitForLockMs,
        () => o.logger.info('another run holds the migration lock; waiting for it'),
        o.signal,
      ).catch((err: unknown) => {
        throw err instanceof Interrupted
          ? err.withState('nothing was applied (the run was waiting for the migration lock)')
          : err;
      });
      if (!locked)
        throw new ExternalError(
          `another migration run held the lock for longer than wait-for-lock; nothing was applied`,
        );
    }
    if (o.migrateTo !== undefined) return await rollBackTo(o, client, files, t0);
    const pending = pendingMigrations(files, await readHistory(client), o.allowOutOfOrder);
    const lint = lintAll(pending, o);
    const base = { pending: pending.map(label), lint };
    if (pending.length === 0) return { ...base, outcome: 'nothing-to-do', applied: [], durationSeconds: since(t0) };
    if (o.dryRun) return { ...base, outcome: 'dry-run', applied: [], durationSeconds: since(t0) };

    const { taken, backupSeconds } = await backupFirst(o);
    const applied: MigrationFile[] = [];
    const settings = applySettings(o, client);
    // A cancelled run cancels the statement running (from another session); the failure path follows.
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const stopQuery = onAbort(o.signal, () => void cancelQuery(o.conn, pid));
    for (const m of pending) {
      try {
        throwIfInterrupted(o.signal);
        await applyMigration(m, settings);
        applied.push(m);
      } catch (err) {
        stopQuery();
        const failure = err instanceof MigrationFailure ? err : new MigrationFailure(errorMessage(err), m, true);
        o.logger.error(`migration failed: ${failure.message}`);
        const changed = applied.length > 0 || failure.partial || !m.transactional;
        const recovery = await recover(o, { client, applied, failed: m, changed, backup: taken });
        if (locked) await releaseLock(client);
        return {
          ...base,
          outcome: recovery.outcome,
          applied: applied.map(label),
          backup: taken,
          backupSeconds,
          error: failure.message,
          recovery: recovery.text,
          durationSeconds: since(t0),
        };
      }
    }
    stopQuery();
    return {
      ...base,
      outcome: 'applied',
      applied: applied.map(label),
      backup: taken,
      backupSeconds,
      durationSeconds: since(t0),
    };
  } finally {
    if (locked) await releaseLock(client);
    await client.end().catch(() => undefined);
  }
}

/** The verified backup a run takes before it changes anything (or the one the checklist took just before). */
async function backupFirst(o: MigrateOptions): Promise<{ taken?: BackupResult; backupSeconds?: number }> {
  const tb = performance.now();
  const taken = o.existingBackup ?? (o.backupTo ? await takeBackup(o) : undefined);
  return { taken, backupSeconds: o.backupTo ? since(tb) : undefined };
}

/** How the sql tool runs each file (up or down) on the run's session. */
function applySettings(o: MigrateOptions, client: pg.Client) {
  return {
    client,
    lockTimeoutMs: o.lockTimeoutMs,
    statementTimeoutMs: o.statementTimeoutMs,
    appliedBy: o.appliedBy,
    logger: o.logger,
  };
}

/**
 * migrate-to: every applied migration newer than the target, newest first, through its down SQL, behind a verified
 * backup. Each must have its down SQL, or nothing runs. A failing down puts the database back from the backup.
 */
async function rollBackTo(
  o: MigrateOptions,
  client: pg.Client,
  files: MigrationFile[],
  t0: number,
): Promise<MigrateResult> {
  const target = o.migrateTo!;
  const history = await readHistory(client);
  const newer = history
    .filter((h) => compareVersions(h.version, target) > 0)
    .sort((a, b) => compareVersions(b.version, a.version));
  const undo = newer.map((h) => {
    const file = files.find((f) => compareVersions(f.version, h.version) === 0);
    if (!file)
      throw new ConfigurationError(
        `input 'migrate-to': ${h.version}_${h.name} is applied but has no file in migrations-dir, so it cannot be rolled back`,
      );
    if (!file.down)
      throw new ConfigurationError(
        `input 'migrate-to': ${file.display} has no rollback SQL (${file.version}_${file.name}.down.sql beside it, or ${file.version}_${file.name}.sql in rollback-dir); nothing was rolled back`,
      );
    return file;
  });
  const base = { pending: undo.map(label), lint: [] as LintFinding[], applied: [] as string[] };
  if (undo.length === 0) return { ...base, outcome: 'nothing-to-do', rolledBack: [], durationSeconds: since(t0) };
  if (o.dryRun) return { ...base, outcome: 'dry-run', rolledBack: [], durationSeconds: since(t0) };
  const { taken, backupSeconds } = await backupFirst(o);
  const settings = applySettings(o, client);
  const done: MigrationFile[] = [];
  for (const m of undo) {
    try {
      await revertMigration(m, settings);
      done.push(m);
    } catch (err) {
      const message = `rolling back ${m.display} failed: ${errorMessage(err)}`;
      o.logger.error(message);
      const recovery =
        o.onFailure === 'restore' && taken
          ? await restoreFromBackup(o, taken, client)
          : {
              outcome: 'failed' as const,
              text: `the database was left after ${done.map(label).join(', ') || 'no'} rollback; ${restoreHint(taken)}`,
            };
      return {
        ...base,
        outcome: recovery.outcome,
        rolledBack: done.map(label),
        backup: taken,
        backupSeconds,
        error: message,
        recovery: recovery.text,
        durationSeconds: since(t0),
      };
    }
  }
  o.logger.info(`rolled back to ${target}: ${done.map(label).join(', ')}`);
  return {
    ...base,
    outcome: 'rolled-back',
    rolledBack: done.map(label),
    backup: taken,
    backupSeconds,
    durationSeconds: since(t0),
  };
}

/** Cancels the statement a session is running (pg_cancel_backend from a session of its own). */
async function cancelQuery(conn: PgConnection, pid: number): Promise<void> {
  await withClient(conn, (c) => c.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => undefined);
}

function label(m: MigrationFile): string {
  return `${m.version}_${m.name}`;
}

function since(t0: number): number {
  return Math.round((performance.now() - t0) / 100) / 10;
}

/** What still has to run; an edited applied file or (without allow-out-of-order) an older new file is an error. */
export function pendingMigrations(
  files: MigrationFile[],
  history: { version: string; checksum: string; name: string }[],
  allowOutOfOrder: boolean,
): MigrationFile[] {
  const applied = new Map(history.map((h) => [h.version, h]));
  for (const f of files) {
    const h = applied.get(f.version);
    if (h && h.checksum !== f.checksum) {
      throw new ConfigurationError(
        `${f.display} was changed after it was applied (checksum differs from the history table); put it back and add a new migration instead. Nothing was applied.`,
      );
    }
  }
  const newest = history
    .map((h) => h.version)
    .sort(compareVersions)
    .at(-1);
  const pending = files.filter((f) => !applied.has(f.version));
  if (newest !== undefined && !allowOutOfOrder) {
    const older = pending.filter((f) => compareVersions(f.version, newest) < 0);
    if (older.length) {
      throw new ConfigurationError(
        `${older.map((f) => f.display).join(', ')} ${older.length === 1 ? 'is' : 'are'} older than the newest applied migration (${newest}); rename with a newer version or set allow-out-of-order: true. Nothing was applied.`,
      );
    }
  }
  return pending;
}

function lintAll(pending: MigrationFile[], o: MigrateOptions): LintFinding[] {
  if (o.lint === 'off') return [];
  const findings = pending.flatMap((m) => lintSql(m.display, m.sql));
  for (const f of findings) o.logger.warning(f.message);
  if (findings.length && o.lint === 'error' && !o.allowDestructive) {
    throw new ConfigurationError(
      `lint found destructive statements (set allow-destructive: true if they are intended, or lint: warn):\n${findings.map((f) => f.message).join('\n')}`,
    );
  }
  return findings;
}

async function takeBackup(o: MigrateOptions): Promise<BackupResult> {
  o.logger.info(`backing up ${o.conn.display} before migrating`);
  return backup({
    source: { engine: 'postgres', conn: o.conn },
    store: o.backupTo!.store,
    prefix: o.backupTo!.prefix,
    nameTemplate: 'pre-migration-{db}-{timestamp}',
    format: 'custom',
    jobs: 1,
    compression: o.compression,
    encryption: { kind: 'none' },
    verify: 'full',
    resolveClient: o.resolveClient,
    extraArgs: [],
    tempDir: o.tempDir,
    logger: o.logger,
    signal: o.signal,
  }).catch((err: unknown) => {
    if (err instanceof Interrupted)
      throw err.withState(`no migration was applied; the backup before them was stopped ${err.state ?? ''}`.trim());
    throw err;
  });
}

interface RecoveryInput {
  client?: pg.Client;
  applied: MigrationFile[];
  failed?: MigrationFile;
  changed: boolean;
  backup?: BackupResult;
}

async function recover(o: MigrateOptions, r: RecoveryInput): Promise<{ outcome: Outcome; text: string }> {
  if (!r.changed)
    return {
      outcome: 'failed',
      text: 'the failing migration ran in a transaction and was rolled back; the database is as it was',
    };
  if (o.onFailure === 'keep')
    return { outcome: 'failed', text: 'on-failure is keep: the database was left as the failure left it' };
  if (o.onFailure === 'down' && r.client) {
    try {
      const settings = applySettings(o, r.client);
      if (r.failed && !r.failed.transactional && r.failed.down) {
        await revertMigration(r.failed, settings).catch((err) =>
          o.logger.warning(`down of the failed ${r.failed!.display} did not run cleanly: ${errorMessage(err)}`),
        );
      }
      for (const m of [...r.applied].reverse()) await revertMigration(m, settings);
      return {
        outcome: 'failed-rolled-back',
        text: `ran the down files of ${r.applied.map(label).join(', ') || 'nothing'}, newest first`,
      };
    } catch (err) {
      return { outcome: 'failed', text: `the down files failed (${errorMessage(err)}); ${restoreHint(r.backup)}` };
    }
  }
  if (!r.backup)
    return { outcome: 'failed', text: 'no backup was taken; the database was left as the failure left it' };
  return restoreFromBackup(o, r.backup, r.client);
}

async function restoreFromBackup(
  o: MigrateOptions,
  taken: BackupResult,
  client?: pg.Client,
): Promise<{ outcome: Outcome; text: string }> {
  // Our own session holds the lock and a connection to the database being replaced: let go first.
  if (client) {
    await releaseLock(client);
    await client.end().catch(() => undefined);
  }
  const putBack = () =>
    restore({
      backup: {
        store: o.backupTo!.store,
        prefix: o.backupTo!.prefix,
        manifestKey: '',
        archiveKey: o.backupTo!.prefix + taken.manifest.archive,
        manifest: taken.manifest,
      },
      target: o.conn,
      mode: 'clean',
      confirm: o.conn.database,
      preRestore: 'skip',
      jobs: 2,
      keys: { identities: [] },
      drill: false,
      resolveClient: o.resolveClient,
      tempDir: o.tempDir,
      logger: o.logger,
    });
  try {
    const result = await (o.aroundRestore ? o.aroundRestore(putBack) : putBack());
    if (!result.matchesManifest) {
      return {
        outcome: 'failed',
        text: `restored from ${taken.uri} but row counts differ from its manifest: ${result.differences.join('; ')}`,
      };
    }
    return {
      outcome: 'failed-restored',
      text: `restored from ${taken.uri}; every table's row count matches the backup's manifest`,
    };
  } catch (err) {
    return { outcome: 'failed', text: `restoring failed (${errorMessage(err)}); ${restoreHint(taken)}` };
  }
}

function restoreHint(b?: BackupResult): string {
  return b ? `restore by hand from ${b.uri} (db-restore with mode: clean)` : 'no backup was taken';
}

/** knex, alembic, prisma, supabase or a command: back up, run the tool, and on failure restore or run its down. */
async function migrateWithTool(o: MigrateOptions): Promise<MigrateResult> {
  const t0 = performance.now();
  const plan = toolPlan(o.tool as ExternalTool, {
    migrationsDir: path.relative(o.cwd, o.migrationsDir) || '.',
    conn: o.conn,
    command: o.command,
    cwd: o.cwd,
  });
  const secrets = [o.conn.password, o.conn.secretUrl];
  const run = async (args: string[], okCodes = [0], signal?: AbortSignal): Promise<string> => {
    const tool = spawnTool(args[0]!, args.slice(1), { env: plan.env, cwd: o.cwd, secrets, signal });
    let out = '';
    tool.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await tool.done;
    } catch (err) {
      if (!okCodes.includes(tool.child.exitCode ?? -1)) throw err;
    }
    return scrub(out, secrets);
  };
  const log = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => o.logger.info(l));

  if (o.dryRun) {
    const before = plan.snapshot ? await run(plan.snapshot) : '';
    const status = plan.status ? await run(plan.status, plan.statusExitCodes) : '';
    log(status);
    const pending = plan.pending ? plan.pending(status, before) : [];
    return {
      outcome: pending.length || !plan.pending ? 'dry-run' : 'nothing-to-do',
      applied: [],
      pending,
      lint: [],
      durationSeconds: since(t0),
    };
  }
  const tb = performance.now();
  const taken = o.existingBackup ?? (o.backupTo ? await takeBackup(o) : undefined);
  const backupSeconds = o.backupTo ? since(tb) : undefined;
  // After the backup: some tools create their bookkeeping tables when asked for their state (knex).
  const before = plan.snapshot ? await run(plan.snapshot) : '';
  const common = { applied: [] as string[], pending: [] as string[], lint: [], backup: taken, backupSeconds };
  try {
    throwIfInterrupted(o.signal);
    log(await run(plan.up, [0], o.signal));
    return { ...common, outcome: 'applied', durationSeconds: since(t0) };
  } catch (err) {
    const message = errorMessage(err);
    o.logger.error(`migration failed: ${message}`);
    let recovery: { outcome: Outcome; text: string };
    if (o.onFailure === 'down') {
      const after = plan.snapshot ? await run(plan.snapshot).catch(() => before) : '';
      const down = plan.downFor ? plan.downFor(before, after) : plan.down;
      if (!down) {
        recovery = {
          outcome: 'failed-rolled-back',
          text: 'the tool recorded nothing from this run, so there was nothing to run down',
        };
      } else {
        try {
          log(await run(down));
          recovery = { outcome: 'failed-rolled-back', text: `ran ${down.join(' ')}` };
        } catch (downErr) {
          recovery = {
            outcome: 'failed',
            text: `the down command failed (${errorMessage(downErr)}); ${restoreHint(taken)}`,
          };
        }
      }
    } else if (o.onFailure === 'keep' || !taken) {
      recovery = { outcome: 'failed', text: 'the database was left as the failure left it' };
    } else {
      recovery = await restoreFromBackup(o, taken);
    }
    return {
      ...common,
      outcome: recovery.outcome,
      error: message,
      recovery: recovery.text,
      durationSeconds: since(t0),
    };
  }
}
