/**
 * db-backup: dump → compress → encrypt → hash → store, streamed; then verify; then write the
 * manifest (its presence marks a verified backup); then apply retention to the same series.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type pg from 'pg';
import { ConfigurationError, ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PgClient } from '../postgres/client.js';
import { type PgConnection, connect, withClient } from '../postgres/connection.js';
import { type DumpFormat, FORMAT_EXTENSION, startDump } from '../postgres/dump.js';
import { rowCounts, serverInfo, userTables } from '../postgres/inspect.js';
import { adminClient, createDatabase, dropDatabase, restoreArchive } from '../postgres/restore.js';
import { dropAbandonedTempDatabases, holdTempDatabase } from '../postgres/temp-databases.js';
import { countRdbKeys } from '../redis/rdb-keys.js';
import { type RedisConnection, checkRdb, dumpRdb, redisCliVersion, redisInfo } from '../redis/redis.js';
import type { Store } from '../storage/types.js';
import { Interrupted, interruption, throwIfInterrupted } from '../util/signals.js';
import { OPSKIT_VERSION } from '../version.js';
import { streamProducer, writeArchive, type WrittenArchive } from './archive.js';
import { startArchiveCheck } from './check.js';
import { COMPRESSION_EXTENSION } from './compression.js';
import { type Encryption, encryptionRecord, type DecryptionKeys } from './encryption.js';
import { type BackupManifest, MANIFEST_SUFFIX } from './manifest.js';
import { materializeArchive } from './materialize.js';
import { compactTimestamp, formatName, seriesName } from './names.js';
import { applyRetention as retainSeries } from './retention.js';
import type { BackupConfig } from './config.js';
import { type VerifyMode, verifyChecksum } from './verify.js';

/** What runs the backup, besides the settings of its config (parseBackupConfig). */
export interface BackupServices {
  store: Store;
  prefix: string;
  resolveClient(serverMajor: number): Promise<PgClient>;
  tempDir: string;
  logger: Logger;
  now?: Date;
  /** Bytes written to the store so far. */
  onProgress?(storedBytes: number): void;
  /**
   * Aborting stops the backup: pg_dump and the codec end, the upload is abandoned, the archive and
   * any scratch database removed; the Interrupted error it then throws says so. Once the manifest is
   * written the backup is complete, and only retention is cut short.
   */
  signal?: AbortSignal;
}

/** The backup's settings come from its config, without the parts the action turns into services. */
export type BackupOptions = Omit<BackupConfig, 'destination' | 'pgClient'> & BackupServices;

export interface BackupResult {
  uri: string;
  manifestUri: string;
  manifest: BackupManifest;
  verified: VerifyMode;
  deleted: string[];
}

export async function backup(o: BackupOptions): Promise<BackupResult> {
  const started = o.now ?? new Date();
  const t0 = performance.now();
  const db = o.source.conn.database;
  const name = formatName(o.nameTemplate, { db, engine: o.source.engine, now: started });
  const format = o.source.engine === 'redis' ? 'rdb' : o.format;
  const ext =
    (format === 'rdb' ? '.rdb' : FORMAT_EXTENSION[format]) +
    COMPRESSION_EXTENSION[o.compression.algo] +
    (o.encryption.kind === 'none' ? '' : '.age');
  const key = `${o.prefix}${name}${ext}`;
  const manifestKey = `${o.prefix}${name}${MANIFEST_SUFFIX}`;
  if ((await o.store.exists(key)) || (await o.store.exists(manifestKey))) {
    throw new ConfigurationError(
      `input 'name': a backup named '${name}' already exists at ${o.store.uri(key)}; backups are never overwritten`,
    );
  }

  const state = new BackupState(o, key);
  const dumped = await (
    o.source.engine === 'postgres' ? dumpPostgres(o, o.source.conn, key) : dumpRedis(o, o.source.conn, key)
  ).catch(async (err: unknown) => {
    throw (await state.interrupted('while dumping')) ?? err;
  });

  const manifest: BackupManifest = {
    schema: 'opskit/backup-manifest@1',
    opskitVersion: OPSKIT_VERSION,
    engine: o.source.engine,
    database: db,
    name,
    series: seriesName(o.nameTemplate, { db, engine: o.source.engine }),
    archive: path.posix.basename(key),
    format,
    compression: o.compression,
    encryption: encryptionRecord(o.encryption),
    sha256: dumped.archive.sha256,
    sizeBytes: dumped.archive.sizeBytes,
    rawBytes: dumped.archive.rawBytes,
    createdAt: started.toISOString(),
    durationSeconds: 0,
    server: dumped.server,
    tool: dumped.tool,
    tables: dumped.tables,
    restore: dumped.tool.major
      ? {
          minClientMajor: dumped.tool.major,
          note: `restore with pg_restore ${dumped.tool.major} or newer, into PostgreSQL ${dumped.server.major} or newer (older servers may reject objects the dump contains)`,
        }
      : undefined,
  };

  let checked: string | undefined;
  try {
    checked = await verifyBackup(o, key, manifest, dumped, state);
    throwIfInterrupted(o.signal);
  } catch (err) {
    const stopped = await state.interrupted('while verifying the backup');
    if (stopped) throw stopped;
    o.logger.error(`the new backup failed verification and was removed: ${o.store.uri(key)}`);
    await o.store.delete(key).catch(() => undefined);
    throw err;
  }
  manifest.durationSeconds = Math.round((performance.now() - t0) / 100) / 10;
  // The manifest marks the backup complete: it is written whole even when a signal arrives meanwhile.
  try {
    await o.store.put(manifestKey, readableOf(JSON.stringify(manifest, null, 2) + '\n'), {
      contentType: 'application/json',
    });
  } catch (err) {
    await o.store.delete(key).catch(() => undefined);
    throw err;
  }
  o.logger.info(
    `backup ${o.store.uri(key)}: ${manifest.sizeBytes} bytes, sha256 ${manifest.sha256.slice(0, 12)}…, verified (${o.verify}${checked ? `; stored bytes ${checked}` : ''})`,
  );

  const deleted: string[] = [];
  if (o.retention) await applyRetention(o, key, started, deleted);
  const stop = interruption(o.signal);
  if (stop) {
    throw stop.withState(
      `the backup ${o.store.uri(key)} is complete and verified (its manifest is written)${o.retention ? `; retention deleted ${deleted.length} old backup${deleted.length === 1 ? '' : 's'} and stopped there` : ''}`,
    );
  }
  return { uri: o.store.uri(key), manifestUri: o.store.uri(manifestKey), manifest, verified: o.verify, deleted };
}

