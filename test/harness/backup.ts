/**
 * A PostgreSQL backup through the library, for tests that call backup() itself: db-backup's settings for a
 * PostgreSQL source (custom format, one job, zstd:1, no encryption, no extra pg_dump arguments, the client found
 * on this machine), verify checksum, and whatever the test gives on top.
 */
import { type BackupOptions, type BackupResult, backup } from '../../src/backup/backup.js';
import type { Logger } from '../../src/logger.js';
import { resolvePgClient } from '../../src/postgres/client.js';
import { parsePgUrl } from '../../src/postgres/connection.js';

export type PgBackupOptions = Partial<BackupOptions> &
  Pick<BackupOptions, 'store' | 'nameTemplate' | 'tempDir'> & {
    /** The database to back up, as database-url gives it (or `source`). */
    url?: string;
    logger: Logger;
  };

export function pgBackup({ url, ...o }: PgBackupOptions): Promise<BackupResult> {
  return backup({
    prefix: '',
    format: 'custom',
    jobs: 1,
    compression: { algo: 'zstd', level: 1 },
    encryption: { kind: 'none' },
    verify: 'checksum',
    resolveClient: (major) => resolvePgClient({ kind: 'auto' }, major, { logger: o.logger }),
    extraArgs: [],
    ...o,
    source: o.source ?? { engine: 'postgres', conn: parsePgUrl('database-url', url ?? '') },
  });
}
