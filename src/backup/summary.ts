/** Job summaries for db-backup and db-restore. */
import { fitSummary, headline, table } from '../markdown/blocks.js';
import { formatBytes } from '../util/bytes.js';
import type { BackupResult } from './backup.js';
import { describeCompression } from './compression.js';

export function formatBackupSummary(r: BackupResult): string {
  const m = r.manifest;
  const rows = Object.values(m.tables).reduce((a, b) => a + b, 0);
  const parts = [
    headline(
      true,
      `Backup of ${m.database} verified (${r.verified}): ${formatBytes(m.sizeBytes)} in ${m.durationSeconds}s`,
    ),
    table(
      ['', ''],
      [
        ['Archive', `\`${r.uri}\``],
        ['Manifest', `\`${r.manifestUri}\``],
        ['Engine', `${m.engine} ${m.server.version} (dumped with ${m.tool.name} ${m.tool.version})`],
        ['Format', m.format],
        ['Compression', describeCompression(m.compression)],
        ['Encryption', m.encryption ? `age (${m.encryption.kind})` : 'none'],
        [
          'Size',
          `${formatBytes(m.sizeBytes)} stored${m.rawBytes === undefined ? '' : `, ${formatBytes(m.rawBytes)} raw`}`,
        ],
        ['sha256', `\`${m.sha256}\``],
        [
          m.engine === 'redis' ? 'Keys' : 'Tables',
          `${Object.keys(m.tables).length} (${rows} ${m.engine === 'redis' ? 'keys' : 'rows'})`,
        ],
        ['Verification', r.verified],
        ['Restore', m.restore?.note ?? ''],
      ],
    ),
  ];
  if (r.deleted.length)
    parts.push(
      `Retention removed ${r.deleted.length} older backup(s):\n\n${r.deleted.map((d) => `- \`${d}\``).join('\n')}`,
    );
  return fitSummary(parts.join('\n\n') + '\n');
}
