/** The root action's inputs: each part of the checklist is on when its inputs are given. */
import path from 'node:path';
import { parseCompression, resolveCompression, type Compression } from '../backup/compression.js';
import { ALLOW_PLAINTEXT_INPUT, requireEncryptedArtifact } from '../backup/plaintext-artifact.js';
import { ConfigurationError } from '../errors.js';
import { type Severity, SEVERITIES } from '../incident/types.js';
import type { Inputs } from '../inputs.js';
import { type PgClientSpec, parsePgClientSpec } from '../postgres/client.js';
import { type PgConnection, parsePgUrl } from '../postgres/connection.js';
import { parseSmokeOptions } from '../smoke/config.js';
import type { SmokeOptions } from '../smoke/types.js';
import { type DestinationSpec, parseOptionalDestination, parseS3Settings } from '../storage/destination.js';

export interface ChecklistConfig {
  database?: {
    conn: PgConnection;
    /** default: a directory under RUNNER_TEMP. The checklist always backs up before it migrates: no none. */
    backupDestination: DestinationSpec | 'default';
    compression: Compression;
    pgClient: PgClientSpec;
    migrationsDir?: string;
    lockTimeoutMs: number;
    allowDestructive: boolean;
    /** With a Render service: suspend it while a failed migration's backup is restored. */
    stopAppDuringRestore: boolean;
  };
  render?: { apiKey: string; apiUrl: string; serviceId: string; commit?: string; timeoutMs: number };
  smoke?: SmokeOptions;
  github?: { token: string; severity: Severity; slackWebhookUrl?: string };
  environment: string;
}

/** The inputs each part reads besides the one that turns it on: given without that part, they are a mistake. */
const PART_INPUTS = {
  database: {
    on: "input 'database-url'",
    inputs: [
      'backup-destination',
      's3-endpoint',
      's3-region',
      's3-force-path-style',
      'aws-access-key-id',
      'aws-secret-access-key',
      'migrations-dir',
      'compression',
      'pg-client',
      'pg-bin-dir',
      'lock-timeout',
      'allow-destructive',
      ALLOW_PLAINTEXT_INPUT,
      'stop-app-during-restore',
    ],
  },
  render: { on: "input 'render-service-id'", inputs: ['render-api-url', 'commit', 'deploy-timeout'] },
  smoke: { on: "input 'smoke-url' or 'smoke-checks'", inputs: ['smoke-base-url', 'smoke-headers', 'smoke-timeout'] },
  github: { on: "input 'github-token'", inputs: ['slack-webhook-url'] },
} as const;

/**
 * Every input is parsed and checked, whichever parts run: a bad value is an error even where its part is off, and
 * an input given for a part that is off (slack-webhook-url without github-token) says what it needs.
 */
export function parseChecklistConfig(inputs: Inputs, cwd: string): ChecklistConfig {
  const environment = inputs.string('environment', 'production');
  const dir = inputs.raw('migrations-dir');
  const backupDestination = parseOptionalDestination(
    'backup-destination',
    inputs.raw('backup-destination'),
    parseS3Settings(inputs),
  );
  if (backupDestination === 'none')
    throw new ConfigurationError(
      "input 'backup-destination': the checklist always takes a backup before it migrates, so none is not accepted; leave it empty for a directory under RUNNER_TEMP, or give a path or s3:// URL",
    );
  const databaseParts = {
    backupDestination,
    compression: resolveCompression(parseCompression('compression', inputs.raw('compression') || 'auto')),
    pgClient: parsePgClientSpec('pg-client', inputs.raw('pg-client') || 'auto', inputs.raw('pg-bin-dir')),
    migrationsDir: dir ? path.resolve(cwd, dir) : undefined,
    lockTimeoutMs: inputs.duration('lock-timeout', '5s'),
    allowDestructive: inputs.boolean('allow-destructive', false),
    stopAppDuringRestore: inputs.boolean('stop-app-during-restore', true),
  };
  // The checklist's backup is not encrypted: as an artifact, anyone who can read the repository could download it.
  requireEncryptedArtifact({
    input: 'backup-destination',
    destination: backupDestination,
    encrypted: false,
    allowPlaintext: inputs.boolean(ALLOW_PLAINTEXT_INPUT, false),
    encryptionInputs: [],
  });
  const database: ChecklistConfig['database'] = inputs.has('database-url')
    ? { conn: parsePgUrl('database-url', inputs.raw('database-url')), ...databaseParts }
    : undefined;

  const serviceId = inputs.raw('render-service-id');
  if (serviceId && !/^srv-[a-z0-9]+$/i.test(serviceId))
    throw new ConfigurationError(
      `input 'render-service-id': expected a Render service id like srv-abc123, got '${serviceId}'`,
    );
  const renderParts = {
    apiUrl: (inputs.url('render-api-url') ?? new URL('https://api.render.com/v1')).toString().replace(/\/$/, ''),
    commit: inputs.raw('commit') || undefined,
    timeoutMs: inputs.duration('deploy-timeout', '30m'),
  };
  if (renderParts.commit && !/^[0-9a-f]{7,40}$/i.test(renderParts.commit))
    throw new ConfigurationError(
      `input 'commit': expected a Git commit SHA (7 to 40 hex characters), got '${renderParts.commit}'`,
    );
  const render: ChecklistConfig['render'] =
    serviceId || inputs.has('render-api-key')
      ? { apiKey: inputs.required('render-api-key'), serviceId: inputs.required('render-service-id'), ...renderParts }
      : undefined;

  const smokeOn = inputs.has('smoke-url') || inputs.has('smoke-checks');
  // The smoke-test action's parser, over the smoke-* inputs: its errors name them (smoke-timeout).
  const smoke = smokeOn ? parseSmokeOptions(inputs.withPrefix('smoke-')) : undefined;

  const token = inputs.raw('github-token');
  const githubParts = {
    severity: inputs.enum('severity', SEVERITIES, 'P2'),
    slackWebhookUrl: inputs.url('slack-webhook-url', ['https:', 'http:'])?.toString(),
  };
  const github = token ? { token, ...githubParts } : undefined;

  const on = { database: Boolean(database), render: Boolean(render), smoke: smokeOn, github: Boolean(github) };
  for (const [part, { on: needs, inputs: names }] of Object.entries(PART_INPUTS)) {
    if (on[part as keyof typeof on]) continue;
    const given = names.filter((n) => inputs.has(n));
    if (given.length > 0)
      throw new ConfigurationError(
        `${given.map((n) => `input '${n}'`).join(', ')} ${given.length > 1 ? 'need' : 'needs'} ${needs}: without it that part of the checklist does not run`,
      );
  }
  if (!database && !render && !smoke) {
    throw new ConfigurationError(
      "input 'database-url', 'render-service-id' or 'smoke-url' is required: the checklist has nothing to do without one (backup and migrations, deploy, smoke test)",
    );
  }
  return { database, render, smoke, github, environment };
}