interface Dumped {
  archive: WrittenArchive;
  server: { version: string; major: number };
  tool: { name: string; version: string; major?: number };
  tables: Record<string, number>;
  client?: PgClient;
}

async function dumpPostgres(o: BackupOptions, conn: PgConnection, key: string): Promise<Dumped> {
  const snapshotClient = await connect(conn);
  try {
    const server = await serverInfo(snapshotClient);
    const client = await o.resolveClient(server.major);
    o.logger.info(
      `dumping ${conn.display} (PostgreSQL ${server.version}) with pg_dump ${client.version}, format ${o.format}`,
    );
    const tables = await userTables(snapshotClient);
    // One snapshot for pg_dump and the row counts: the manifest describes exactly what the dump holds.
    await snapshotClient.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // The counts share the server with pg_dump: no parallel workers for them.
    await snapshotClient.query('SET LOCAL max_parallel_workers_per_gather = 0');
    const snap = await snapshotClient.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
    // verify: full reads the archive whole while it is written (check.ts); the read-back follows.
    const check = o.verify === 'full' ? startArchiveCheck(o.format, o.compression, client) : undefined;
    const produce = (into?: Writable) =>
      startDump(
        {
          conn,
          client,
          format: o.format,
          jobs: o.jobs,
          snapshot: snap.rows[0]!.s,
          extraArgs: o.extraArgs,
          tempDir: o.tempDir,
          signal: o.signal,
        },
        into,
      );
    const counting = rowCounts(snapshotClient, tables);
    // Settle both before deciding: a failed pg_dump must not leave a half-written archive behind.
    const settled = await Promise.allSettled([
      writeArchive(produce, { store: o.store, key }, { ...o, check }),
      counting,
    ]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) {
      await o.store.delete(key).catch(() => undefined);
      throw (failed as PromiseRejectedResult).reason;
    }
    const archive = (settled[0] as PromiseFulfilledResult<WrittenArchive>).value;
    if (archive.rawBytes === 0) {
      await o.store.delete(key).catch(() => undefined);
      throw new ExternalError('pg_dump wrote nothing to its output; no backup was kept');
    }
    await snapshotClient.query('COMMIT');
    return {
      archive,
      server: { version: server.version, major: server.major },
      tool: { name: 'pg_dump', version: client.version, major: client.major },
      tables: await counting,
      client,
    };
  } finally {
    await snapshotClient.end().catch(() => undefined);
  }
}

