import { fitSummary, headline, table } from '../markdown/blocks.js';
import type { RestoreResult } from './restore.js';
import { formatDuration } from '../util/time.js';
import type { BackupStatus } from './freshness.js';
import type { RdbRestoreResult } from './restore-rdb.js';

export function formatRestoreSummary(r: RestoreResult, drill: boolean): string {
  const what = drill ? 'Restore drill' : 'Restore';
  const ok = r.matchesManifest;
  const sentence = ok
    ? `${what} of ${r.restoredFrom} matches its manifest: ${r.tables} tables, ${r.rows} rows, restored in ${r.restoreSeconds}s`
    : `${what} of ${r.restoredFrom} differs from its manifest`;
  const parts = [
    headline(ok, sentence),
    table(
      ['', ''],
      [
        ['Restored from', `\`${r.restoredFrom}\``],
        ['Database', drill ? `${r.database} (dropped after the drill)` : r.database],
        ['Time to restore', `${r.restoreSeconds}s (${r.durationSeconds}s with download and verification)`],
        ['Tables / rows', `${r.tables} / ${r.rows} (${countedHow(r)})`],
        ['Matches manifest', ok ? 'yes' : 'no'],
        ['Pre-restore backup', r.preRestoreBackup ? `\`${r.preRestoreBackup.uri}\`` : ''],
        ['Replaced database', replaced(r)],
      ],
    ),
  ];
  if (r.differences.length)
    parts.push(
      `Differences:\n\n${r.differences
        .slice(0, 50)
        .map((d) => `- ${d}`)
        .join('\n')}`,
    );
  return fitSummary(parts.join('\n\n') + '\n');
}

function replaced(r: RestoreResult): string {
  if (!r.swap) return '';
  if (!r.swap.previous) return 'none (the database did not exist)';
  return r.swap.keptPrevious ? `kept as \`${r.swap.previous}\` (keep-previous)` : `swapped out and dropped`;
}

function countedHow(r: RestoreResult): string {
  const archive = r.tables - r.countedInDatabase;
  if (!archive) return 'counted in the database';
  const fromArchive = "from the archive's COPY data, which pg_restore loaded whole";
  return r.countedInDatabase
    ? `${archive} tables ${fromArchive}, ${r.countedInDatabase} counted in the database`
    : fromArchive;
}

/** db-restore mode status: the backup found, its age against max-age, its archive. */
export function formatBackupStatusSummary(status: BackupStatus, maxAgeMs: number | undefined): string {
  const fresh = status.archivePresent !== false && (maxAgeMs === undefined || status.ageMs <= maxAgeMs);
  const age = formatDuration(status.ageMs);
  const sentence = !status.archivePresent
    ? "The newest backup's archive is missing"
    : fresh
      ? `The newest backup is ${age} old${maxAgeMs === undefined ? '' : `, within max-age ${formatDuration(maxAgeMs)}`}`
      : `The newest backup is ${age} old, older than max-age ${formatDuration(maxAgeMs!)}`;
  const rows: [string, string][] = [
    ['Backup', status.uri],
    ['Database', status.database ?? 'unknown'],
    ['Made', status.createdAt.toISOString()],
    ['Age', age],
    ['Archive', status.archivePresent ? `present, ${status.sizeBytes} bytes` : 'missing or of another size'],
  ];
  return fitSummary(`${headline(fresh, sentence)}\n\n${table(['', ''], rows)}\n`);
}

/** db-restore of a Redis backup into a data directory. */
export function formatRdbRestoreSummary(r: RdbRestoreResult): string {
  const keys = r.keys ? Object.entries(r.keys) : undefined;
  const sentence = r.matchesManifest
    ? `Restore of ${r.restoredFrom} to ${r.file}: redis-check-rdb passed${keys ? `, ${keys.reduce((a, [, n]) => a + n, 0)} keys as in the manifest` : ''}`
    : `Restore of ${r.restoredFrom} refused: its keys differ from the manifest`;
  const rows: [string, string][] = [
    ['RDB file', r.file],
    ['Keys', keys ? keys.map(([db, n]) => `${db}: ${n}`).join(', ') || 'none' : 'not counted (no redis-server)'],
    ['Duration', `${r.durationSeconds}s`],
  ];
  for (const d of r.differences) rows.push(['Difference', d]);
  return fitSummary(`${headline(r.matchesManifest, sentence)}\n\n${table(['', ''], rows)}\n`);
}
