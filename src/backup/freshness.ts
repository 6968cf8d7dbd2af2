/**
 * Is there a recent enough backup? (guides 000 "Daily: check that the backup completed", 001/003 "backup completed":
 * the recovery point objective.) The located backup's manifest says when it was made; its archive must still be
 * there with the size the manifest records. db-restore `mode: status` reports this without touching a database,
 * and `max-age` also stops a restore of a backup older than that.
 */
import { ExternalError } from '../errors.js';
import { formatDuration } from '../util/time.js';
import type { LocatedBackup } from './locate.js';

export interface BackupStatus {
  uri: string;
  database?: string;
  createdAt: Date;
  ageMs: number;
  sizeBytes: number;
  /** The archive is present with the manifest's size; undefined when not looked at (a restore's read-back checks it). */
  archivePresent?: boolean;
}

/** The backup's age from its manifest; with `archive` (mode status), whether its archive is there too (one listing). */
export async function backupStatus(
  located: LocatedBackup,
  { archive = true }: { archive?: boolean } = {},
  now = new Date(),
): Promise<BackupStatus> {
  const { store, archiveKey, manifest } = located;
  const createdAt = new Date(manifest.createdAt);
  const found = archive ? (await store.list(archiveKey)).find((o) => o.key === archiveKey) : undefined;
  return {
    uri: store.uri(archiveKey),
    database: manifest.database,
    createdAt,
    ageMs: Math.max(0, now.getTime() - createdAt.getTime()),
    sizeBytes: manifest.sizeBytes,
    archivePresent: archive ? found !== undefined && found.size === manifest.sizeBytes : undefined,
  };
}

/** Throws when the backup is too old for `max-age`, or its archive was looked at and is gone or of another size. */
export function assertFresh(status: BackupStatus, maxAgeMs: number | undefined): void {
  if (status.archivePresent === false)
    throw new ExternalError(
      `the backup's archive ${status.uri} is missing or not the ${status.sizeBytes} bytes its manifest records`,
    );
  if (maxAgeMs !== undefined && status.ageMs > maxAgeMs)
    throw new ExternalError(
      `the newest backup, ${status.uri}, is ${formatDuration(status.ageMs)} old (made ${status.createdAt.toISOString()}): older than max-age ${formatDuration(maxAgeMs)}`,
    );
}
