/**
 * The backups in one folder of a store, each with its series and database: what `latest` (locate.ts)
 * and retention (retention.ts) choose from. Only the folder itself is read, never a subfolder: the
 * pre-restore backups db-restore keeps in `pre-restore/` are another folder's business.
 */
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { sanitizeArtifactName } from '../storage/artifact.js';
import type { Store } from '../storage/types.js';
import { mapWithConcurrency } from '../util/pool.js';
import { ARCHIVE_EXT, type BackupManifest, MANIFEST_SUFFIX, parseManifest, seriesOf } from './manifest.js';

export interface FolderBackup {
  manifestKey: string;
  archiveKey: string;
  manifest: BackupManifest;
  /** From the manifest, or inferred from its name for manifests that predate the field. */
  series: string;
  createdAt: Date;
}

/** An archive with no manifest beside it: a backup that never completed (or whose manifest was deleted first). */
export interface OrphanArchive {
  key: string;
  /** The backup name the archive carries (its file name without the extensions). */
  name: string;
  lastModified: Date;
}

export interface FolderListing {
  backups: FolderBackup[];
  orphans: OrphanArchive[];
  /** Manifests that could not be read or parsed, with the reason; their archives are never orphans. */
  unreadable: { key: string; reason: string }[];
}

const READ_CONCURRENCY = 8;

/**
 * Lists the folder `prefix` ('' or ending in `/`): the complete backups (those with a manifest) and the
 * orphaned archives. `namePrefix` narrows the listing (the store lists by key prefix); `names`, when
 * given, keeps only backups and archives whose name it accepts, before any manifest is read.
 */
export async function listFolder(
  store: Store,
  prefix: string,
  options: { namePrefix?: string; names?: (name: string) => boolean } = {},
): Promise<FolderListing> {
  const accept = options.names ?? (() => true);
  // An artifact store has no folders: it lists `nightly/app-….dump` as `nightly-app-….dump` (its artifact
  // name, which it also takes as a key). There the folder is the flattened prefix.
  const folder = store.kind === 'artifact' ? sanitizeArtifactName(prefix) : prefix;
  /** The object's file name when it lies in the folder itself (not in a subfolder), else undefined. */
  const nameIn = (key: string): string | undefined =>
    key.startsWith(folder) && !key.slice(folder.length).includes('/') ? key.slice(folder.length) : undefined;
  const objects = (await store.list(prefix + (options.namePrefix ?? ''))).flatMap((o) => {
    const base = nameIn(o.key);
    return base === undefined ? [] : [{ ...o, base }];
  });
  const manifestNames = new Set<string>();
  const manifestKeys: string[] = [];
  for (const o of objects) {
    if (!o.key.endsWith(MANIFEST_SUFFIX)) continue;
    const name = o.base.slice(0, -MANIFEST_SUFFIX.length);
    manifestNames.add(name);
    if (accept(name)) manifestKeys.push(o.key);
  }

  const unreadable: FolderListing['unreadable'] = [];
  const read = await mapWithConcurrency(manifestKeys, READ_CONCURRENCY, async (key) => {
    try {
      const manifest = parseManifest(await readText(store, key), store.uri(key));
      const createdAt = new Date(manifest.createdAt);
      if (Number.isNaN(createdAt.getTime())) throw new Error(`${store.uri(key)} has no valid createdAt`);
      const archiveKey = prefix + path.posix.basename(manifest.archive);
      return { manifestKey: key, archiveKey, manifest, series: seriesOf(manifest), createdAt };
    } catch (err) {
      unreadable.push({ key, reason: errorMessage(err) });
      return undefined;
    }
  });
  const backups = read.filter((b): b is FolderBackup => b !== undefined);

  const referenced = new Set(backups.map((b) => path.posix.basename(b.archiveKey)));
  const orphans: OrphanArchive[] = [];
  for (const o of objects) {
    if (!ARCHIVE_EXT.test(o.base)) continue;
    const name = o.base.replace(ARCHIVE_EXT, '');
    if (!accept(name) || manifestNames.has(name) || referenced.has(o.base)) continue;
    orphans.push({ key: o.key, name, lastModified: o.lastModified });
  }
  return { backups, orphans, unreadable };
}

export async function readText(store: Store, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
