/** Keeps a backup written under RUNNER_TEMP as a workflow artifact, when running on GitHub and allowed. */
import path from 'node:path';
import type { BackupResult } from '../../src/backup/backup.js';
import { MANIFEST_SUFFIX } from '../../src/backup/manifest.js';
import type { Logger } from '../../src/logger.js';

/**
 * Anyone with read access to the repository can download a run's artifacts: a backup that is not encrypted is
 * uploaded only with `allowPlaintext` (the allow-plaintext-artifact input); otherwise it stays where it is for the job.
 */
export async function uploadBackupArtifact(
  dir: string,
  backup: BackupResult,
  logger: Logger,
  options: { allowPlaintext: boolean },
): Promise<void> {
  if (!process.env.ACTIONS_RUNTIME_TOKEN) return;
  if (!backup.manifest.encryption && !options.allowPlaintext) {
    logger.info(
      `the backup is not encrypted, so it is not kept as a workflow artifact (anyone with read access to the repository could download it); it stays at ${backup.uri} until the job ends. Set backup-destination to keep it, or allow-plaintext-artifact: true`,
    );
    return;
  }
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
