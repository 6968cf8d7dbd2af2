/**
 * db-restore: verify the archive first (sha256 against the manifest, every block read), then
 * restore into a new database (default), as a drill, or (clean) into a database beside the target
 * that replaces it only once verified: `<db>__opskit_restore` is restored, its row counts checked
 * against the manifest, a pre-restore backup of the target taken (when it holds anything; with
 * confirm), the target's database-level settings copied, and then both renames happen in one
 * transaction (target → `<db>__opskit_previous`, restore → target). Until that transaction the
 * target is untouched, whatever fails or whichever signal arrives.
 */
import { ConfigurationError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  copyDatabaseSettings,
  createDatabaseLike,
  databaseContent,
  databaseProperties,
  describeContent,
  lockCleanRestore,
  recoverInterruptedSwap,
  sideDatabase,
  swapDatabases,
} from '../postgres/clean.js';
import type { PgClient } from '../postgres/client.js';
import { type PgConnection, withClient } from '../postgres/connection.js';
import type { DumpFormat } from '../postgres/dump.js';
import { databaseExists, rowCountsParallel } from '../postgres/inspect.js';
import { adminClient, createDatabase, dropDatabase, restoreArchive } from '../postgres/restore.js';
import { dropAbandonedTempDatabases, holdTempDatabase } from '../postgres/temp-databases.js';
import type { Store } from '../storage/types.js';
import { Interrupted, interruption, throwIfInterrupted } from '../util/signals.js';
import { type BackupResult, backup, compareCounts } from './backup.js';
import { type DecryptionKeys, type Encryption, type EncryptionRecord, fingerprint } from './encryption.js';
import type { LocatedBackup } from './locate.js';
import { materializeArchive } from './materialize.js';
import { compactTimestamp } from './names.js';

export type RestoreMode = 'new-database' | 'clean';

export interface RestoreOptions {
  backup: LocatedBackup;
  /** The server to restore to; in clean mode, its database is the one replaced. */
  target: PgConnection;
  mode: RestoreMode;
  targetDatabase?: string;
  confirm?: string;
  /**
   * clean mode: where the pre-restore backup goes (undefined: none, allowed only when the target is
   * empty; 'skip': none, for callers putting back a backup they just took, like migrate-with-backup).
   */
  preRestore?: { store: Store; prefix: string } | 'skip';
  jobs: number;
  keys: DecryptionKeys;
  drill: boolean;
  resolveClient(archiveMajor: number): Promise<PgClient>;
  tempDir: string;
  logger: Logger;
  /** clean mode: keep `<db>__opskit_previous` (the database replaced) instead of dropping it after the swap. */
  keepPrevious?: boolean;
  /** Aborting stops the restore; before the swap the target is untouched and every temp database dropped. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  restoredFrom: string;
  database: string;
  durationSeconds: number;
  /** Seconds spent restoring (after the archive was read back and verified). */
  restoreSeconds: number;
  tables: number;
  rows: number;
  /** Tables whose rows were counted in the restored database (the others': from the archive's COPY data). */
  countedInDatabase: number;
  matchesManifest: boolean;
  differences: string[];
  preRestoreBackup?: BackupResult;
  dropped: boolean;
  /** clean mode, once swapped: the name the replaced database got (none when there was none), and whether it was kept. */
  swap?: { previous?: string; keptPrevious: boolean };
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const m = o.backup.manifest;
  const from = o.backup.store.uri(o.backup.archiveKey);
  if (m.engine !== 'postgres') {
    throw new ConfigurationError(
      `source: ${from} is a ${m.engine} backup; db-restore restores PostgreSQL backups (load an RDB by copying it into the Redis data directory)`,
    );
  }
  const format = m.format as DumpFormat;
  const clean = o.mode === 'clean' && !o.drill;
  const name = o.drill
    ? `opskit_drill_${compactTimestamp(new Date()).toLowerCase()}`
    : clean
      ? o.target.database
      : o.targetDatabase || `${m.database}_restored_${compactTimestamp(new Date()).toLowerCase()}`;
  // clean: the restore goes into a database beside the target, which is swapped in once verified.
  const side = clean ? sideDatabase(name, 'restore') : name;
  const previous = sideDatabase(name, 'previous');

