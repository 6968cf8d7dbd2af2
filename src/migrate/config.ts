/** migrate-with-backup inputs → typed options, all checked before anything runs. */
import path from 'node:path';
import { type Compression, parseCompression, resolveCompression } from '../backup/compression.js';
import { ALLOW_PLAINTEXT_INPUT, requireEncryptedArtifact } from '../backup/plaintext-artifact.js';
import { ConfigurationError } from '../errors.js';
import type { Inputs } from '../inputs.js';
import { type PgClientSpec, parsePgClientSpec } from '../postgres/client.js';
import { type PgConnection, parsePgUrl } from '../postgres/connection.js';
import { type OptionalDestination, parseOptionalDestination, parseS3Settings } from '../storage/destination.js';
import { parseCommand } from './command.js';
import type { ExternalTool } from './tools.js';

/** What a failed migration leaves: the database put back from the backup, its down SQL run, or as it is. */
export type OnFailure = 'restore' | 'down' | 'keep';

export interface MigrateConfig {
  conn: PgConnection;
  tool: 'sql' | ExternalTool;
  command?: string[];
  migrationsDir: string;
  /** Down SQL in a folder of its own (guide 002: rollback/<version>_<name>.sql). */
  rollbackDir?: string;
  /** Roll the database back to this version (the down SQL of every newer applied migration, newest first). */
  migrateTo?: string;
  /** default: a file under RUNNER_TEMP, kept as a workflow artifact; none: no backup (on-failure keep only). */
  backupDestination: OptionalDestination;
  /** The default backup may be kept as a workflow artifact although it is not encrypted. */
  allowPlaintextArtifact: boolean;
  compression: Compression;
  onFailure: OnFailure;
  dryRun: boolean;
  lint: 'error' | 'warn' | 'off';
  allowDestructive: boolean;
  allowOutOfOrder: boolean;
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
  waitForLockMs: number;
  pgClient: PgClientSpec;
}

export function parseMigrateConfig(inputs: Inputs, cwd: string): MigrateConfig {
  const conn = parsePgUrl('database-url', inputs.required('database-url'));
  const tool = inputs.enum('tool', ['sql', 'knex', 'alembic', 'prisma', 'supabase', 'command'] as const, 'sql');
  const command = inputs.has('command') ? parseCommand('command', inputs.raw('command')) : undefined;
  if (tool === 'command' && !command) throw new ConfigurationError("input 'command' is required with tool: command");
  const onFailure = inputs.enum('on-failure', ['restore', 'down', 'keep'] as const, 'restore');
  const backupDestination = parseOptionalDestination(
    'backup-destination',
    inputs.raw('backup-destination'),
    parseS3Settings(inputs),
  );
  if (backupDestination === 'none' && onFailure !== 'keep') {
    throw new ConfigurationError(
      `input 'backup-destination': none is accepted only with on-failure: keep (on-failure is ${onFailure}, which needs a backup or down files to put the database back)`,
    );
  }
  if (onFailure === 'down' && (tool === 'prisma' || tool === 'supabase' || tool === 'command')) {
    throw new ConfigurationError(
      `input 'on-failure': down needs down migrations, which ${tool} does not have; use restore or keep`,
    );
  }
  const allowPlaintextArtifact = inputs.boolean(ALLOW_PLAINTEXT_INPUT, false);
  // The pre-migration backup is not encrypted (it is read back to restore on failure).
  requireEncryptedArtifact({
    input: 'backup-destination',
    destination: backupDestination,
    encrypted: false,
    allowPlaintext: allowPlaintextArtifact,
    encryptionInputs: [],
  });
  const migrationsDir = path.resolve(cwd, inputs.string('migrations-dir', 'migrations'));
  const migrateTo = inputs.raw('migrate-to') || undefined;
  if (migrateTo !== undefined && !/^\d+$/.test(migrateTo))
    throw new ConfigurationError(
      `input 'migrate-to': expected the version of a migration to go back to (the number its file name starts with, e.g. 20250115 or 0 for none), got '${migrateTo}'`,
    );
  const rollbackDir = inputs.raw('rollback-dir') ? path.resolve(cwd, inputs.raw('rollback-dir')) : undefined;
  for (const [name, given] of [
    ['migrate-to', migrateTo],
    ['rollback-dir', rollbackDir],
  ] as const)
    if (given !== undefined && tool !== 'sql')
      throw new ConfigurationError(
        `input '${name}' works with tool: sql (its down SQL files); with ${tool}, use the tool's own rollback as command`,
      );
  return {
    conn,
    tool,
    command,
    migrationsDir,
    rollbackDir,
    migrateTo,
    backupDestination,
    allowPlaintextArtifact,
    compression: resolveCompression(parseCompression('compression', inputs.raw('compression'))),
    onFailure,
    dryRun: inputs.boolean('dry-run', false),
    lint: inputs.enum('lint', ['error', 'warn', 'off'] as const, 'error'),
    allowDestructive: inputs.boolean('allow-destructive', false),
    allowOutOfOrder: inputs.boolean('allow-out-of-order', false),
    lockTimeoutMs: inputs.duration('lock-timeout', '5s'),
    statementTimeoutMs: inputs.optionalDuration('statement-timeout'),
    waitForLockMs: inputs.duration('wait-for-lock', '10m'),
    pgClient: parsePgClientSpec('pg-client', inputs.raw('pg-client') || 'auto', inputs.raw('pg-bin-dir')),
  };
}
