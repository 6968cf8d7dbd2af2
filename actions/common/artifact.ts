/** Keeps a backup written under RUNNER_TEMP as a workflow artifact, when running on GitHub. */
import path from 'node:path';
import type { BackupResult } from '../../src/backup/backup.js';
import { MANIFEST_SUFFIX } from '../../src/backup/manifest.js';
import type { Logger } from '../../src/logger.js';

export async function uploadBackupArtifact(dir: string, backup: BackupResult, logger: Logger): Promise<void> {
  if (!process.env.ACTIONS_RUNTIME_TOKEN) return;
  try {
    const { DefaultArtifactClient } = await import('@actions/artifact');
    const files = [
      path.join(dir, backup.manifest.archive),
      path.join(dir, `${backup.manifest.name}${MANIFEST_SUFFIX}`),
    ];
    await new DefaultArtifactClient().uploadArtifact(backup.manifest.name, files, dir, { retentionDays: 7 });
    logger.info(`backup kept as workflow artifact '${backup.manifest.name}' for 7 days`);
  } catch (err) {
    logger.warning(
      `could not upload the backup as an artifact (it stays at ${backup.uri} until the job ends): ${err instanceof Error ? err.message : err}`,
    );
  }
}
