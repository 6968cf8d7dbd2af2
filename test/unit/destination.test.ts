import { describe, expect, it } from '@jest/globals';
import os from 'node:os';
import path from 'node:path';
import { parseChecklistConfig } from '../../src/checklist/config.js';
import { ConfigurationError } from '../../src/errors.js';
import { Inputs } from '../../src/inputs.js';
import { parseMigrateConfig } from '../../src/migrate/config.js';
import {
  describeDestination,
  openOptionalStore,
  parseDestinationSpec,
  parseOptionalDestination,
} from '../../src/storage/destination.js';
import { createFileStore } from '../../src/storage/file.js';

describe('parseOptionalDestination', () => {
  it.each(['none', 'NONE', 'off', 'false', ' none '])('reads %j as none, in every action', (raw) => {
    expect(parseOptionalDestination('backup-destination', raw, {})).toBe('none');
  });

  it('reads an empty input as the action’s default', () => {
    expect(parseOptionalDestination('backup-destination', '  ', {})).toBe('default');
  });

  it('parses anything else as a destination, checked', () => {
    expect(parseOptionalDestination('backup-destination', 's3://bucket/pre', { region: 'eu-west-1' })).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: 'pre/',
      s3: { region: 'eu-west-1' },
    });
    expect(() => parseOptionalDestination('backup-destination', 'gs://b/x', {})).toThrow(
      /^input 'backup-destination': 'gs:\/\/' is not a supported destination/,
    );
  });
});

describe('parseDestinationSpec', () => {
  it('is pure: a path that is a file is refused only when the store is opened', () => {
    const spec = parseDestinationSpec('destination', '/etc/hostname');
    expect(spec).toEqual({ kind: 'file', dir: '/etc/hostname' });
    expect(describeDestination(spec)).toBe('/etc/hostname');
  });
});

describe('openOptionalStore', () => {
  const ctx = { tempDir: os.tmpdir() };
  const fallback = { store: createFileStore(path.join(os.tmpdir(), 'fallback')), prefix: 'x/' };
  it('opens nothing for none, the fallback for default, the spec otherwise', () => {
    expect(openOptionalStore('none', ctx, () => fallback, 'backup-destination')).toBeUndefined();
    expect(openOptionalStore('default', ctx, () => fallback, 'backup-destination')).toBe(fallback);
    const opened = openOptionalStore({ kind: 's3', bucket: 'bkt', prefix: 'p/', s3: {} }, ctx, () => fallback, 'b');
    expect(opened?.store.uri(`${opened.prefix}a.dump`)).toBe('s3://bkt/p/a.dump');
  });
});

describe('one spelling of none', () => {
  const inputs = (values: Record<string, string>) => new Inputs((name) => values[name] ?? '');
  const url = 'postgres://app@127.0.0.1:5432/shop';

  it('migrate-with-backup takes off like none (with on-failure keep), and refuses it otherwise', () => {
    expect(
      parseMigrateConfig(
        inputs({ 'database-url': url, 'backup-destination': 'off', 'on-failure': 'keep' }),
        os.tmpdir(),
      ).backupDestination,
    ).toBe('none');
    expect(() =>
      parseMigrateConfig(inputs({ 'database-url': url, 'backup-destination': 'none' }), os.tmpdir()),
    ).toThrow(/^input 'backup-destination': none is accepted only with on-failure: keep/);
  });

  it('the checklist refuses none: it always backs up before it migrates', () => {
    let err: unknown;
    try {
      parseChecklistConfig(inputs({ 'database-url': url, 'backup-destination': 'none' }), os.tmpdir());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/^input 'backup-destination': the checklist always takes a backup/);
  });

  it('the checklist’s smoke-* inputs are errors under their own names', () => {
    expect(() =>
      parseChecklistConfig(inputs({ 'smoke-url': 'https://a.example/health', 'smoke-timeout': 'soon' }), os.tmpdir()),
    ).toThrow(/^input 'smoke-timeout': expected a duration/);
    expect(() => parseChecklistConfig(inputs({ 'smoke-checks': '- name: a\n  url: /x' }), os.tmpdir())).toThrow(
      /^input 'smoke-checks\[1\]\.url'/,
    );
  });
});
