/** Turns the db-backup / db-restore inputs into typed options, before anything runs. */
import { ConfigurationError, inputError } from '../errors.js';
import type { Inputs } from '../inputs.js';
import { type PgClientSpec, parsePgClientSpec } from '../postgres/client.js';
import { type PgConnection, parsePgUrl } from '../postgres/connection.js';
import type { DumpFormat } from '../postgres/dump.js';
import { type RedisConnection, parseRedisUrl } from '../redis/redis.js';
import { type Compression, parseCompression, resolveCompression } from './compression.js';
import { type Encryption, encryptionFromInputs } from './encryption.js';
import { ALLOW_PLAINTEXT_INPUT, requireEncryptedArtifact } from './plaintext-artifact.js';
import {
  type DestinationSpec,
  type OptionalDestination,
  parseDestinationSpec,
  parseOptionalDestination,
  parseS3Settings,
} from '../storage/destination.js';
import { type BackupRef, parseBackupRef } from './locate.js';
import { type RetentionPolicy, parseRetention } from './retention.js';
import type { VerifyMode } from './verify.js';

export type Source = { engine: 'postgres'; conn: PgConnection } | { engine: 'redis'; conn: RedisConnection };

export function parseSource(input: string, raw: string): Source {
  if (/^rediss?:\/\//i.test(raw.trim())) return { engine: 'redis', conn: parseRedisUrl(input, raw) };
  return { engine: 'postgres', conn: parsePgUrl(input, raw) };
}

/** pg_dump options opskit sets itself; extra-args may not change them, however abbreviated or grouped. */
const RESERVED_LONG = [
  'file',
  'format',
  'dbname',
  'jobs',
  'compress',
  'snapshot',
  'host',
  'port',
  'username',
  'password',
  'no-password',
];
const RESERVED_SHORT = new Set(['f', 'F', 'd', 'j', 'Z', 'h', 'p', 'U', 'W', 'w']);
/** Short options of pg_dump that take a value: the rest of a group after one of them is that value. */
const SHORT_WITH_VALUE = new Set(['E', 'f', 'F', 'j', 'n', 'N', 't', 'T', 'Z', 'd', 'h', 'p', 'U', 'S', 'e']);

export function reservedPgDumpArg(arg: string): boolean {
  if (arg.startsWith('--')) {
    const name = arg.slice(2).split('=')[0]!;
    // getopt_long accepts any unambiguous prefix of a long option.
    return name.length > 0 && RESERVED_LONG.some((r) => r === name || (name.length >= 2 && r.startsWith(name)));
  }
  if (arg.startsWith('-') && arg.length > 1) {
    for (const letter of arg.slice(1)) {
      if (RESERVED_SHORT.has(letter)) return true;
      if (SHORT_WITH_VALUE.has(letter)) return false;
    }
  }
  return false;
}

export interface BackupConfig {
  source: Source;
  destination: DestinationSpec;
  nameTemplate: string;
  format: DumpFormat;
  jobs: number;
  compression: Compression;
  encryption: Encryption;
  verify: VerifyMode;
  retention?: RetentionPolicy;
  pgClient: PgClientSpec;
  extraArgs: string[];
}

export function parseBackupConfig(inputs: Inputs): BackupConfig {
  const source = parseSource('database-url', inputs.required('database-url'));
  const destination = parseDestinationSpec('destination', inputs.required('destination'), parseS3Settings(inputs));
  const format = inputs.enum('format', ['custom', 'directory', 'plain'] as const, 'custom');
  const jobs = inputs.integer('jobs', 1, 1, 64);
  if (jobs > 1 && format !== 'directory') {
    throw new ConfigurationError(
      `input 'jobs': a parallel dump needs format: directory (format is ${format}); leave jobs at 1`,
    );
  }
  const extraArgs = inputs.list('extra-args', { commas: false });
  for (const a of extraArgs) {
    if (reservedPgDumpArg(a))
      throw inputError(
        'extra-args',
        'pg_dump options other than those opskit sets (file, format, dbname, jobs, compress, snapshot, connection)',
        a,
      );
  }
  if (source.engine === 'redis' && (inputs.has('format') || jobs > 1 || extraArgs.length)) {
    throw new ConfigurationError(
      "inputs 'format', 'jobs' and 'extra-args' apply to PostgreSQL only; a Redis backup is always an RDB snapshot",
    );
  }
  const encryption = encryptionFromInputs(
    inputs.list('encrypt-to', { commas: false }),
    inputs.raw('encryption-passphrase'),
  );
  const verify = inputs.enum('verify', ['checksum', 'full', 'restore'] as const, 'full');
  if (source.engine === 'redis' && verify === 'restore') {
    throw new ConfigurationError(
      "input 'verify': restore applies to PostgreSQL; for Redis use full (redis-check-rdb) or checksum",
    );
  }
  requireEncryptedArtifact({
    input: 'destination',
    destination,
    encrypted: encryption.kind !== 'none',
    allowPlaintext: inputs.boolean(ALLOW_PLAINTEXT_INPUT, false),
    encryptionInputs: ['encrypt-to', 'encryption-passphrase'],
  });
  if (encryption.kind === 'recipients' && verify === 'restore') {
    throw new ConfigurationError(
      "input 'verify': restore reads the backup back decrypted, which needs the private key, and encrypt-to gives only public keys; use verify: full (the default: the archive is read whole before it is encrypted, and the stored bytes read back) or encryption-passphrase",
    );
  }
  return {
    source,
    destination,
    nameTemplate: inputs.string('name', '{db}-{timestamp}'),
    format,
    jobs,
    compression: resolveCompression(parseCompression('compression', inputs.raw('compression'))),
    encryption,
    verify,
    retention: parseRetention('retention', inputs.raw('retention')),
    pgClient: parsePgClientSpec('pg-client', inputs.raw('pg-client') || 'auto', inputs.raw('pg-bin-dir')),
    extraArgs,
  };
}

export interface RestoreConfig {
  /** The server (and for mode clean, the database) restored to; mode status may go without. */
  target?: PgConnection;
  source: BackupRef;
  /** status: find the backup and check it (max-age, archive present) without touching any database. */
  mode: 'new-database' | 'clean' | 'status';
  /** Refuse a backup older than this (mode status: fail when the newest is older: the RPO check). */
  maxAgeMs?: number;
  /** A Redis backup goes here, as dump.rdb (a Redis data directory). */
  targetDirectory?: string;
  targetDatabase?: string;
  confirm?: string;
  /** default: next to the source, in pre-restore/. */
  preRestoreBackup: OptionalDestination;
  jobs: number;
  identities: string[];
  passphrase?: string;
  drill: boolean;
  /** mode clean: accept a backup whose manifest names another database than the one replaced. */
  allowOtherDatabase: boolean;
  /** mode clean: keep `<db>__opskit_previous` after the swap. */
  keepPrevious: boolean;
  pgClient: PgClientSpec;
}

export function parseRestoreConfig(inputs: Inputs): RestoreConfig {
  const mode = inputs.enum('mode', ['new-database', 'clean', 'status'] as const, 'new-database');
  const targetDirectory = inputs.raw('target-directory') || undefined;
  if (targetDirectory && mode !== 'new-database')
    throw new ConfigurationError(
      `input 'target-directory' restores a Redis backup into a data directory (mode new-database), not mode ${mode}`,
    );
  const target =
    (mode === 'status' || targetDirectory) && !inputs.has('database-url')
      ? undefined
      : parsePgUrl('database-url', inputs.required('database-url'));
  const s3 = parseS3Settings(inputs);
  const source = parseBackupRef('source', inputs.required('source'), s3);
  const drill = inputs.boolean('drill', false);
  if (drill && mode === 'status')
    throw new ConfigurationError("inputs 'drill' and 'mode': mode status restores nothing; a drill restores");
  const maxAgeMs = inputs.optionalDuration('max-age');
  if (drill && mode === 'clean')
    throw new ConfigurationError(
      "inputs 'drill' and 'mode': a drill restores into a scratch database; it cannot use mode clean",
    );
  const targetDatabase = inputs.string('target-database') || undefined;
  if (targetDatabase && (mode === 'clean' || drill)) {
    throw new ConfigurationError(
      "input 'target-database' is for mode new-database; mode clean replaces the database named in database-url",
    );
  }
  if (targetDatabase && !/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(targetDatabase)) {
    throw inputError(
      'target-database',
      'a database name of letters, digits and _ (at most 63 characters)',
      targetDatabase,
    );
  }
  const allowOtherDatabase = inputs.boolean('allow-other-database', false);
  if (allowOtherDatabase && mode !== 'clean')
    throw new ConfigurationError(
      "input 'allow-other-database' is for mode clean (where the backup replaces the database named in database-url); a new database may be restored from any backup",
    );
  const preRestoreBackup = parseOptionalDestination('pre-restore-backup', inputs.raw('pre-restore-backup'), s3);
  const keepPrevious = inputs.boolean('keep-previous', false);
  if (keepPrevious && mode !== 'clean')
    throw new ConfigurationError(
      "input 'keep-previous' is for mode clean (it keeps the database the restore replaced); remove it or set mode: clean",
    );
  return {
    target,
    source,
    mode,
    maxAgeMs,
    targetDirectory,
    targetDatabase,
    confirm: inputs.string('confirm') || undefined,
    preRestoreBackup,
    jobs: inputs.integer('jobs', 1, 1, 64),
    identities: inputs.list('decrypt-with', { commas: false }),
    passphrase: inputs.raw('encryption-passphrase') || undefined,
    drill,
    allowOtherDatabase,
    keepPrevious,
    pgClient: parsePgClientSpec('pg-client', inputs.raw('pg-client') || 'auto', inputs.raw('pg-bin-dir')),
  };
}
