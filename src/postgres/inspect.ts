/** What we read from a live database: server version, user tables, exact row counts. */
import type pg from 'pg';
import { type PgConnection, connect, quoteIdent } from './connection.js';

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

/** The user tables (not extensions'), by name, or biggest first. */
export async function userTables(client: pg.Client, order: 'name' | 'size' = 'name'): Promise<TableRef[]> {
  const r = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      ORDER BY ${order === 'size' ? 'pg_relation_size(c.oid) DESC, 1, 2' : '1, 2'}`,
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

/**
 * Exact per-table row counts of a database nobody else writes to (a restored one), over up to `jobs`
 * connections at once, the biggest tables first. Tables in `known` (`schema.table` → rows, already
 * established) are taken from it and not scanned.
 */
export async function rowCountsParallel(
  conn: PgConnection,
  jobs: number,
  known?: ReadonlyMap<string, number>,
): Promise<Record<string, number>> {
  const first = await connect(conn);
  const clients = [first];
  try {
    const counts: Record<string, number> = {};
    const queue: TableRef[] = [];
    for (const t of await userTables(first, 'size')) {
      const rows = known?.get(`${t.schema}.${t.name}`);
      if (rows === undefined) queue.push(t);
      else counts[`${t.schema}.${t.name}`] = rows;
    }
    const width = Math.max(1, Math.min(jobs, queue.length));
    while (clients.length < width) clients.push(await connect(conn));
    await Promise.all(
      clients.map(async (c) => {
        for (let t = queue.shift(); t; t = queue.shift()) Object.assign(counts, await rowCounts(c, [t]));
      }),
    );
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}
