/**
 * `npm run release -- vX.Y.Z [--dry-run]` (scripts/release.js) on a temp clone of this repository: the dry run prints
 * the rewritten references and writes nothing; the release tags a tree in which no first-party reference is mutable,
 * in the starter workflows, in the reusable workflows, and in the reusable workflows the starters point at.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { tempDir } from './harness/tmp.js';
import { auditWorkflow } from './harness/workflow-policy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts', 'release.js');
const IDENTITY = {
  GIT_AUTHOR_NAME: 'opskit release test',
  GIT_AUTHOR_EMAIL: 'release-test@opskit.invalid',
  GIT_COMMITTER_NAME: 'opskit release test',
  GIT_COMMITTER_EMAIL: 'release-test@opskit.invalid',
};
const USES = /^\s*(?:-\s+)?uses:\s*(opskit\/opskit(?:\/[^@\s]*)?)@(\S+)/;

let dir: Awaited<ReturnType<typeof tempDir>>;
let clone: string;
let base: string;

function git(...args: string[]): string {
  const r = spawnSync('git', args, { cwd: clone, encoding: 'utf8', env: { ...process.env, ...IDENTITY } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.replace(/\n$/, '');
}

function release(...args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    cwd: clone,
    encoding: 'utf8',
    env: { ...process.env, ...IDENTITY },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The workflow files of a commit. */
const filesAt = (commit: string) =>
  git('ls-tree', '-r', '--name-only', '--full-tree', commit, '--', '.github/workflows', 'workflows-templates')
    .split('\n')
    .filter((f) => /\.ya?ml$/.test(f));
const show = (commit: string, file: string) => git('show', `${commit}:${file}`);

/** Every first-party `uses:` of a file: line, target, ref. */
function firstPartyUses(text: string) {
  return text.split('\n').flatMap((line, index) => {
    const m = USES.exec(line);
    return m ? [{ line: index + 1, target: m[1]!, ref: m[2]!, text: line }] : [];
  });
}

/** The unpinned-uses violations of a file in a released tree (first-party references held to a SHA). */
const mutable = (file: string, text: string) =>
  auditWorkflow(file, text, { released: true }).filter((v) => v.rule === 'unpinned-uses');

