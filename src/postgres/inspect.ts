/** What we read from a live database: server version, user tables, exact row counts. */
import type pg from 'pg';
import { quoteIdent } from './connection.js';

export interface ServerInfo {
  versionNum: number;
  major: number;
  version: string;
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const r = await client.query<{ n: string; v: string }>(
    "SELECT current_setting('server_version_num') AS n, current_setting('server_version') AS v",
  );
  const num = Number(r.rows[0]!.n);
  return { versionNum: num, major: Math.floor(num / 10000), version: r.rows[0]!.v.split(' ')[0]! };
}

export interface TableRef {
  schema: string;
  name: string;
}

export async function userTables(client: pg.Client): Promise<TableRef[]> {
  const r = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return r.rows;
}

/** Exact per-table row counts (`schema.table` → rows), in the client's current snapshot. */
export async function rowCounts(client: pg.Client, tables?: TableRef[]): Promise<Record<string, number>> {
  const list = tables ?? (await userTables(client));
  const counts: Record<string, number> = {};
  for (const t of list) {
    const r = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
    );
    counts[`${t.schema}.${t.name}`] = Number(r.rows[0]!.n);
  }
  return counts;
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}
