/**
 * What a clean restore needs from the server besides pg_restore: the databases it works beside the
 * target (`<db>__opskit_restore`, `<db>__opskit_previous`), what the target holds, its database-level
 * properties (encoding and locale, owner, ACL, `ALTER DATABASE … SET`, connection limit, comment),
 * and the swap: both renames in one transaction, so the server has either the old or the new
 * database under the target's name, never neither.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { quoteIdent } from './connection.js';
import { databaseExists } from './inspect.js';
import { dropDatabase } from './restore.js';

const MAX_NAME_BYTES = 63;

/**
 * The database a clean restore of `db` restores into (`restore`) or renames the old one to
 * (`previous`): `<db>__opskit_<role>`, or, when that is longer than PostgreSQL's 63 bytes, the
 * start of `db`, 8 hex digits of its sha256 and the suffix. The same `db` always gives the same name,
 * so the next run finds what an interrupted one left.
 */
export function sideDatabase(db: string, role: 'restore' | 'previous'): string {
  const suffix = `__opskit_${role}`;
  if (Buffer.byteLength(db + suffix) <= MAX_NAME_BYTES) return db + suffix;
  const tag = `_${createHash('sha256').update(db).digest('hex').slice(0, 8)}${suffix}`;
  const chars = Array.from(db);
  while (chars.length && Buffer.byteLength(chars.join('') + tag) > MAX_NAME_BYTES) chars.pop();
  return chars.join('') + tag;
}

/** What a database holds that a clean restore would replace (zero everywhere: nothing). */
export interface DatabaseContent {
  tables: number;
  views: number;
  materializedViews: number;
  sequences: number;
  foreignTables: number;
  functions: number;
  types: number;
  schemas: number;
  extensions: number;
  largeObjects: number;
}

const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;
const NOT_EXTENSION = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/** Everything in the database that is not the system's or an extension's, large objects included. */
export async function databaseContent(client: pg.Client): Promise<DatabaseContent> {
  const rel = (kinds: string) =>
    `(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN (${kinds}) AND ${USER_SCHEMA} AND ${NOT_EXTENSION('pg_class', 'c.oid')})`;
  const r = await client.query<Record<keyof DatabaseContent, string>>(
    `SELECT ${rel("'r', 'p'")} AS tables, ${rel("'v'")} AS views, ${rel("'m'")} AS "materializedViews",
            ${rel("'S'")} AS sequences, ${rel("'f'")} AS "foreignTables",
            (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE ${USER_SCHEMA} AND ${NOT_EXTENSION('pg_proc', 'p.oid')}) AS functions,
            (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE ${USER_SCHEMA} AND ${NOT_EXTENSION('pg_type', 't.oid')} AND t.typelem = 0
                AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')) AS types,
            (SELECT count(*) FROM pg_namespace n
              WHERE ${USER_SCHEMA} AND n.nspname <> 'public' AND ${NOT_EXTENSION('pg_namespace', 'n.oid')}) AS schemas,
            (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql') AS extensions,
            (SELECT count(*) FROM pg_largeobject_metadata) AS "largeObjects"`,
  );
  const row = r.rows[0]!;
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as DatabaseContent;
}

const CONTENT_WORDS: [keyof DatabaseContent, string, string][] = [
  ['tables', 'table', 'tables'],
  ['views', 'view', 'views'],
  ['materializedViews', 'materialized view', 'materialized views'],
  ['sequences', 'sequence', 'sequences'],
  ['foreignTables', 'foreign table', 'foreign tables'],
  ['functions', 'function', 'functions'],
  ['types', 'type', 'types'],
  ['schemas', 'schema besides public', 'schemas besides public'],
  ['extensions', 'extension', 'extensions'],
  ['largeObjects', 'large object', 'large objects'],
];

/** `3 tables, 1 materialized view, 4 large objects`, or '' when the database holds nothing. */
export function describeContent(c: DatabaseContent): string {
  return CONTENT_WORDS.filter(([k]) => c[k] > 0)
    .map(([k, one, many]) => `${c[k]} ${c[k] === 1 ? one : many}`)
    .join(', ');
}

/** A database's row of pg_database (every column, as JSON: the columns differ between versions), and its comment. */
export interface DatabaseProperties {
  oid: number;
  name: string;
  owner: string;
  encoding: string;
  tablespace: string;
  comment: string | null;
  /** The ACL, `coalesce(datacl, acldefault(…))` exploded; null when it is the default. */
  acl: AclEntry[] | null;
  /** `name=value` of `ALTER DATABASE … SET` (role ''), and of `ALTER ROLE … IN DATABASE … SET`. */
  settings: { role: string; config: string[] }[];
  row: Record<string, unknown>;
}

