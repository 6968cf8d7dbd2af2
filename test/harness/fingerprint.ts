/**
 * What a database is, for tests that interrupt work on it: per-table row counts and the schema
 * (pg_dump --schema-only), and its database-level settings (owner, ACL, ALTER DATABASE … SET and
 * ALTER ROLE … IN DATABASE … SET, connection limit, comment). And what opskit must never leave behind:
 * temp databases (`opskit_*`, `*__opskit_*`), partial files, archives without a manifest, temp copies.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type PgServer, quoteLiteral, rowCounts, schemaDump } from './postgres.js';

export interface Fingerprint {
  rows: Record<string, number>;
  schema: string;
  settings: DatabaseSettings;
}

export interface DatabaseSettings {
  owner: string;
  acl: string;
  config: string;
  connlimit: string;
  comment: string;
}

export async function fingerprint(pg: PgServer, db: string): Promise<Fingerprint> {
  const [rows, schema, settings] = await Promise.all([rowCounts(pg, db), schemaDump(pg, db), databaseSettings(pg, db)]);
  return { rows, schema, settings };
}

export async function databaseSettings(pg: PgServer, db: string): Promise<DatabaseSettings> {
  const q = (sql: string) => pg.psql(sql);
  const where = `WHERE datname = ${quoteLiteral(db)}`;
  return {
    owner: await q(`SELECT pg_get_userbyid(datdba) FROM pg_database ${where}`),
    acl: await q(`SELECT coalesce(datacl::text, 'default') FROM pg_database ${where}`),
    config: await q(
      `SELECT coalesce(string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || ':' || array_to_string(s.setconfig, '|'), ';' ORDER BY s.setrole), '')
         FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase ${where.replace('datname', 'd.datname')}`,
    ),
    connlimit: await q(`SELECT datconnlimit FROM pg_database ${where}`),
    comment: await q(`SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database ${where}`),
  };
}

/** Databases opskit makes for a while: opskit_verify_*, opskit_drill_*, <db>__opskit_restore, <db>__opskit_previous. */
export async function opskitDatabases(pg: PgServer): Promise<string[]> {
  const out = await pg.psql(
    `SELECT datname FROM pg_database WHERE datname LIKE 'opskit\\_%' OR datname LIKE '%\\_\\_opskit\\_%' ORDER BY 1`,
  );
  return out ? out.split('\n') : [];
}

/** Every file under `dir`, relative, sorted (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`);
      else out.push(`${rel}${name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

/**
 * What is wrong with a backup folder after an interruption: a `.partial-*` file, or an archive
 * without its manifest (one retention never removes) or a manifest without its archive.
 */
export function leftoversIn(dir: string): string[] {
  const files = filesUnder(dir);
  const problems = files.filter((f) => /\.partial-/.test(f)).map((f) => `partial file ${f}`);
  const manifests = new Set(
    files.filter((f) => f.endsWith('.manifest.json')).map((f) => f.replace(/\.manifest\.json$/, '')),
  );
  const archives = files.filter((f) => /\.(dump|sql|tar|rdb)(\.[a-z0-9]+)*$/.test(f) && !/\.partial-/.test(f));
  for (const a of archives) {
    const base = a.replace(/\.(dump|sql|tar|rdb)(\.[a-z0-9]+)*$/, '');
    if (!manifests.has(base)) problems.push(`archive without a manifest ${a}`);
    manifests.delete(base);
  }
  for (const m of manifests) problems.push(`manifest without an archive ${m}.manifest.json`);
  return problems;
}
