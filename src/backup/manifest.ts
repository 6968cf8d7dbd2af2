/** The manifest written beside every backup: what it is, how to read it back, and what it held. */
import type { Compression } from './compression.js';
import type { EncryptionRecord } from './encryption.js';
import { inferSeries } from './names.js';

export const MANIFEST_SUFFIX = '.manifest.json';

/** An archive's file name ending: format, then compression, then encryption. */
export const ARCHIVE_EXT = /\.(dump|sql|tar|rdb)(\.(zst|gz|lz4))?(\.age)?$/;

export interface BackupManifest {
  schema: 'opskit/backup-manifest@1';
  opskitVersion: string;
  engine: 'postgres' | 'redis';
  /** The database backed up (as named in the database URL). */
  database: string;
  name: string;
  /**
   * The series the backup belongs to: its name template with the time placeholders kept, like
   * `app-{timestamp}` (names.ts). `latest` and retention work within one series of one database.
   * Manifests written before opskit recorded it have none: see {@link seriesOf}.
   */
  series?: string;
  /** Object key of the archive, relative to the manifest's own location prefix. */
  archive: string;
  format: 'custom' | 'directory' | 'plain' | 'rdb';
  compression: Compression;
  encryption?: EncryptionRecord;
  sha256: string;
  sizeBytes: number;
  /** Bytes of the archive before compression and encryption, when known (the full check counts them). */
  rawBytes?: number;
  createdAt: string;
  durationSeconds: number;
  server: { version: string; major: number };
  tool: { name: string; version: string; major?: number };
  /** Per-table exact row counts taken in the same snapshot as the dump (postgres), or key count (redis). */
  tables: Record<string, number>;
  /** Restores of this archive need a pg_restore at least this new; servers from `minServerMajor` up can take it. */
  restore?: { minClientMajor: number; note: string };
}

export function parseManifest(text: string, where: string): BackupManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`the manifest at ${where} is not valid JSON`);
  }
  const m = data as Partial<BackupManifest>;
  if (m.schema !== 'opskit/backup-manifest@1' || typeof m.sha256 !== 'string' || typeof m.archive !== 'string') {
    throw new Error(`${where} is not an opskit backup manifest`);
  }
  for (const field of ['database', 'name', 'series'] as const) {
    if (m[field] !== undefined && typeof m[field] !== 'string') throw new Error(`${where}: '${field}' is not a string`);
  }
  return m as BackupManifest;
}

/** The manifest's series; for a manifest that predates the field, inferred from its name (names.ts inferSeries). */
export function seriesOf(m: Pick<BackupManifest, 'series' | 'name'>): string {
  return m.series ?? inferSeries(m.name);
}

export function manifestKeyFor(archiveKey: string): string {
  return archiveKey.replace(/\.(dump|sql|tar|rdb)(\.[a-z0-9]+)*$/, '') + MANIFEST_SUFFIX;
}
