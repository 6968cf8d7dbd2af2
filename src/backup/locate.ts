/**
 * Finds a backup from what a person types: the archive's URI, its manifest's URI, or a prefix
 * ending in `latest` (`s3://bucket/nightly/latest`, `/backups/mydb-latest`): the newest verified
 * backup (one with a manifest) whose name starts with what comes before `latest`.
 */
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { type DestinationContext, type S3ConnectionOptions, parseDestination } from '../storage/index.js';
import type { Store } from '../storage/types.js';
import { type BackupManifest, MANIFEST_SUFFIX, parseManifest } from './manifest.js';

export interface LocatedBackup {
  store: Store;
  /** Key prefix of the folder holding the backup ('' or ending in `/`). */
  prefix: string;
  manifestKey: string;
  archiveKey: string;
  manifest: BackupManifest;
}

const ARCHIVE_EXT = /\.(dump|sql|tar|rdb)(\.(zst|gz|lz4))?(\.age)?$/;

export async function locateBackup(
  input: string,
  raw: string,
  s3: S3ConnectionOptions,
  ctx: DestinationContext,
): Promise<LocatedBackup> {
  const text = raw.trim().replace(/\/+$/, '');
  const cut = text.lastIndexOf('/');
  if (cut < 0 || text === 'artifact') {
    throw new ConfigurationError(
      `input '${input}': expected the URI of a backup (its archive or manifest), or a folder ending in /latest, like s3://bucket/nightly/latest`,
    );
  }
  const folder = text.slice(0, cut + 1);
  const base = text.slice(cut + 1);
  const { store, prefix } = parseDestination(input, folder, s3, ctx);
  let manifestKey: string;
  if (base.endsWith('latest')) {
    manifestKey = await newestManifest(store, prefix, base.slice(0, -'latest'.length), input);
  } else if (base.endsWith(MANIFEST_SUFFIX)) {
    manifestKey = prefix + base;
  } else if (ARCHIVE_EXT.test(base)) {
    manifestKey = prefix + base.replace(ARCHIVE_EXT, '') + MANIFEST_SUFFIX;
  } else {
    throw new ConfigurationError(
      `input '${input}': '${base}' is neither a backup archive (.dump, .sql, .tar, .rdb, with .zst/.gz/.lz4/.age) nor a manifest, nor ends in latest`,
    );
  }
  if (!(await store.exists(manifestKey))) {
    throw new ConfigurationError(
      `input '${input}': no manifest at ${store.uri(manifestKey)}; opskit writes it only once a backup is verified, so this backup is missing, unverified or not from opskit`,
    );
  }
  const manifest = parseManifest(await readText(store, manifestKey), store.uri(manifestKey));
  return { store, prefix, manifestKey, archiveKey: prefix + path.posix.basename(manifest.archive), manifest };
}

async function newestManifest(store: Store, prefix: string, series: string, input: string): Promise<string> {
  const found = (await store.list(prefix + series)).filter((o) => o.key.endsWith(MANIFEST_SUFFIX));
  let best: { key: string; at: number } | undefined;
  for (const o of found) {
    const at = Date.parse(parseManifest(await readText(store, o.key), store.uri(o.key)).createdAt);
    if (!best || at > best.at || (at === best.at && o.key > best.key)) best = { key: o.key, at };
  }
  if (!best)
    throw new ConfigurationError(`input '${input}': no verified backup found under ${store.uri(prefix + series)}`);
  return best.key;
}

export async function readText(store: Store, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
