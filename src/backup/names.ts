/**
 * Backup names: `{db}-{timestamp}` and friends, and the series they belong to.
 *
 * A series is the name template with everything but its time placeholders filled in: the template
 * `{db}-{timestamp}` for database `app` gives the series `app-{timestamp}`, and `pre-deploy-{db}-{timestamp}`
 * gives `pre-deploy-app-{timestamp}`. A name belongs to a series when it is the series with each time
 * placeholder replaced by a time in its exact shape; `app-pre-deploy-20261121T230501Z` is not in
 * `app-{timestamp}`, though it starts with `app-` (a plain prefix match would let retention delete it).
 */
import { ConfigurationError } from '../errors.js';

const PLACEHOLDERS = ['db', 'timestamp', 'date', 'engine'] as const;

/** `20261121T230501Z`: sorts as text in time order, safe in keys and file names. */
export function compactTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function formatName(template: string, values: { db: string; engine: string; now: Date }): string {
  const safe = formatPart(template, values);
  if (!safe || safe.startsWith('.'))
    throw new ConfigurationError(`input 'name': '${template}' gives an empty or hidden name`);
  return safe;
}

/** The template with its placeholders filled and every character unsafe in a key or file name made `_`. */
function formatPart(template: string, values: { db: string; engine: string; now: Date }): string {
  const out = template.replace(/\{([a-z]+)\}/g, (whole, key: string) => {
    switch (key) {
      case 'db':
        return values.db;
      case 'engine':
        return values.engine;
      case 'timestamp':
        return compactTimestamp(values.now);
      case 'date':
        return values.now.toISOString().slice(0, 10);
      default:
        throw new ConfigurationError(
          `input 'name': unknown placeholder ${whole}; accepted: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        );
    }
  });
  return out.replace(/[^A-Za-z0-9._-]/g, '_');
}

const TIME_PLACEHOLDER = /(\{(?:timestamp|date)\})/;
const TIME_SHAPES: Record<string, string> = { '{timestamp}': '\\d{8}T\\d{6}Z', '{date}': '\\d{4}-\\d{2}-\\d{2}' };

/** The series of the backups a template makes for one database: `app-{timestamp}` (see the top of this file). */
export function seriesName(template: string, values: { db: string; engine: string }): string {
  const now = new Date(0); // never rendered: the time placeholders are kept
  return template
    .split(TIME_PLACEHOLDER)
    .map((part, i) => (i % 2 === 1 ? part : formatPart(part, { ...values, now })))
    .join('');
}

/**
 * The series a backup name belongs to, for manifests written before they recorded it: each compact
 * timestamp becomes `{timestamp}`, each date `{date}`. Exact for every name opskit makes, unless a
 * database name itself holds something shaped like a timestamp.
 */
export function inferSeries(name: string): string {
  return name.replace(/\d{8}T\d{6}Z/g, '{timestamp}').replace(/\d{4}-\d{2}-\d{2}/g, '{date}');
}

/** True when `name` is a name of `series`: the series with each time placeholder filled by a time of its shape. */
export function inSeries(name: string, series: string): boolean {
  const pattern = series
    .split(TIME_PLACEHOLDER)
    .map((part, i) => (i % 2 === 1 ? TIME_SHAPES[part]! : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`).test(name);
}

/** The literal head of a series, before its first time placeholder: what a person writes before `latest`. */
export function seriesHead(series: string): string {
  return series.split(TIME_PLACEHOLDER)[0]!;
}
