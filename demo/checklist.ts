/**
 * The demo's checklists are the root action's: its inputs (as a workflow step would write them) parsed by
 * parseChecklistConfig, and the steps built by checklistSteps, the function the root action calls. Only what a runner
 * would provide (temp dir, run context, pg client lookup) and the demo's extras (a blue-green switch, progress lines)
 * come from here.
 */
import { parseChecklistConfig } from '../src/checklist/config.js';
import type { ChecklistOptions } from '../src/checklist/run.js';
import { type ChecklistSurroundings, checklistSteps } from '../src/checklist/steps.js';
import { type RunContext, runContextFromEnv } from '../src/github/context.js';
import { Inputs } from '../src/inputs.js';
import type { Logger } from '../src/logger.js';
import { resolvePgClient } from '../src/postgres/client.js';

export interface DemoChecklist extends Partial<
  Pick<ChecklistSurroundings, 'signal' | 'switch' | 'onItem' | 'onProgress' | 'secrets'>
> {
  /** The root action's inputs, by name (action.yml). */
  inputs: Record<string, string>;
  logger: Logger;
  /** Scratch space and the folder migrations-dir is relative to. */
  workDir: string;
  /** The workflow run (with a repository, a failed checklist opens an incident issue); default none. */
  run?: RunContext;
}

export function demoChecklist(d: DemoChecklist): ChecklistOptions {
  const config = parseChecklistConfig(new Inputs((name) => d.inputs[name] ?? ''), d.workDir);
  return checklistSteps(config, {
    logger: d.logger,
    tempDir: d.workDir,
    cwd: d.workDir,
    appliedBy: 'opskit-demo',
    pgClients: (spec) => (serverMajor) => resolvePgClient(spec, serverMajor, { logger: d.logger }),
    run: d.run ?? runContextFromEnv({}),
    secrets: d.secrets ?? [],
    signal: d.signal,
    switch: d.switch,
    onItem: d.onItem,
    onProgress: d.onProgress,
  });
}

/** The root action's inputs for a pre-deploy backup of `databaseUrl` to an S3 bucket (s3rver's, in the demo). */
export function backupInputs(
  databaseUrl: string,
  s3: { bucket: string; endpoint: string; accessKeyId: string; secretAccessKey: string },
  prefix: string,
): Record<string, string> {
  return {
    'database-url': databaseUrl,
    'backup-destination': `s3://${s3.bucket}/${prefix}`,
    's3-endpoint': s3.endpoint,
    's3-force-path-style': 'true',
    'aws-access-key-id': s3.accessKeyId,
    'aws-secret-access-key': s3.secretAccessKey,
  };
}

/** The root action's inputs for a deploy of `commit` to a Render service (the simulator, in the demo). */
export function renderInputs(
  render: { baseUrl: string; apiKey: string },
  serviceId: string,
  commit: string,
): Record<string, string> {
  return {
    'render-api-key': render.apiKey,
    'render-api-url': render.baseUrl,
    'render-service-id': serviceId,
    commit,
    'deploy-timeout': '1m',
  };
}

/** The blue-green-switch inputs that point it at the demo's nginx and its two colours. */
export function nginxInputs(
  nginx: { upstreamFile: string; testCommand: string; reloadCommand: string },
  servers: { blue: string; green: string },
): Record<string, string> {
  return {
    'upstream-file': nginx.upstreamFile,
    blue: servers.blue,
    green: servers.green,
    'nginx-test-command': nginx.testCommand,
    'nginx-reload-command': nginx.reloadCommand,
  };
}
