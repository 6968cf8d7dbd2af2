/**
 * Finds a backup from what a person types: the archive's URI, its manifest's URI, or a folder ending
 * in `latest`: the newest complete backup (one with a manifest) of one series of one database in that
 * folder (not in its subfolders).
 *
 * - `s3://bucket/nightly/app-latest`: the series whose literal head is `app-` (`app-{timestamp}`; not
 *   `app-pre-deploy-{timestamp}`, whose head is `app-pre-deploy-`).
 * - `s3://bucket/nightly/latest`: any series in the folder, as long as there is only one (after keeping
 *   the expected database's, when one is expected); otherwise the error lists them and says what to write.
 *
 * With an expected database (db-restore mode clean: the one it replaces), a backup of another database is
 * refused, naming the database it is of, unless `allowOtherDatabase`. Manifests that predate the `series`
 * field get it from their name (names.ts inferSeries); one without a `database` is of no known database,
 * so it is refused where a database is expected, unless `allowOtherDatabase`.
 */
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { type DestinationSpec, type StoreContext, openStore, parseDestinationSpec } from '../storage/destination.js';
import type { S3Settings, Store } from '../storage/types.js';
import { ARCHIVE_EXT, type BackupManifest, MANIFEST_SUFFIX, parseManifest } from './manifest.js';
import { seriesHead } from './names.js';
import { type FolderBackup, listFolder, readText } from './series.js';

export { readText };

/** A backup as the `source` input names it, checked (parseBackupRef) but not yet looked up. */
export interface BackupRef {
  /** The input it came from, for messages. */
  input: string;
  /** The folder holding the backup. */
  folder: DestinationSpec;
  /** The newest of a series (`head`: the series' literal head, '' for any), or one manifest by name. */
  pick: { latest: string } | { manifest: string };
}

export interface LocatedBackup {
  store: Store;
  /** Key prefix of the folder holding the backup ('' or ending in `/`). */
  prefix: string;
  manifestKey: string;
  archiveKey: string;
  manifest: BackupManifest;
}

export interface BackupExpectation {
  /** The database the backup must be of (db-restore mode clean: the database it replaces). */
  database?: string;
  /** Accept a backup of another database (input allow-other-database). */
  allowOtherDatabase?: boolean;
}

export function parseBackupRef(input: string, raw: string, s3: S3Settings = {}): BackupRef {
  const text = raw.trim().replace(/\/+$/, '');
  const cut = text.lastIndexOf('/');
  if (cut < 0 || text === 'artifact') {
    throw new ConfigurationError(
      `input '${input}': expected the URI of a backup (its archive or manifest), or a folder ending in /latest, like s3://bucket/nightly/latest`,
    );
  }
  const folder = parseDestinationSpec(input, text.slice(0, cut + 1), s3);
  const base = text.slice(cut + 1);
  if (base.endsWith('latest')) return { input, folder, pick: { latest: base.slice(0, -'latest'.length) } };
  if (base.endsWith(MANIFEST_SUFFIX)) return { input, folder, pick: { manifest: base } };
  if (ARCHIVE_EXT.test(base))
    return { input, folder, pick: { manifest: base.replace(ARCHIVE_EXT, '') + MANIFEST_SUFFIX } };
  throw new ConfigurationError(
    `input '${input}': '${base}' is neither a backup archive (.dump, .sql, .tar, .rdb, with .zst/.gz/.lz4/.age) nor a manifest, nor ends in latest`,
  );
}

