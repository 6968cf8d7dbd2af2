/** Backup names: `{db}-{timestamp}` and friends, and the prefix retention works on. */
import { ConfigurationError } from '../errors.js';

const PLACEHOLDERS = ['db', 'timestamp', 'date', 'engine'] as const;

/** `20261121T230501Z`: sorts as text in time order, safe in keys and file names. */
export function compactTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function renderName(template: string, values: { db: string; engine: string; now: Date }): string {
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
  const safe = out.replace(/[^A-Za-z0-9._-]/g, '_');
  if (!safe || safe.startsWith('.'))
    throw new ConfigurationError(`input 'name': '${template}' gives an empty or hidden name`);
  return safe;
}

/** The part of the name before its first time-dependent placeholder: backups sharing it are one series. */
export function seriesPrefix(template: string, values: { db: string; engine: string; now: Date }): string {
  const cut = template.search(/\{(timestamp|date)\}/);
  if (cut < 0) return renderName(template, values);
  const head = template.slice(0, cut);
  return head ? renderName(head, values) : '';
}
