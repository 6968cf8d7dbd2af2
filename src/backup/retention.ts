/**
 * Backup retention for db-backup: which older backups to delete once a new one is verified.
 *
 * The `retention` input takes comma (or line) separated rules:
 * - `keep-last=N`: the N newest backups.
 * - `daily=N`, `weekly=N`, `monthly=N`, `yearly=N` (grandfather-father-son, like restic/borg `--keep-daily`):
 *   walking newest first, the newest backup of each UTC calendar day / ISO week / calendar month / year is
 *   kept, for the N most recent such periods that have a backup.
 * - `max-age=30d`: a hard cap applied after the rules above: anything created before now - max-age is
 *   deleted even if a rule keeps it. With no count rule, max-age alone keeps everything younger.
 * A backup is kept when any count rule keeps it. `off`, `none` or empty means no retention (nothing deleted).
 *
 * Whatever the policy, the backup just made (`current`) is always kept, and planRetention refuses to plan
 * from a listing that does not contain it. It is applied only after the new backup has been verified,
 * and only to backups of the same series of the same database in the same folder (applyRetention):
 * `app-{timestamp}` never touches `app-pre-deploy-{timestamp}`, nor anything in a subfolder.
 *
 * Each old backup is deleted manifest first, then its archive: an interruption in between leaves an
 * archive without a manifest, which nothing takes for a backup, and which the next run removes as an
 * orphan; never a manifest that points at nothing.
 *
 * Orphans: an archive of the series with no manifest (a run that was killed before it completed, or one
 * interrupted between the two deletes) is removed once a complete backup of the series other than the
 * current one was started after the orphan was last written. So an orphan goes one run later than it
 * could: a concurrent run of the same series whose archive is still being verified, and so has no
 * manifest yet, is never mistaken for one. An orphan's database is unknown: with a name template without
 * {db}, shared by several databases in one folder, another database's orphan of the series goes too.
 * Writes a killed run left unfinished (a `.partial-*` file, an S3 multipart upload) go by the same rule.
 */
import { ConfigurationError, errorMessage, inputError } from '../errors.js';
import { parseDuration, parseInteger, parseList } from '../inputs.js';
import type { Logger } from '../logger.js';
import type { Store } from '../storage/types.js';
import { ARCHIVE_EXT, MANIFEST_SUFFIX } from './manifest.js';
import { inSeries, seriesHead } from './names.js';
import { listFolder } from './series.js';

export type RetentionPolicy = {
  keepLast?: number;
  maxAgeMs?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
};

export interface BackupEntry {
  key: string;
  createdAt: Date;
}

export interface RetentionPlan {
  /** Backups to keep, newest first. Always contains `current`. */
  keep: BackupEntry[];
  /** Backups to delete, newest first. Never contains `current`. */
  delete: BackupEntry[];
  /** Key of each kept backup -> why, e.g. `current, keep-last 1, daily 2026-11-21`. */
  reasons: Map<string, string>;
}

const EXPECTED = 'keep-last=N, max-age=30d or daily=7,weekly=4,monthly=12';
const KEYS = ['keep-last', 'max-age', 'daily', 'weekly', 'monthly', 'yearly'] as const;
type Key = (typeof KEYS)[number];
const MAX_COUNT = 100_000;
const MIN_MAX_AGE_MS = 3_600_000;

type CountField = 'keepLast' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const COUNT_FIELDS: Record<Exclude<Key, 'max-age'>, CountField> = {
  'keep-last': 'keepLast',
  daily: 'daily',
  weekly: 'weekly',
  monthly: 'monthly',
  yearly: 'yearly',
};

