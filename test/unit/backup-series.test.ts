/**
 * Backup series (src/backup/names.ts): a name belongs to a series exactly, never by a shared prefix, so
 * retention of `app-{timestamp}` cannot reach `app-pre-deploy-{timestamp}`; manifests that predate the
 * `series` field get it from their name.
 */
import { describe, expect, it } from '@jest/globals';
import { seriesOf } from '../../src/backup/manifest.js';
import { inSeries, inferSeries, formatName, seriesHead, seriesName } from '../../src/backup/names.js';

const now = new Date('2026-11-21T23:05:01.123Z');

describe('seriesName', () => {
  it.each([
    ['{db}-{timestamp}', 'app-{timestamp}'],
    ['{db}-pre-deploy-{timestamp}', 'app-pre-deploy-{timestamp}'],
    ['pre-deploy-{db}-{timestamp}', 'pre-deploy-app-{timestamp}'],
    ['{engine}/{db} {date}-{timestamp}', 'postgres_app_{date}-{timestamp}'],
    ['{timestamp}', '{timestamp}'],
    ['fixed-name', 'fixed-name'],
  ])('renders %p for database app as %p, and every name it makes is in it', (template, series) => {
    expect(seriesName(template, { db: 'app', engine: 'postgres' })).toBe(series);
    expect(inSeries(formatName(template, { db: 'app', engine: 'postgres', now }), series)).toBe(true);
  });

  it('keeps a database name with braces from passing for a placeholder', () => {
    expect(seriesName('{db}-{timestamp}', { db: 'a{timestamp}b', engine: 'postgres' })).toBe(
      'a_timestamp_b-{timestamp}',
    );
  });
});

describe('inSeries', () => {
  it('matches exactly: app-{timestamp} does not cover app-pre-deploy-{timestamp} (the retention bug)', () => {
    expect(inSeries('app-20261121T230501Z', 'app-{timestamp}')).toBe(true);
    expect(inSeries('app-pre-deploy-20261121T230501Z', 'app-{timestamp}')).toBe(false);
    expect(inSeries('app-pre-deploy-20261121T230501Z', 'app-pre-deploy-{timestamp}')).toBe(true);
    expect(inSeries('app-20261121T230501Z', 'app-pre-deploy-{timestamp}')).toBe(false);
  });

  it('wants each time in its exact shape, and reads the series literally', () => {
    expect(inSeries('app-2026112T230501Z', 'app-{timestamp}')).toBe(false);
    expect(inSeries('app-20261121T230501Z-x', 'app-{timestamp}')).toBe(false);
    expect(inSeries('app-2026-11-21', 'app-{date}')).toBe(true);
    expect(inSeries('app-2026-11-2', 'app-{date}')).toBe(false);
    expect(inSeries('a.p-20261121T230501Z', 'a.p-{timestamp}')).toBe(true);
    expect(inSeries('axp-20261121T230501Z', 'a.p-{timestamp}')).toBe(false);
  });
});

describe('series of manifests written before the field', () => {
  it('is inferred from the name: timestamps and dates become their placeholders', () => {
    expect(inferSeries('app-20261121T230501Z')).toBe('app-{timestamp}');
    expect(inferSeries('pre-deploy-app-20261121T230501Z')).toBe('pre-deploy-app-{timestamp}');
    expect(inferSeries('app-2026-11-21')).toBe('app-{date}');
    expect(seriesOf({ name: 'app-pre-deploy-20261121T230501Z' })).toBe('app-pre-deploy-{timestamp}');
    expect(seriesOf({ name: 'app-20261121T230501Z', series: 'app-{timestamp}' })).toBe('app-{timestamp}');
  });

  it('has the head a person writes before latest', () => {
    expect(seriesHead('app-{timestamp}')).toBe('app-');
    expect(seriesHead('pre-deploy-app-{date}-{timestamp}')).toBe('pre-deploy-app-');
    expect(seriesHead('{timestamp}')).toBe('');
  });
});