export interface AclEntry {
  grantor: string;
  /** '' for PUBLIC. */
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export async function databaseProperties(admin: pg.Client, name: string): Promise<DatabaseProperties> {
  const r = await admin.query<{
    oid: number;
    row: Record<string, unknown>;
    owner: string;
    encoding: string;
    tablespace: string;
    comment: string | null;
    default_acl: boolean;
  }>(
    `SELECT d.oid::int AS oid, to_jsonb(d) AS row, pg_get_userbyid(d.datdba) AS owner,
            pg_encoding_to_char(d.encoding) AS encoding, t.spcname AS tablespace,
            shobj_description(d.oid, 'pg_database') AS comment, d.datacl IS NULL AS default_acl
       FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1`,
    [name],
  );
  const p = r.rows[0];
  if (!p) throw new ExternalError(`database '${name}' does not exist`);
  return {
    oid: p.oid,
    name,
    owner: p.owner,
    encoding: p.encoding,
    tablespace: p.tablespace,
    comment: p.comment,
    acl: p.default_acl ? null : await aclOf(admin, name),
    settings: await settingsOf(admin, p.oid),
    row: p.row,
  };
}

async function aclOf(admin: pg.Client, name: string): Promise<AclEntry[]> {
  // In the ACL's own order: granting in that order gives the same datacl, item for item.
  const r = await admin.query<AclEntry>(
    `SELECT pg_get_userbyid(a.grantor) AS grantor, CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) WITH ORDINALITY AS a
      WHERE d.datname = $1 ORDER BY a.ordinality`,
    [name],
  );
  return r.rows;
}

async function settingsOf(admin: pg.Client, oid: number): Promise<{ role: string; config: string[] }[]> {
  const r = await admin.query<{ role: string; config: string[] }>(
    `SELECT CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole) END AS role, s.setconfig AS config
       FROM pg_db_role_setting s WHERE s.setdatabase = $1 ORDER BY 1`,
    [oid],
  );
  return r.rows;
}

/** A new, empty database with the encoding, locale and tablespace of `like` (as pg_dump --create makes one). */
export async function createDatabaseLike(admin: pg.Client, name: string, like: DatabaseProperties): Promise<void> {
  const row = like.row;
  const parts = [`TEMPLATE template0`, `ENCODING ${literal(like.encoding)}`];
  const provider = row.datlocprovider as string | undefined;
  parts.push(`LC_COLLATE ${literal(String(row.datcollate))}`, `LC_CTYPE ${literal(String(row.datctype))}`);
  const locale = (row.datlocale ?? row.daticulocale) as string | null | undefined;
  if (provider === 'i' && locale) {
    parts.push(`LOCALE_PROVIDER icu`, `ICU_LOCALE ${literal(locale)}`);
    if (row.daticurules) parts.push(`ICU_RULES ${literal(String(row.daticurules))}`);
  } else if (provider === 'b' && locale) {
    parts.push(`LOCALE_PROVIDER builtin`, `BUILTIN_LOCALE ${literal(locale)}`);
  }
  if (like.tablespace !== 'pg_default') parts.push(`TABLESPACE ${quoteIdent(like.tablespace)}`);
  await admin.query(`CREATE DATABASE ${quoteIdent(name)} ${parts.join(' ')}`);
}

/**
 * Gives `into` the database-level properties of `from`: owner, ACL (grant by grant, each from its
 * grantor), `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET`, connection limit, template
 * flag and comment; then reads them back and fails when they differ.
 */
export async function copyDatabaseSettings(admin: pg.Client, from: DatabaseProperties, into: string): Promise<void> {
  const db = quoteIdent(into);
  const run = (sql: string) => admin.query(sql);
  await run(`ALTER DATABASE ${db} OWNER TO ${quoteIdent(from.owner)}`);
  if (from.acl) {
    await run(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    await run(`REVOKE ALL ON DATABASE ${db} FROM ${quoteIdent(from.owner)}`);
    const me = (await admin.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    for (const a of from.acl) {
      const to = a.grantee === '' ? 'PUBLIC' : quoteIdent(a.grantee);
      const grant = `GRANT ${a.privilege} ON DATABASE ${db} TO ${to}${a.grantable ? ' WITH GRANT OPTION' : ''}`;
      // A superuser's (or the owner's) grant is recorded as the owner's; others are granted as their grantor.
      if (a.grantor === from.owner || a.grantor === me) await run(grant);
      else await run(`SET ROLE ${quoteIdent(a.grantor)}; ${grant}; RESET ROLE`);
    }
  }
  for (const s of from.settings) {
    const target = s.role === '' ? `DATABASE ${db}` : `ROLE ${quoteIdent(s.role)} IN DATABASE ${db}`;
    for (const entry of s.config) await run(`ALTER ${target} ${setClause(entry)}`);
  }
  const limit = Number(from.row.datconnlimit ?? -1);
  if (limit >= 0) await run(`ALTER DATABASE ${db} CONNECTION LIMIT ${limit}`);
  if (from.comment !== null) await run(`COMMENT ON DATABASE ${db} IS ${literal(from.comment)}`);
  if (from.row.datistemplate === true) await run(`ALTER DATABASE ${db} IS_TEMPLATE true`);

  const copied = await databaseProperties(admin, into);
  const differences: string[] = [];
  if (copied.owner !== from.owner) differences.push(`owner ${copied.owner}, expected ${from.owner}`);
  const acl = async (p: DatabaseProperties) =>
    (p.acl ?? (await aclOf(admin, p.name))).map((a) => JSON.stringify(a)).sort();
  if (JSON.stringify(await acl(copied)) !== JSON.stringify(await acl(from)))
    differences.push('the ACL (grants) differs');
  if (JSON.stringify(copied.settings) !== JSON.stringify(from.settings))
    differences.push('the ALTER DATABASE … SET settings differ');
  if (differences.length)
    throw new ExternalError(
      `could not give ${into} the database-level settings of ${from.name}: ${differences.join('; ')}`,
    );
}

/** GUCs whose value is a list of quoted items (pg_dump's variable_is_guc_list_quote). */
const LIST_GUCS = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
]);

/** `SET "name" TO 'value'` from a pg_db_role_setting entry `name=value`, as pg_dump writes it. */
export function setClause(entry: string): string {
  const eq = entry.indexOf('=');
  const name = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  const values = LIST_GUCS.has(name.toLowerCase()) ? splitGucList(value) : [value];
  return `SET ${quoteIdent(name)} TO ${values.map(literal).join(', ')}`;
}

/** Splits a list GUC's stored value (`"$user", public`) into its items, dequoted, as pg_dump's SplitGUCList. */
export function splitGucList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < value.length && /\s/.test(value[i]!)) i++;
  };
  skipSpace();
  if (i >= value.length) return [''];
  for (;;) {
    let item = '';
    if (value[i] === '"') {
      for (i++; i < value.length; i++) {
        if (value[i] === '"') {
          if (value[i + 1] !== '"') break;
          i++;
        }
        item += value[i];
      }
      i++;
    } else {
      while (i < value.length && value[i] !== ',' && !/\s/.test(value[i]!)) item += value[i++];
    }
    out.push(item);
    skipSpace();
    if (value[i] !== ',') break;
    i++;
    skipSpace();
  }
  return out;
}

