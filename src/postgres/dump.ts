/** pg_dump as a stream, in a snapshot shared with the row counts, so both describe the same instant. */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { killChild, type RunningProducer, spawnTool } from '../util/child.js';
import type { PgClient } from './client.js';
import type { PgConnection } from './connection.js';

export type DumpFormat = 'custom' | 'directory' | 'plain';

export const FORMAT_EXTENSION: Record<DumpFormat, string> = { custom: '.dump', directory: '.tar', plain: '.sql' };

export interface DumpOptions {
  conn: PgConnection;
  client: PgClient;
  format: DumpFormat;
  jobs: number;
  snapshot?: string;
  extraArgs: string[];
  tempDir: string;
  /** Aborting stops pg_dump (directory format: before its tar starts; after, the caller's pipeline stops tar). */
  signal?: AbortSignal;
}

export function dumpArgs(o: DumpOptions, directory?: string): string[] {
  const args = ['--no-password', `--dbname=${o.conn.libpqUrl}`];
  if (o.snapshot) args.push(`--snapshot=${o.snapshot}`);
  if (o.format === 'custom') args.push('--format=custom', '--compress=0');
  if (o.format === 'plain') args.push('--format=plain');
  if (o.format === 'directory')
    args.push('--format=directory', '--compress=0', `--jobs=${o.jobs}`, `--file=${directory}`);
  return [...args, ...o.extraArgs];
}

/**
 * Custom and plain formats stream from pg_dump's stdout (into `into`, a pipe, when given); directory
 * format dumps to a temp dir, then streams it as tar. See RawProducer (backup/archive.ts).
 */
export async function startDump(o: DumpOptions, into?: Writable): Promise<RunningProducer> {
  const secrets = [o.conn.password];
  if (o.format !== 'directory') {
    const tool = spawnTool(o.client.bin('pg_dump'), dumpArgs(o), {
      env: { ...o.conn.env, ...o.client.env },
      secrets,
      stdout: into ?? 'pipe',
    });
    into?.destroy();
    return { stream: into ? undefined : tool.stdout, done: tool.done, kill: () => killChild(tool) };
  }
  const dir = await mkdtemp(path.join(o.tempDir, 'opskit-dump-'));
  const target = path.join(dir, 'dump');
  try {
    await spawnTool(o.client.bin('pg_dump'), dumpArgs(o, target), {
      env: { ...o.conn.env, ...o.client.env },
      secrets,
      stdout: 'ignore',
      signal: o.signal,
    }).done;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    into?.destroy();
    throw err;
  }
  const tar = spawnTool('tar', ['-cf', '-', '-C', target, '.'], { stdout: into ?? 'pipe' });
  into?.destroy();
  const done = tar.done.finally(() => rm(dir, { recursive: true, force: true }));
  return { stream: into ? undefined : tar.stdout, done, kill: () => killChild(tar) };
}
