import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { node24 } from './harness/node24.js';
import { runProcess } from './harness/process.js';

const bundles = existsSync('dist')
  ? readdirSync('dist').filter((n) => existsSync(path.join('dist', n, 'index.js')))
  : [];

describe('every bundle starts under Node 24', () => {
  it('finds bundles', () => expect(bundles.length).toBeGreaterThan(0));

  it.each(bundles)('%s with no inputs exits 1 with a clear "input required" error, not a crash', async (name) => {
    const run = await runProcess(node24(), [path.join('dist', name, 'index.js')], {
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^::error::${name} failed: input '[^']+'.* required`, 'm'));
    expect(run.stdout + run.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
    expect(run.stderr).toBe('');
  });
});