/**
 * Replaces `db` by `side`: in one transaction, ends the sessions on `db`, renames it to `previous`
 * and `side` to `db`. PostgreSQL commits both renames or neither. Retried when a session reconnects
 * between the termination and the rename.
 */
export async function swapDatabases(
  admin: pg.Client,
  names: { db: string; side: string; previous: string },
  dbExists: boolean,
): Promise<void> {
  const q = quoteIdent;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query('BEGIN');
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
        [[names.db, names.side]],
      );
      if (dbExists) await admin.query(`ALTER DATABASE ${q(names.db)} RENAME TO ${q(names.previous)}`);
      await admin.query(`ALTER DATABASE ${q(names.side)} RENAME TO ${q(names.db)}`);
      await admin.query('COMMIT');
      return;
    } catch (err) {
      await admin.query('ROLLBACK').catch(() => undefined);
      if (attempt < 5 && /being accessed by other users/.test(errorMessage(err))) continue;
      throw new ExternalError(`could not swap ${names.side} in for ${names.db}: ${errorMessage(err)}`);
    }
  }
}

/** One clean restore of a database at a time on a server (a session-level advisory lock, gone with the session). */
export async function lockCleanRestore(admin: pg.Client, db: string): Promise<void> {
  const r = await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
    `opskit clean restore ${db}`,
  ]);
  if (!r.rows[0]!.ok)
    throw new ExternalError(
      `another clean restore of '${db}' is running on this server (it holds opskit's lock); nothing was changed`,
    );
}

/**
 * Puts right what an interrupted clean restore of `db` left (the caller holds lockCleanRestore):
 * - `<db>__opskit_previous` without `<db>`: the old database lost its name and nothing took it
 *   (the swap's renames are one transaction, so only a hand-made change gets here): renamed back;
 * - `<db>__opskit_restore`: an unfinished restore, never swapped in: dropped.
 * A `<db>__opskit_previous` beside `<db>` (kept with keep-previous, or a run stopped after its swap)
 * is dropped by the next swap. Returns what was done, in words.
 */
export async function recoverInterruptedSwap(admin: pg.Client, db: string, logger: Logger): Promise<string[]> {
  const side = sideDatabase(db, 'restore');
  const previous = sideDatabase(db, 'previous');
  const done: string[] = [];
  if (!(await databaseExists(admin, db)) && (await databaseExists(admin, previous))) {
    await admin.query(`ALTER DATABASE ${quoteIdent(previous)} RENAME TO ${quoteIdent(db)}`);
    done.push(`found ${previous} but no ${db} (an interrupted swap): renamed ${previous} back to ${db}`);
  }
  if (await databaseExists(admin, side)) {
    await dropDatabase(admin, side);
    done.push(`dropped ${side}, the unfinished restore of an interrupted run (never swapped in)`);
  }
  for (const line of done) logger.warning(line);
  return done;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