/** `keep-last=3`, `max-age=30d`, `daily=7, weekly=4, monthly=12`, combinations; `off`/`none`/empty → undefined. */
export function parseRetention(input: string, raw: string): RetentionPolicy | undefined {
  const text = raw.trim();
  if (text === '' || /^(off|none)$/i.test(text)) return undefined;

  const fail = (detail: string) => new ConfigurationError(`${inputError(input, EXPECTED, raw).message} (${detail})`);
  const items = parseList(raw);
  if (items.length === 0) throw fail('no rule given; use off for no retention');

  const policy: RetentionPolicy = {};
  const seen = new Set<Key>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) throw fail(`'${item}' is not key=value`);
    const name = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    if (!isKey(name)) throw fail(`unknown key '${item.slice(0, eq).trim()}'; keys are ${KEYS.join(', ')}`);
    if (seen.has(name)) throw fail(`${name} is given more than once`);
    seen.add(name);
    if (value === '') throw fail(`${name} has no value`);

    if (name === 'max-age') {
      const ms = withContext(() => parseDuration(input, value), `in '${item}'`);
      if (ms < MIN_MAX_AGE_MS) {
        throw fail(`max-age must be at least 1h, got '${value}'; m means minutes, write months as days, e.g. 90d`);
      }
      policy.maxAgeMs = ms;
    } else {
      if (/^[-+]?0+$/.test(value) || value.startsWith('-')) {
        throw fail(`${name}=${value} keeps nothing; counts are whole numbers from 1, leave a key out to not use it`);
      }
      policy[COUNT_FIELDS[name]] = withContext(() => parseInteger(input, value, 1, MAX_COUNT), `in '${item}'`);
    }
  }
  return policy;
}

/** `keep-last=3, daily=7, weekly=4, monthly=12, max-age=90d`; `off` when nothing is set. Parses back with parseRetention. */
export function describeRetention(policy: RetentionPolicy | undefined): string {
  if (!policy) return 'off';
  const parts: string[] = [];
  for (const key of KEYS) {
    if (key === 'max-age') continue;
    const n = policy[COUNT_FIELDS[key]];
    if (n !== undefined) parts.push(`${key}=${n}`);
  }
  if (policy.maxAgeMs !== undefined) parts.push(`max-age=${formatAge(policy.maxAgeMs)}`);
  return parts.length > 0 ? parts.join(', ') : 'off';
}

/**
 * Decides which of `entries` to keep and delete under `policy`. Pure: lists nothing, deletes nothing.
 * Entries are ordered newest first; equal `createdAt` are ordered by key, the greater key counting as newer.
 * An empty listing gives an empty plan. Otherwise throws (a bug or an inconsistent listing, not a user error)
 * when `current` is not among the entries (so a stale or mis-prefixed listing never drives deletes),
 * when a key appears twice, or when a date or the policy is invalid.
 */
export function planRetention(
  entries: BackupEntry[],
  policy: RetentionPolicy,
  options: { now: Date; current: string },
): RetentionPlan {
  const { now, current } = options;
  assertValidPolicy(policy);
  if (Number.isNaN(now.getTime())) throw new Error('planRetention: now is not a valid date');
  const keys = new Set<string>();
  for (const e of entries) {
    if (keys.has(e.key)) throw new Error(`planRetention: backup '${e.key}' is listed twice`);
    keys.add(e.key);
    if (Number.isNaN(e.createdAt.getTime())) throw new Error(`planRetention: backup '${e.key}' has no valid date`);
  }
  if (entries.length === 0) return { keep: [], delete: [], reasons: new Map() };
  if (!keys.has(current)) {
    throw new Error(`planRetention: the new backup '${current}' is not among the listed backups; refusing to delete`);
  }

  const sorted = [...entries].sort(newestFirst);
  const why = new Map<string, string[]>();
  const because = (key: string, reason: string) => {
    const list = why.get(key);
    if (list) list.push(reason);
    else why.set(key, [reason]);
  };

  because(current, 'current');
  const { keepLast, maxAgeMs } = policy;
  if (keepLast !== undefined) sorted.slice(0, keepLast).forEach((e, i) => because(e.key, `keep-last ${i + 1}`));
  for (const rule of PERIODS) {
    const count = policy[rule.name];
    if (count === undefined) continue;
    let last: string | undefined;
    let periods = 0;
    for (const e of sorted) {
      const period = rule.of(e.createdAt);
      if (period === last) continue;
      last = period;
      if (++periods > count) break;
      because(e.key, `${rule.name} ${period}`);
    }
  }
  const hasCountRule = keepLast !== undefined || PERIODS.some((rule) => policy[rule.name] !== undefined);

  const cutoff = maxAgeMs === undefined ? undefined : now.getTime() - maxAgeMs;
  const keep: BackupEntry[] = [];
  const remove: BackupEntry[] = [];
  const reasons = new Map<string, string>();
  for (const e of sorted) {
    let reason = why.get(e.key);
    if (!hasCountRule && reason === undefined) {
      reason = [maxAgeMs === undefined ? 'no retention rule' : `within max-age ${formatAge(maxAgeMs)}`];
    }
    const tooOld = cutoff !== undefined && e.createdAt.getTime() < cutoff;
    if (e.key === current || (reason !== undefined && !tooOld)) {
      keep.push(e);
      reasons.set(e.key, (reason ?? ['current']).join(', '));
    } else {
      remove.push(e);
    }
  }
  return { keep, delete: remove, reasons };
}

