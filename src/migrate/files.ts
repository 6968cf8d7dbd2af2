/**
 * Migration files of the built-in sql tool: `<version>_<name>.sql`, with an optional
 * `<version>_<name>.down.sql`, ordered by version (numbers or timestamps, compared as integers). The down SQL may
 * also live in a folder of its own, as guide 002 lays it out: `rollback/<version>_<name>.sql` (rollback-dir).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';

export interface MigrationFile {
  version: string;
  name: string;
  file: string;
  /** Path relative to the migrations directory's parent, for messages. */
  display: string;
  sql: string;
  checksum: string;
  transactional: boolean;
  down?: { file: string; sql: string };
}

const UP = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)\.sql$/;
const DOWN = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)\.down\.sql$/;
export const NO_TRANSACTION = /^--\s*opskit:no-transaction\s*$/;

export async function readMigrations(dir: string, rollbackDir?: string): Promise<MigrationFile[]> {
  const out = await readUpsAndDowns(dir);
  if (!rollbackDir) return out;
  let entries: string[];
  try {
    if (!(await stat(rollbackDir)).isDirectory()) throw new Error('not a directory');
    entries = (await readdir(rollbackDir)).filter((e) => e.endsWith('.sql')).sort();
  } catch {
    throw new ConfigurationError(
      `input 'rollback-dir': ${rollbackDir} is not a directory of rollback SQL (<version>_<name>.sql files)`,
    );
  }
  for (const e of entries) {
    const m = /^(\d+)_/.exec(e);
    const up = m ? out.find((u) => compareVersions(u.version, m[1]!) === 0) : undefined;
    if (!up) throw new ConfigurationError(`input 'rollback-dir': ${e} has no matching migration in ${dir}`);
    if (up.down)
      throw new ConfigurationError(
        `input 'rollback-dir': ${e} and ${path.basename(up.down.file)} are both the rollback of ${path.basename(up.file)}; keep one`,
      );
    up.down = { file: path.join(rollbackDir, e), sql: await readFile(path.join(rollbackDir, e), 'utf8') };
  }
  return out;
}

async function readUpsAndDowns(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    entries = await readdir(dir);
  } catch {
    throw new ConfigurationError(
      `input 'migrations-dir': ${dir} is not a directory of migrations (<version>_<name>.sql files)`,
    );
  }
  const downs = new Map<string, string>();
  const ups: { version: string; name: string; file: string }[] = [];
  for (const e of entries.sort()) {
    const d = DOWN.exec(e);
    if (d) {
      downs.set(d[1]!, e);
      continue;
    }
    const u = UP.exec(e);
    if (u) ups.push({ version: u[1]!, name: u[2]!, file: e });
    else if (e.endsWith('.sql')) {
      throw new ConfigurationError(
        `input 'migrations-dir': ${e} is not named <version>_<name>.sql (e.g. 20261121120000_add_users.sql)`,
      );
    }
  }
  ups.sort((a, b) => compareVersions(a.version, b.version));
  for (let i = 1; i < ups.length; i++) {
    if (compareVersions(ups[i - 1]!.version, ups[i]!.version) === 0) {
      throw new ConfigurationError(
        `input 'migrations-dir': ${ups[i - 1]!.file} and ${ups[i]!.file} have the same version`,
      );
    }
  }
  const out: MigrationFile[] = [];
  for (const u of ups) {
    const sql = await readFile(path.join(dir, u.file), 'utf8');
    const downFile = downs.get(u.version);
    out.push({
      ...u,
      file: path.join(dir, u.file),
      display: path.join(path.basename(dir), u.file),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional: !NO_TRANSACTION.test(sql.split(/\r?\n/, 1)[0] ?? ''),
      down: downFile
        ? { file: path.join(dir, downFile), sql: await readFile(path.join(dir, downFile), 'utf8') }
        : undefined,
    });
    downs.delete(u.version);
  }
  for (const orphan of downs.values()) {
    throw new ConfigurationError(`input 'migrations-dir': ${orphan} has no matching up migration`);
  }
  return out;
}

/** Versions compared as integers of any length (timestamps exceed 2^53). */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