  // Refuse what we can refuse before reading anything.
  const admin = await adminClient(o.target, [name, side, previous]);
  try {
    if (clean) {
      await lockCleanRestore(admin, name);
      await recoverInterruptedSwap(admin, name, o.logger);
    }
    // Temp databases a killed run left (temp-databases.ts: only those provably abandoned); a drill's own is
    // held under its lock from before it is made.
    await dropAbandonedTempDatabases(admin, o.logger);
    if (o.drill) await holdTempDatabase(admin, name);
    const exists = await databaseExists(admin, name);
    if (o.mode === 'new-database' && exists) {
      throw new ConfigurationError(
        `input 'target-database': database '${name}' already exists; choose a new name, or use mode: clean to replace it`,
      );
    }
    let holds = '';
    if (clean && exists) {
      holds = describeContent(await withClient(o.target, (c) => databaseContent(c)));
      if (holds && o.confirm !== name) {
        throw new ConfigurationError(
          `input 'confirm': mode clean replaces database '${name}', which holds ${holds}; set confirm to '${name}' to go ahead`,
        );
      }
      if (holds && !o.preRestore)
        throw new ConfigurationError(
          `input 'pre-restore-backup': clean mode over a database that holds ${holds} needs a pre-restore backup`,
        );
    }
    const takePreRestore = clean && holds !== '' && o.preRestore !== 'skip';
    const preRestoreEncryption = takePreRestore ? await encryptionLike(m.encryption, o.keys) : undefined;
    const like = clean && exists ? await databaseProperties(admin, name) : undefined;

    const state = new RestoreState(name, side, clean, exists);
    // While the archive is read back and checked, the client tools are found and the empty database the
    // restore goes into is made (nothing is restored into it before the check has passed; a failure drops it).
    const resolving = o.resolveClient(m.tool.major ?? 0);
    const creating = (like ? createDatabaseLike(admin, side, like) : createDatabase(admin, side)).then(() => {
      state.created = true;
    });
    o.logger.info(`reading back ${from} and checking it against its manifest`);
    const tRead = performance.now();
    const settled = await Promise.allSettled([
      materializeArchive({ store: o.backup.store, key: o.backup.archiveKey }, m, o.keys, o.tempDir, o.signal),
      resolving,
      creating,
    ]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      if (settled[0].status === 'fulfilled') await settled[0].value.cleanup();
      if (state.created) {
        state.dropError = await dropDatabase(admin, side).then(
          () => undefined,
          (e: unknown) => errorMessage(e),
        );
        if (!state.dropError) state.created = false;
      }
      throw state.interrupted(o.signal) ?? (failed as PromiseRejectedResult).reason;
    }
    const local = (settled[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof materializeArchive>>>).value;
    const client = (settled[1] as PromiseFulfilledResult<PgClient>).value;
    o.logger.info(`archive read back whole and its sha256 matches the manifest (${seconds(tRead)})`);
    const offsets = local.index?.offsets;
    if (offsets)
      o.logger.debug(
        'patched' in offsets
          ? `data offsets written into the archive's table of contents: ${offsets.patched} blocks`
          : `data offsets left unset (${offsets.skipped}); pg_restore scans for each block`,
      );
    let preRestoreBackup: BackupResult | undefined;
    try {
      throwIfInterrupted(o.signal);
      const tRestore = performance.now();
      o.logger.info(
        `restoring into ${side}${clean ? ` (beside ${name}, swapped in once verified)` : ''} (${format === 'plain' ? 'psql' : `pg_restore --jobs=${o.jobs}`})`,
      );
      await restoreArchive({
        target: o.target.withDatabase(side),
        client,
        path: local.path,
        format,
        jobs: o.jobs,
        signal: o.signal,
      });
      const restoreSeconds = (performance.now() - tRestore) / 1000;
      throwIfInterrupted(o.signal);
      // pg_restore loads each table's COPY data whole or fails, so after it succeeded a table holds
      // exactly the rows of its data block. A drill, whose job is to prove the backup, counts anyway.
      const fromArchive = o.drill ? undefined : local.index?.rows;
      o.logger.info(
        `restored in ${seconds(tRestore)}; ${fromArchive ? "rows per table from the archive's COPY data; counting any table it has none for" : 'counting the rows of every table'}`,
      );
      const counts = await rowCountsParallel(o.target.withDatabase(side), o.jobs, fromArchive);
      const fromArchiveTables = Object.keys(counts).filter((t) => fromArchive?.has(t)).length;
      const differences = compareCounts(m.tables, counts);
      throwIfInterrupted(o.signal);
      let dropped = false;
      let swap: RestoreResult['swap'];
      if (o.drill) {
        await dropDatabase(admin, name);
        state.created = false;
        dropped = true;
      } else if (clean && differences.length) {
        o.logger.error(`${side} differs from the manifest; ${name} was not replaced and ${side} was dropped`);
        await dropDatabase(admin, side);
        state.created = false;
      } else if (clean) {
        if (takePreRestore) {
          preRestoreBackup = await takePreRestoreBackup(o, client, preRestoreEncryption!);
          state.preRestore = preRestoreBackup.uri;
        }
        if (like) await copyDatabaseSettings(admin, like, side);
        throwIfInterrupted(o.signal);
        if (exists && (await databaseExists(admin, previous))) {
          o.logger.warning(`dropping ${previous}, the database an earlier clean restore replaced and kept`);
          await dropDatabase(admin, previous);
        }
        throwIfInterrupted(o.signal);
        // From here on the run finishes what it started: the swap is one transaction, and a signal
        // that arrives during it is answered after it.
        await swapDatabases(admin, { db: name, side, previous }, exists);
        state.swapped = true;
        state.created = false;
        o.logger.info(
          exists
            ? `swapped: ${name} is the restored database; the one it replaced is ${previous}`
            : `renamed ${side} to ${name}`,
        );
        swap = { previous: exists ? previous : undefined, keptPrevious: exists && o.keepPrevious === true };
        if (exists && !o.keepPrevious) await dropDatabase(admin, previous);
        if (o.signal?.aborted) throw state.interrupted(o.signal);
      }
      return {
        restoredFrom: from,
        database: name,
        durationSeconds: round1((performance.now() - t0) / 1000),
        restoreSeconds: round1(restoreSeconds),
        tables: Object.keys(counts).length,
        rows: Object.values(counts).reduce((a, b) => a + b, 0),
        countedInDatabase: Object.keys(counts).length - fromArchiveTables,
        matchesManifest: differences.length === 0,
        differences,
        preRestoreBackup,
        dropped,
        swap,
      };
    } catch (err) {
      if (state.created) {
        state.dropError = await dropDatabase(admin, side).then(
          () => undefined,
          (e: unknown) => errorMessage(e),
        );
        if (!state.dropError) state.created = false;
      }
      throw state.interrupted(o.signal) ?? err;
    } finally {
      await local.cleanup();
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Where a restore stands, for the one line an interrupted run leaves. */
class RestoreState {
  created = false;
  swapped = false;
  dropError?: string;
  preRestore?: string;
  constructor(
    readonly name: string,
    readonly side: string,
    readonly clean: boolean,
    readonly existed: boolean,
  ) {}

  interrupted(signal: AbortSignal | undefined): Interrupted | undefined {
    const stop = interruption(signal);
    if (!stop) return undefined;
    const parts: string[] = [];
    if (this.swapped) {
      parts.push(`after the swap: ${this.name} is the restored database, verified against the manifest`);
    } else if (this.clean) {
      parts.push(
        this.existed
          ? `before the swap: database ${this.name} is untouched`
          : `before the swap: database ${this.name} was not created`,
      );
    } else {
      parts.push(`nothing was restored`);
    }
    if (!this.swapped) {
      if (this.dropError) parts.push(`${this.side} could not be dropped (${this.dropError}); drop it by hand`);
      else if (this.created) parts.push(`${this.side} is left behind; drop it by hand`);
      else parts.push(`no ${this.clean ? this.side : `database ${this.side}`} is left`);
    }
    if (this.preRestore) parts.push(`the pre-restore backup ${this.preRestore} was kept`);
    parts.push('the temp copy of the archive was removed');
    return stop.withState(parts.join('; '));
  }
}

/**
 * The pre-restore backup is encrypted as the source was: with its passphrase, or to its recipients
 * (the public keys of the identities that decrypt it; the manifest keeps only their fingerprints,
 * so every one of them must have its identity in decrypt-with).
 */
export async function encryptionLike(record: EncryptionRecord | undefined, keys: DecryptionKeys): Promise<Encryption> {
  if (!record) return { kind: 'none' };
  if (record.kind === 'passphrase') {
    if (!keys.passphrase)
      throw new ConfigurationError("this backup is encrypted with a passphrase: set input 'encryption-passphrase'");
    return { kind: 'passphrase', passphrase: keys.passphrase };
  }
  const { identityToRecipient } = await import('age-encryption');
  const wanted = record.recipientFingerprints ?? [];
  const recipients: string[] = [];
  for (const id of keys.identities) {
    let recipient: string;
    try {
      recipient = await identityToRecipient(id);
    } catch {
      throw new ConfigurationError("input 'decrypt-with': expected age identities (AGE-SECRET-KEY-1…, one per line)");
    }
    if ((!wanted.length || wanted.includes(fingerprint(recipient))) && !recipients.includes(recipient))
      recipients.push(recipient);
  }
  const missing = wanted.filter((f) => !recipients.some((r) => fingerprint(r) === f));
  if (missing.length || !recipients.length) {
    throw new ConfigurationError(
      `input 'decrypt-with': the pre-restore backup is encrypted to the same recipients as the source backup (${wanted.join(', ')}), so each needs its identity here; missing: ${missing.join(', ') || 'all'}. Add them, or set pre-restore-backup to off when the database is empty`,
    );
  }
  return { kind: 'recipients', recipients };
}

async function takePreRestoreBackup(
  o: RestoreOptions,
  client: PgClient,
  encryption: Encryption,
): Promise<BackupResult> {
  o.logger.info(`taking a pre-restore backup of ${o.target.display} before swapping in the restore`);
  const to = o.preRestore as { store: Store; prefix: string };
  return backup({
    source: { engine: 'postgres', conn: o.target },
    store: to.store,
    prefix: to.prefix,
    nameTemplate: 'pre-restore-{db}-{timestamp}',
    format: 'custom',
    jobs: 1,
    compression: o.backup.manifest.compression,
    encryption,
    verify: 'full',
    resolveClient: async () => client,
    extraArgs: [],
    tempDir: o.tempDir,
    logger: o.logger,
    signal: o.signal,
  });
}

function seconds(since: number): string {
  return `${round1((performance.now() - since) / 1000)}s`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