const PERIODS: { name: 'daily' | 'weekly' | 'monthly' | 'yearly'; of: (d: Date) => string }[] = [
  { name: 'daily', of: (d) => d.toISOString().slice(0, 10) },
  { name: 'weekly', of: isoWeek },
  { name: 'monthly', of: (d) => d.toISOString().slice(0, 7) },
  { name: 'yearly', of: (d) => String(d.getUTCFullYear()) },
];

/** ISO 8601 week in UTC, e.g. `2026-W47`; weeks start on Monday and belong to the year of their Thursday. */
function isoWeek(d: Date): string {
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 4 - (thursday.getUTCDay() || 7));
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function newestFirst(a: BackupEntry, b: BackupEntry): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}

function assertValidPolicy(policy: RetentionPolicy): void {
  for (const field of Object.values(COUNT_FIELDS)) {
    const n = policy[field];
    if (n !== undefined && !(Number.isInteger(n) && n >= 1)) {
      throw new Error(`planRetention: ${field} must be a whole number from 1, got ${n}`);
    }
  }
  const ms = policy.maxAgeMs;
  if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) {
    throw new Error(`planRetention: maxAgeMs must be a positive number of milliseconds, got ${ms}`);
  }
}

/** Milliseconds → a duration parseDuration reads back: 2_592_000_000 → `30d`, 129_600_000 → `1d12h`. */
function formatAge(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0ms';
}

function isKey(name: string): name is Key {
  return (KEYS as readonly string[]).includes(name);
}

function withContext<T>(parse: () => T, context: string): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigurationError) throw new ConfigurationError(`${err.message} (${context})`);
    throw err;
  }
}

export interface ApplyRetentionOptions {
  store: Store;
  /** The folder ('' or ending in `/`). */
  prefix: string;
  database: string;
  /** The series, like `app-{timestamp}` (names.ts seriesName). */
  series: string;
  policy: RetentionPolicy;
  now: Date;
  /** Archive key of the backup just made and verified. */
  current: string;
  logger: Logger;
  /** Stops between deletes: each old backup is deleted whole (manifest, then archive) or not at all. */
  signal?: AbortSignal;
}

/**
 * Lists the series in its folder, plans with planRetention and deletes (manifest before archive), then
 * removes orphaned archives (see the top of this file). Pushes each deleted archive's URI into `deleted`
 * as it goes, so a caller that is interrupted knows how far it got. Never throws for a listing it cannot
 * use: it warns and deletes nothing; a failed delete is thrown.
 */
