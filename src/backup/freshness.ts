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
  /** The archive is present with the manifest's size. */
  archivePresent: boolean;
}

export async function backupStatus(located: LocatedBackup, now = new Date()): Promise<BackupStatus> {
  const { store, archiveKey, manifest } = located;
  const createdAt = new Date(manifest.createdAt);
  const objects = await store.list(archiveKey);
  const archive = objects.find((o) => o.key === archiveKey);
  return {
    uri: store.uri(archiveKey),
    database: manifest.database,
    createdAt,
    ageMs: Math.max(0, now.getTime() - createdAt.getTime()),
    sizeBytes: manifest.sizeBytes,
    archivePresent: archive !== undefined && archive.size === manifest.sizeBytes,
  };
}

/**
 * Throws when the backup is too old for `max-age`, or (with `archive`, mode status) its archive is gone or of another
 * size. A restore leaves the archive to its own read-back, which checks every byte against the manifest's sha256.
 */
export function assertFresh(status: BackupStatus, maxAgeMs: number | undefined, archive = true): void {
  if (archive && !status.archivePresent)
    throw new ExternalError(
      `the backup's archive ${status.uri} is missing or not the ${status.sizeBytes} bytes its manifest records`,
    );
  if (maxAgeMs !== undefined && status.ageMs > maxAgeMs)
    throw new ExternalError(
      `the newest backup, ${status.uri}, is ${formatDuration(status.ageMs)} old (made ${status.createdAt.toISOString()}): older than max-age ${formatDuration(maxAgeMs)}`,
    );
}