beforeAll(async () => {
  dir = await tempDir('opskit-release-');
  clone = path.join(dir.path, 'opskit');
  const r = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone: ${r.stderr}`);
  base = git('rev-parse', 'HEAD');
}, 120_000);

afterAll(() => dir?.cleanup());

describe('npm run release', () => {
  it('has first-party references to rewrite in this tree (the test would prove nothing otherwise)', () => {
    const refs = filesAt(base).flatMap((f) => firstPartyUses(show(base, f)));
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.every((r) => !/^[0-9a-f]{40}$/.test(r.ref))).toBe(true);
  });

  it('--dry-run prints every rewritten reference and writes nothing', () => {
    const refsBefore = git('for-each-ref');
    const run = release('v1.0.0', '--dry-run');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const file of filesAt(base)) {
      for (const use of firstPartyUses(show(base, file))) {
        const from = `${file}:${use.line}: ${use.target}@${use.ref} -> `;
        if (use.target.includes('/.github/workflows/')) {
          // A reusable workflow is pointed at the release commit of its layer, made from the files printed above.
          const line = run.stdout.split('\n').find((l) => l.startsWith(from)) ?? '';
          expect(line).toMatch(/ -> \S+@<commit \d+ of the release: the reusable workflows above> # v1\.0\.0$/);
        } else {
          expect(run.stdout).toContain(`${from}${use.target}@${base} # v1.0.0`);
        }
      }
    }
    expect(git('status', '--porcelain')).toBe('');
    expect(git('for-each-ref')).toBe(refsBefore);
    expect(git('rev-parse', 'HEAD')).toBe(base);
  });

  it('refuses a version that is not vX.Y.Z and an unknown option, naming them, and writes nothing', () => {
    for (const args of [['1.0.0'], ['v1.0'], [], ['v1.0.0', '--force']]) {
      const run = release(...args);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^release: (expected one version like v1\.2\.3, got|unknown option --force)/);
      if (args[0]) expect(run.stderr).toContain(args[0] === 'v1.0.0' ? '--force' : `'${args[0]}'`);
    }
    expect(git('tag', '--list')).toBe('');
  });

  it('tags a release whose workflow files hold no mutable first-party reference, and moves v1', () => {
    const run = release('v1.0.0');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const tagged = git('rev-parse', 'v1.0.0^{commit}');
    expect(git('rev-parse', 'v1^{commit}')).toBe(tagged);
    // The branch, the index and the working tree are as they were.
    expect(git('rev-parse', 'HEAD')).toBe(base);
    expect(git('status', '--porcelain')).toBe('');
    // The release differs from the commit released only in workflow files: the actions at the tag are base's.
    const changed = git('diff', '--name-only', base, tagged).split('\n');
    expect(changed.every((f) => f.startsWith('.github/workflows/') || f.startsWith('workflows-templates/'))).toBe(true);

    const pointedAt = new Set<string>();
    for (const file of filesAt(tagged)) {
      const text = show(tagged, file);
      expect([file, mutable(file, text)]).toEqual([file, []]);
      for (const use of firstPartyUses(text)) {
        expect(use.text).toMatch(/@[0-9a-f]{40} # v1\.0\.0$/);
        if (use.target.includes('/.github/workflows/')) {
          pointedAt.add(`${use.ref}:${use.target.replace(/^opskit\/opskit\//, '')}`);
        } else {
          expect(use.ref).toBe(base);
        }
      }
    }
    // The reusable workflows the starters (and other reusable workflows, like promote.yml → deploy.yml) point at
    // call the actions of base, by SHA, too, and each is at that commit as it is in the tag.
    expect(pointedAt.size).toBeGreaterThan(0);
    const seen = new Set<string>();
    const queue = [...pointedAt];
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (seen.has(at)) continue;
      seen.add(at);
      const [commit, file] = at.split(':') as [string, string];
      const text = show(commit, file);
      expect([at, mutable(file, text)]).toEqual([at, []]);
      expect(text).toBe(show(tagged, file));
      for (const use of firstPartyUses(text)) {
        if (use.target.includes('/.github/workflows/'))
          queue.push(`${use.ref}:${use.target.replace(/^opskit\/opskit\//, '')}`);
        else expect(use.ref).toBe(base);
      }
    }
  });

  it('refuses a version that is already tagged, and a working tree with uncommitted changes', () => {
    const tags = git('tag', '--list');
    const again = release('v1.0.0');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('release: tag v1.0.0 already exists; releases are immutable\n');

    writeFileSync(path.join(clone, 'README.md'), 'changed\n');
    const dirty = release('v1.0.1');
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toMatch(/^release: the working tree has uncommitted changes; a release is made from HEAD/);
    expect(git('tag', '--list')).toBe(tags);
  });
});

describe('Marketplace metadata', () => {
  const COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];
  const actionFiles = [
    'action.yml',
    ...readdirSync(path.join(ROOT, 'actions'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(ROOT, 'actions', d.name, 'action.yml')))
      .map((d) => `actions/${d.name}/action.yml`),
  ];

  it.each(actionFiles)('%s has a name, a description and branding (a Feather icon, a Marketplace colour)', (file) => {
    const meta = parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;
    expect(typeof meta.name === 'string' && meta.name.length > 0).toBe(true);
    expect(typeof meta.description === 'string' && meta.description.length > 0).toBe(true);
    const branding = meta.branding as { icon?: unknown; color?: unknown } | undefined;
    expect(branding?.icon).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(COLORS).toContain(branding?.color);
  });

  it('names every action differently (the Marketplace needs unique names)', () => {
    const names = actionFiles.map((f) => (parse(readFileSync(path.join(ROOT, f), 'utf8')) as { name: string }).name);
    expect(new Set(names).size).toBe(names.length);
  });
});
