/** The root action's inputs: each part of the checklist is on when its inputs are given. */
import path from 'node:path';
import { parseCompression, resolveCompression, type Compression } from '../backup/compression.js';
import { ConfigurationError } from '../errors.js';
import { type Severity, SEVERITIES } from '../incident/types.js';
import { Inputs } from '../inputs.js';
import { type PgClientSpec, parsePgClientSpec } from '../postgres/client.js';
import { type PgConnection, parsePgUrl } from '../postgres/connection.js';
import { parseSmokeOptions } from '../smoke/config.js';
import type { SmokeOptions } from '../smoke/types.js';

export interface ChecklistConfig {
  database?: {
    conn: PgConnection;
    backupDestination?: string;
    compression: Compression;
    pgClient: PgClientSpec;
    migrationsDir?: string;
    lockTimeoutMs: number;
    allowDestructive: boolean;
  };
  render?: { apiKey: string; apiUrl: string; serviceId: string; commit?: string; timeoutMs: number };
  smoke?: SmokeOptions;
  github?: { token: string; severity: Severity; slackWebhookUrl?: string };
  environment: string;
}

export function parseChecklistConfig(inputs: Inputs, cwd: string): ChecklistConfig {
  const environment = inputs.string('environment', 'production');
  let database: ChecklistConfig['database'];
  if (inputs.has('database-url')) {
    const dir = inputs.raw('migrations-dir');
    database = {
      conn: parsePgUrl('database-url', inputs.raw('database-url')),
      backupDestination: inputs.raw('backup-destination') || undefined,
      compression: resolveCompression(parseCompression('compression', inputs.raw('compression'))),
      pgClient: parsePgClientSpec('pg-client', inputs.raw('pg-client') || 'auto'),
      migrationsDir: dir ? path.resolve(cwd, dir) : undefined,
      lockTimeoutMs: inputs.duration('lock-timeout', '5s'),
      allowDestructive: inputs.boolean('allow-destructive', false),
    };
  } else if (inputs.has('migrations-dir') || inputs.has('backup-destination')) {
    throw new ConfigurationError("inputs 'migrations-dir' and 'backup-destination' need input 'database-url'");
  }
  let render: ChecklistConfig['render'];
  if (inputs.has('render-service-id') || inputs.has('render-api-key')) {
    const serviceId = inputs.required('render-service-id');
    if (!/^srv-[a-z0-9]+$/i.test(serviceId))
      throw new ConfigurationError(
        `input 'render-service-id': expected a Render service id like srv-abc123, got '${serviceId}'`,
      );
    render = {
      apiKey: inputs.required('render-api-key'),
      apiUrl: (inputs.url('render-api-url') ?? new URL('https://api.render.com/v1')).toString().replace(/\/$/, ''),
      serviceId,
      commit: inputs.raw('commit') || undefined,
      timeoutMs: inputs.duration('deploy-timeout', '30m'),
    };
  }
  const smoke = inputs.has('smoke-url') || inputs.has('smoke-checks') ? parseSmoke(inputs) : undefined;
  const token = inputs.raw('github-token');
  const github = token
    ? {
        token,
        severity: inputs.enum('severity', SEVERITIES, 'P2'),
        slackWebhookUrl: inputs.url('slack-webhook-url', ['https:', 'http:'])?.toString(),
      }
    : undefined;
  if (!database && !render && !smoke) {
    throw new ConfigurationError(
      "input 'database-url', 'render-service-id' or 'smoke-url' is required: the checklist has nothing to do without one (backup and migrations, deploy, smoke test)",
    );
  }
  return { database, render, smoke, github, environment };
}

/** The smoke-test parser reads `url`, `checks`, `timeout`…: map the root action's smoke-* inputs onto those names (and back in messages). */
function parseSmoke(inputs: Inputs): SmokeOptions {
  const names: Record<string, string> = {
    url: 'smoke-url',
    checks: 'smoke-checks',
    'base-url': 'smoke-base-url',
    timeout: 'smoke-timeout',
    headers: 'smoke-headers',
  };
  try {
    return parseSmokeOptions(new Inputs((name) => (names[name] ? inputs.raw(names[name]) : '')));
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    throw new ConfigurationError(
      err.message.replace(/input '(url|checks|base-url|timeout|headers)/g, "input 'smoke-$1"),
    );
  }
}