async function dumpRedis(o: BackupOptions, conn: RedisConnection, key: string): Promise<Dumped> {
  const dir = await mkdtemp(path.join(o.tempDir, 'opskit-rdb-'));
  try {
    const info = await redisInfo(conn);
    const file = path.join(dir, 'dump.rdb');
    o.logger.info(`dumping ${conn.display} (Redis ${info.version}) with redis-cli --rdb`);
    await dumpRdb(conn, file);
    await checkRdb(file);
    // The manifest records what the file holds (counted by loading it), not what INFO said just before.
    const counted = await countRdbKeys(file);
    const archive = await writeArchive(
      streamProducer(() => createReadStream(file)),
      { store: o.store, key },
      o,
    ).catch(async (err) => {
      await o.store.delete(key).catch(() => undefined);
      throw err;
    });
    // The RDB file's size is the raw size (the compression command does not report it).
    archive.rawBytes ??= (await stat(file)).size;
    return {
      archive,
      server: { version: info.version, major: Number(info.version.split('.')[0]) },
      tool: { name: 'redis-cli', version: await redisCliVersion() },
      tables: counted ?? info.keys,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function verifyBackup(
  o: BackupOptions,
  key: string,
  manifest: BackupManifest,
  dumped: Dumped,
  state: BackupState,
): Promise<string | undefined> {
  // full: the archive was read whole while it was written (check.ts; an RDB file is checked by
  // redis-check-rdb before it is written); what is left is the stored bytes: read back, unless the
  // store confirmed on upload that it received exactly them (S3's per-part MD5 ETags).
  if (o.verify !== 'restore' || o.source.engine === 'redis') {
    const how = await verifyChecksum(o.store, key, manifest.sha256, o.signal, dumped.archive.confirmed);
    if (dumped.archive.confirmed) o.logger.info(`${o.store.uri(key)}: not read back: ${dumped.archive.confirmed}`);
    return how;
  }
  await verifyByRestore(o, o.source.conn, key, manifest, dumped.client!, state);
  return undefined;
}

/** Restores into a scratch database on the same server, compares row counts with the source, drops it. */
async function verifyByRestore(
  o: BackupOptions,
  conn: PgConnection,
  key: string,
  manifest: BackupManifest,
  client: PgClient,
  state: BackupState,
) {
  const scratch = `opskit_verify_${compactTimestamp(new Date()).toLowerCase()}_${Math.random().toString(36).slice(2, 6)}`;
  const local = await materializeArchive({ store: o.store, key }, manifest, keysFor(o.encryption), o.tempDir, o.signal);
  let admin: pg.Client | undefined;
  try {
    admin = await adminClient(conn);
    throwIfInterrupted(o.signal);
    // What a killed run left (temp-databases.ts); then this run's own, under its lock until it is dropped.
    await dropAbandonedTempDatabases(admin, o.logger);
    await holdTempDatabase(admin, scratch);
    state.scratch = scratch;
    o.logger.info(`verifying by restoring into the scratch database ${scratch}`);
    await createDatabase(admin, scratch);
    const target = conn.withDatabase(scratch);
    await restoreArchive({
      target,
      client,
      path: local.path,
      format: manifest.format as DumpFormat,
      jobs: o.jobs,
      signal: o.signal,
    });
    throwIfInterrupted(o.signal);
    const counts = await withClient(target, (c) => rowCounts(c));
    const diff = compareCounts(manifest.tables, counts);
    if (diff.length)
      throw new ConfigurationError(`verification by restore found different row counts: ${diff.join('; ')}`);
  } finally {
    if (admin) {
      state.scratchDropError = await dropDatabase(admin, scratch).then(
        () => undefined,
        (err: unknown) => errorMessage(err),
      );
      await admin.end().catch(() => undefined);
    }
    await local.cleanup();
  }
}

/** Where a backup stands, for the one line an interrupted run leaves. */
class BackupState {
  scratch?: string;
  scratchDropError?: string;
  constructor(
    private readonly o: BackupOptions,
    private readonly key: string,
  ) {}

  /** When the run was interrupted: removes the archive (again: it is idempotent) and says what is left. */
  async interrupted(phase: string): Promise<Interrupted | undefined> {
    const stop = interruption(this.o.signal);
    if (!stop) return undefined;
    const uri = this.o.store.uri(this.key);
    const removed = await this.o.store.delete(this.key).then(
      () => `the partial archive ${uri} was removed`,
      (err: unknown) => `the partial archive ${uri} could not be removed (${errorMessage(err)}); delete it by hand`,
    );
    const parts = [`no backup was kept`, removed];
    if (this.scratch)
      parts.push(
        this.scratchDropError
          ? `the scratch database ${this.scratch} could not be dropped (${this.scratchDropError}); drop it by hand`
          : `the scratch database ${this.scratch} was dropped`,
      );
    parts.push('no temp file is left');
    return stop.withState(`${phase} ${this.o.source.conn.database}: ${parts.join('; ')}`);
  }
}

export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [t, n] of Object.entries(expected))
    if (actual[t] !== n) out.push(`${t}: ${actual[t] ?? 'missing'} rows, expected ${n}`);
  for (const t of Object.keys(actual)) if (!(t in expected)) out.push(`${t}: not in the backup`);
  return out;
}

function keysFor(e: Encryption): DecryptionKeys {
  // Backups encrypted to recipients cannot be decrypted without an identity (verify: restore is refused then).
  return { identities: [], passphrase: e.kind === 'passphrase' ? e.passphrase : undefined };
}

async function applyRetention(o: BackupOptions, currentKey: string, now: Date, deleted: string[]): Promise<void> {
  const db = o.source.conn.database;
  const series = seriesName(o.nameTemplate, { db, engine: o.source.engine });
  const { store, prefix, logger, signal } = o;
  await retainSeries(
    { store, prefix, database: db, series, policy: o.retention!, now, current: currentKey, logger, signal },
    deleted,
  );
}

function readableOf(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}
