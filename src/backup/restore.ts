/**
 * db-restore: verify the archive first (sha256 against the manifest, every block read), then
 * restore into a new database (default), over the target (clean: only with confirm, after a
 * verified pre-restore backup, and put back from it if the restore fails), or as a drill.
 */
import { ConfigurationError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PgClient } from '../postgres/client.js';
import { type PgConnection, withClient } from '../postgres/connection.js';
import type { DumpFormat } from '../postgres/dump.js';
import { databaseExists, rowCounts, rowCountsParallel } from '../postgres/inspect.js';
import { adminClient, createDatabase, dropDatabase, readWholeArchive, restoreArchive } from '../postgres/restore.js';
import type { Store } from '../storage/types.js';
import { type BackupResult, backup, compareCounts } from './backup.js';
import type { DecryptionKeys } from './encryption.js';
import type { LocatedBackup } from './locate.js';
import { type LocalArchive, materializeArchive } from './materialize.js';
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
  const name = o.drill
    ? `opskit_drill_${compactTimestamp(new Date()).toLowerCase()}`
    : o.mode === 'clean'
      ? o.target.database
      : o.targetDatabase || `${m.database}_restored_${compactTimestamp(new Date()).toLowerCase()}`;

  // Refuse what we can refuse before reading anything.
  const admin = await adminClient(o.target, name);
  try {
    const exists = await databaseExists(admin, name);
    if (o.mode === 'new-database' && exists) {
      throw new ConfigurationError(
        `input 'target-database': database '${name}' already exists; choose a new name, or use mode: clean to replace it`,
      );
    }
    let userTables = 0;
    if (o.mode === 'clean' && exists) {
      userTables = Object.keys(await withClient(o.target, (c) => rowCounts(c))).length;
      if (userTables > 0 && o.confirm !== name) {
        throw new ConfigurationError(
          `input 'confirm': mode clean replaces database '${name}', which has ${userTables} tables; set confirm to '${name}' to go ahead`,
        );
      }
    }

    const client = await o.resolveClient(m.tool.major ?? 0);
    o.logger.info(`reading back ${from} and checking it against its manifest`);
    const tRead = performance.now();
    const local = await materializeArchive({ store: o.backup.store, key: o.backup.archiveKey }, m, o.keys, o.tempDir);
    o.logger.info(`archive read back whole and its sha256 matches the manifest (${seconds(tRead)})`);
    const offsets = local.index?.offsets;
    if (offsets)
      o.logger.debug(
        'patched' in offsets
          ? `data offsets written into the archive's table of contents: ${offsets.patched} blocks`
          : `data offsets left unset (${offsets.skipped}); pg_restore scans for each block`,
      );
    try {
      // The sha256 and compression checksums have proven the bytes; a clean restore replaces a live
      // database, so there the archive's every block is read once more before anything is dropped.
      if (o.mode === 'clean') await readWholeArchive(client, local.path, format);
      let preRestoreBackup: BackupResult | undefined;
      if (o.mode === 'clean' && exists && userTables > 0 && o.preRestore !== 'skip') {
        if (!o.preRestore)
          throw new ConfigurationError(
            "input 'pre-restore-backup': clean mode over a database with tables needs a pre-restore backup",
          );
        preRestoreBackup = await takePreRestoreBackup(o, client);
      }
      const tRestore = performance.now();
      o.logger.info(`restoring into ${name} (${format === 'plain' ? 'psql' : `pg_restore --jobs=${o.jobs}`})`);
      await restoreInto(o, admin, client, local, name, format, exists, preRestoreBackup);
      const restoreSeconds = (performance.now() - tRestore) / 1000;
      // pg_restore loads each table's COPY data whole or fails, so after it succeeded a table holds
      // exactly the rows of its data block. A drill, whose job is to prove the backup, counts anyway.
      const fromArchive = o.drill ? undefined : local.index?.rows;
      o.logger.info(
        `restored in ${seconds(tRestore)}; ${fromArchive ? "rows per table from the archive's COPY data; counting any table it has none for" : 'counting the rows of every table'}`,
      );
      const counts = await rowCountsParallel(o.target.withDatabase(name), o.jobs, fromArchive);
      const fromArchiveTables = Object.keys(counts).filter((t) => fromArchive?.has(t)).length;
      const differences = compareCounts(m.tables, counts);
      let dropped = false;
      if (o.drill) {
        await dropDatabase(admin, name);
        dropped = true;
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
      };
    } finally {
      await local.cleanup();
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function takePreRestoreBackup(o: RestoreOptions, client: PgClient): Promise<BackupResult> {
  o.logger.info(`taking a pre-restore backup of ${o.target.display} before replacing it`);
  return backup({
    source: { engine: 'postgres', conn: o.target },
    store: (o.preRestore as { store: Store; prefix: string }).store,
    prefix: (o.preRestore as { store: Store; prefix: string }).prefix,
    nameTemplate: 'pre-restore-{db}-{timestamp}',
    format: 'custom',
    jobs: 1,
    compression: o.backup.manifest.compression,
    encryption: { kind: 'none' },
    verify: 'full',
    resolveClient: async () => client,
    extraArgs: [],
    tempDir: o.tempDir,
    logger: o.logger,
  });
}

async function restoreInto(
  o: RestoreOptions,
  admin: import('pg').Client,
  client: PgClient,
  local: LocalArchive,
  name: string,
  format: DumpFormat,
  exists: boolean,
  preRestore: BackupResult | undefined,
): Promise<void> {
  const target = o.target.withDatabase(name);
  if (exists) await dropDatabase(admin, name);
  await createDatabase(admin, name);
  try {
    await restoreArchive({ target, client, path: local.path, format, jobs: o.jobs });
  } catch (err) {
    await dropDatabase(admin, name).catch(() => undefined);
    if (!exists) throw err;
    // clean mode: the target was replaced; put it back as it was.
    if (!preRestore) throw err;
    o.logger.error(
      `restore failed (${errorMessage(err)}); putting ${name} back from the pre-restore backup ${preRestore.uri}`,
    );
    const back = await materializeArchive(
      {
        store: (o.preRestore as { store: Store }).store,
        key: (o.preRestore as { prefix: string }).prefix + preRestore.manifest.archive,
      },
      preRestore.manifest,
      { identities: [] },
      o.tempDir,
    );
    try {
      await createDatabase(admin, name);
      await restoreArchive({ target, client, path: back.path, format: 'custom', jobs: o.jobs });
    } finally {
      await back.cleanup();
    }
    throw new ConfigurationError(
      `restore failed and ${name} was put back from ${preRestore.uri}: ${errorMessage(err)}`,
    );
  }
}

function seconds(since: number): string {
  return `${round1((performance.now() - since) / 1000)}s`;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
