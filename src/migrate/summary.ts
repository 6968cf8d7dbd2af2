import { fitSummary, headline, table } from '../markdown/blocks.js';
import { formatBytes } from '../util/bytes.js';
import type { MigrateResult } from './migrate.js';

const SENTENCE: Record<MigrateResult['outcome'], string> = {
  applied: 'Migrations applied',
  'rolled-back': 'Migrations rolled back with their rollback SQL',
  'nothing-to-do': 'No pending migrations',
  'dry-run': 'Dry run: nothing was changed',
  'failed-restored': 'Migration failed; the database was restored from the backup',
  'failed-rolled-back': 'Migration failed; the down migrations were applied',
  failed: 'Migration failed',
};

export function formatMigrateSummary(r: MigrateResult): string {
  const ok = !r.outcome.startsWith('failed');
  const parts = [headline(ok, `${SENTENCE[r.outcome]} (${r.durationSeconds}s)`)];
  const rows: string[][] = [
    ['Outcome', `\`${r.outcome}\``],
    ['Applied', r.applied.join(', ') || 'none'],
    ['Pending', r.pending.join(', ') || 'none'],
  ];
  if (r.rolledBack) rows.splice(2, 0, ['Rolled back', r.rolledBack.join(', ') || 'none']);
  if (r.backup)
    rows.push([
      'Backup',
      `\`${r.backup.uri}\` (${formatBytes(r.backup.manifest.sizeBytes)}, verified, ${r.backupSeconds}s)`,
    ]);
  if (r.error) rows.push(['Error', r.error]);
  if (r.recovery) rows.push(['Recovery', r.recovery]);
  parts.push(table(['', ''], rows));
  if (r.lint.length) parts.push(`Lint:\n\n${r.lint.map((f) => `- ${f.message}`).join('\n')}`);
  return fitSummary(parts.join('\n\n') + '\n');
}