export async function applyRetention(o: ApplyRetentionOptions, deleted: string[] = []): Promise<string[]> {
  const { store } = o;
  const listing = await listFolder(store, o.prefix, {
    namePrefix: seriesHead(o.series),
    names: (name) => inSeries(name, o.series),
  });
  for (const u of listing.unreadable) o.logger.warning(`retention: skipped ${store.uri(u.key)}: ${u.reason}`);
  const backups = listing.backups.filter((b) => b.manifest.database === o.database && b.series === o.series);
  let plan: RetentionPlan;
  try {
    plan = planRetention(
      backups.map((b) => ({ key: b.archiveKey, createdAt: b.createdAt })),
      o.policy,
      { now: o.now, current: o.current },
    );
  } catch (err) {
    o.logger.warning(`retention skipped, nothing deleted: ${errorMessage(err)}`);
    return deleted;
  }
  for (const d of plan.delete) {
    if (o.signal?.aborted) return deleted;
    const backup = backups.find((b) => b.archiveKey === d.key)!;
    await store.delete(backup.manifestKey);
    await store.delete(backup.archiveKey);
    deleted.push(store.uri(backup.archiveKey));
    o.logger.info(`retention: deleted ${store.uri(backup.archiveKey)} (${d.createdAt.toISOString()})`);
  }

  // Orphans: only once a complete backup other than the current one started after the orphan was written.
  const previous = backups
    .filter((b) => b.archiveKey !== o.current)
    .reduce<Date | undefined>((at, b) => (at && at >= b.createdAt ? at : b.createdAt), undefined);
  if (!previous) return deleted;
  await removeUnfinishedWrites(o, previous);
  for (const orphan of listing.orphans) {
    if (o.signal?.aborted) return deleted;
    if (orphan.key === o.current || orphan.lastModified >= previous) continue;
    await store.delete(orphan.key);
    deleted.push(store.uri(orphan.key));
    o.logger.info(
      `retention: deleted ${store.uri(orphan.key)}, an archive with no manifest (an incomplete backup, last written ${orphan.lastModified.toISOString()})`,
    );
  }
  return deleted;
}

/**
 * Writes of the series that a killed run left unfinished (a file store's `.partial-*` file, an S3 multipart
 * upload and its parts), by the same rule as orphaned archives: last written (S3: started) before `previous`
 * started. Best effort: a store that cannot list them (S3 without s3:ListBucketMultipartUploads) gets a
 * warning, not a failed backup.
 */
async function removeUnfinishedWrites(o: ApplyRetentionOptions, previous: Date): Promise<void> {
  const { store } = o;
  if (!store.listIncomplete || !store.removeIncomplete) return;
  let writes;
  try {
    writes = await store.listIncomplete(o.prefix + seriesHead(o.series));
  } catch (err) {
    o.logger.warning(
      `retention: could not list unfinished uploads (${errorMessage(err)}); an AbortIncompleteMultipartUpload lifecycle rule removes them on S3`,
    );
    return;
  }
  for (const w of writes) {
    if (o.signal?.aborted) return;
    const base = w.key.startsWith(o.prefix) ? w.key.slice(o.prefix.length) : '/';
    const name = base.endsWith(MANIFEST_SUFFIX)
      ? base.slice(0, -MANIFEST_SUFFIX.length)
      : ARCHIVE_EXT.test(base)
        ? base.replace(ARCHIVE_EXT, '')
        : undefined;
    if (name === undefined || base.includes('/') || !inSeries(name, o.series) || w.since >= previous) continue;
    try {
      await store.removeIncomplete(w);
      o.logger.info(
        `retention: removed an unfinished write to ${store.uri(w.key)} (${store.kind === 's3' ? `multipart upload ${w.id}` : 'partial file'} since ${w.since.toISOString()})`,
      );
    } catch (err) {
      o.logger.warning(`retention: could not remove an unfinished write to ${store.uri(w.key)}: ${errorMessage(err)}`);
    }
  }
}
