import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from './harness/process.js';
import { tempDir } from './harness/tmp.js';

function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))],
  );
}

describe('dist/', () => {
  it('equals a fresh build of src/ and actions/ (run npm run build and commit dist/)', async () => {
    const out = await tempDir('opskit-dist-');
    try {
      const build = await runProcess(process.execPath, ['scripts/build.js', '--out', out.path]);
      expect(build.stderr).not.toMatch(/error/i);
      expect(build.code).toBe(0);
      const fresh = files(out.path).sort();
      const committed = files('dist').sort();
      expect(committed).toEqual(fresh);
      const stale = fresh.filter(
        (f) => !readFileSync(path.join(out.path, f)).equals(readFileSync(path.join('dist', f))),
      );
      expect(stale).toEqual([]);
    } finally {
      await out.cleanup();
    }
  }, 600_000);

  it('has a bundle for every action, and every action.yml runs its own bundle on node24', () => {
    const actions = readdirSync('actions', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join('actions', d.name, 'action.yml')))
      .map((d) => d.name);
    expect(actions.length).toBeGreaterThan(0);
    for (const name of actions) {
      const yml = readFileSync(path.join('actions', name, 'action.yml'), 'utf8');
      expect(yml).toMatch(/using: node24/);
      expect(yml).toContain(`main: ../../dist/${name}/index.js`);
      expect(existsSync(path.join('dist', name, 'index.js'))).toBe(true);
    }
  });
});