export async function locateBackup(
  ref: BackupRef,
  ctx: StoreContext,
  expected: BackupExpectation = {},
): Promise<LocatedBackup> {
  const { input } = ref;
  const { store, prefix } = openStore(ref.folder, ctx, input);
  const manifestKey =
    'latest' in ref.pick
      ? await newestManifest(store, prefix, ref.pick.latest, input, expected)
      : prefix + ref.pick.manifest;
  if (!(await store.exists(manifestKey))) {
    throw new ConfigurationError(
      `input '${input}': no manifest at ${store.uri(manifestKey)}; opskit writes it only once a backup is verified, so this backup is missing, unverified or not from opskit`,
    );
  }
  const manifest = parseManifest(await readText(store, manifestKey), store.uri(manifestKey));
  const want = expected.database;
  if (want !== undefined && !expected.allowOtherDatabase && manifest.database !== want) {
    const of =
      manifest.database === undefined
        ? 'of no known database (its manifest does not say)'
        : `of database '${manifest.database}'`;
    throw new ConfigurationError(
      `input '${input}': ${store.uri(prefix + path.posix.basename(manifest.archive))} is a backup ${of}, not of '${want}', the database it would replace; set allow-other-database: true to restore it anyway`,
    );
  }
  return { store, prefix, manifestKey, archiveKey: prefix + path.posix.basename(manifest.archive), manifest };
}

async function newestManifest(
  store: Store,
  prefix: string,
  head: string,
  input: string,
  expected: BackupExpectation,
): Promise<string> {
  const where = store.uri(prefix);
  const listing = await listFolder(store, prefix, { namePrefix: head });
  let found = listing.backups.filter((b) => !head || seriesHead(b.series) === head);
  const want = expected.database;
  if (want !== undefined && !expected.allowOtherDatabase) {
    const mine = found.filter((b) => b.manifest.database === want);
    if (mine.length === 0 && found.length > 0) {
      throw new ConfigurationError(
        `input '${input}': no backup of database '${want}' under ${where}${head}…; it holds backups of ${describeGroups(groupsOf(found))}. Restore one of them by its URI with allow-other-database: true, or point source at the folder of ${want}'s backups`,
      );
    }
    found = mine;
  }
  if (found.length === 0) {
    const skipped = listing.unreadable.length
      ? ` (${listing.unreadable.length} manifest(s) could not be read: ${listing.unreadable[0]!.reason})`
      : '';
    throw new ConfigurationError(
      `input '${input}': no verified backup found under ${store.uri(prefix + head)}${skipped}`,
    );
  }
  const groups = groupsOf(found);
  if (groups.length > 1) {
    const heads = groups.map((g) => seriesHead(g.series));
    const hints = groups
      .filter((g) => heads.filter((h) => h === seriesHead(g.series)).length === 1 && seriesHead(g.series) !== '')
      .map((g) => store.uri(`${prefix}${seriesHead(g.series)}latest`));
    throw new ConfigurationError(
      `input '${input}': ${store.uri(`${prefix}${head}latest`)} is ambiguous: the folder holds ${groups.length} series, ${describeGroups(groups)}; ` +
        (hints.length
          ? `write the series before latest (${hints.join(', ')}) or give a backup's URI`
          : "give a backup's URI"),
    );
  }
  return groups[0]!.newest.manifestKey;
}

interface SeriesGroup {
  series: string;
  database: string | undefined;
  newest: FolderBackup;
}

/** The backups by (database, series), each with its newest (by creation time, then key), in a stable order. */
function groupsOf(backups: FolderBackup[]): SeriesGroup[] {
  const groups = new Map<string, SeriesGroup>();
  for (const b of backups) {
    const id = `${b.manifest.database ?? ''}\u0000${b.series}`;
    const g = groups.get(id);
    if (!g) groups.set(id, { series: b.series, database: b.manifest.database, newest: b });
    else if (newer(b, g.newest)) g.newest = b;
  }
  return [...groups.values()].sort((a, b) => (a.series === b.series ? 0 : a.series < b.series ? -1 : 1));
}

function newer(a: FolderBackup, b: FolderBackup): boolean {
  const d = a.createdAt.getTime() - b.createdAt.getTime();
  return d > 0 || (d === 0 && a.manifestKey > b.manifestKey);
}

function describeGroups(groups: SeriesGroup[]): string {
  return groups
    .map((g) => `${g.series} (database ${g.database ?? 'unknown'}, newest ${g.newest.createdAt.toISOString()})`)
    .join(', ');
}
