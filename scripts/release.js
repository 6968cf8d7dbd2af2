#!/usr/bin/env node
/**
 * Release tooling: `npm run release -- vX.Y.Z [--dry-run]`.
 *
 * In the tree the reusable workflows (.github/workflows) and the starter workflows (workflows-templates) call
 * opskit's own actions and workflows at a tag (`opskit/opskit/actions/db-backup@v1`): a commit cannot name its own
 * SHA. A consumer who pins a reusable workflow by SHA would still run its actions at that mutable tag, with
 * DATABASE_URL and the cloud keys. So a release rewrites every first-party `uses:` to a full commit SHA:
 *
 *   HEAD (B)  the commit released: its actions and dist/ are what every reference below points at.
 *   W1        B + the reusable workflows that call no other reusable workflow, with every
 *             `opskit/opskit/actions/…@<ref>` → `@<B> # vX.Y.Z`.
 *   W2 …      the reusable workflows that call those (promote.yml calls deploy.yml), one layer per commit: actions
 *             → `@<B>`, a called workflow → `@<the commit of its layer>` (its content never changes after it).
 *   T         the last W + workflows-templates with actions → `@<B>` and reusable workflows → `@<their W>`.
 *
 * T is tagged vX.Y.Z (annotated) and the major tag (v1) is moved to it, both locally: pushing them is the
 * maintainer's step (docs/releasing.md). W and T differ from B only in workflow files, so the actions at the tag
 * are B's. The commits are made with git plumbing on a temporary index: the branch, the index and the working
 * tree are left as they were, and nothing is written at all with --dry-run, which prints the rewritten references.
 *
 * Before tagging, every released workflow file is checked again: no first-party reference may remain that is not
 * a full SHA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const WORKFLOW_DIRS = ['.github/workflows', 'workflows-templates'];
/** A `uses:` line (a step's or a job's) that names this repository: prefix, quote, target, ref, trailing comment. */
const USES_LINE = /^(\s*(?:-\s+)?uses:\s*)(['"]?)(opskit\/opskit(?:\/[^@\s'"#]*)?)@([^\s'"#]+)\2(\s+#.*)?$/i;
const SHA = /^[0-9a-f]{40}$/;
const VERSION = /^v(\d+)\.(\d+)\.(\d+)$/;

class ReleaseError extends Error {}

/**
 * Every first-party `uses:` in `text` rewritten: reusable workflows (`opskit/opskit/.github/workflows/…`) to
 * `workflowsSha` (a SHA, or a function of the workflow's path giving one), anything else (actions, the root action)
 * to `actionsSha`, each with `# <version>`.
 * @param {string} text
 * @param {{ actionsSha: string, workflowsSha?: string | ((file: string) => string | undefined), version: string }} to
 * @returns {{ text: string, changes: Array<{ line: number, from: string, to: string }> }}
 */
export function rewriteFirstPartyRefs(text, to) {
  const changes = [];
  const lines = text.split('\n').map((line, index) => {
    const m = USES_LINE.exec(line);
    if (!m) return line;
    const [, prefix, , target] = m;
    const file = calledWorkflow(target);
    const sha = file
      ? typeof to.workflowsSha === 'function'
        ? to.workflowsSha(file)
        : to.workflowsSha
      : to.actionsSha;
    if (sha === undefined) {
      throw new ReleaseError(
        `line ${index + 1}: ${target} is a reusable workflow of this repository that is not released before this file (a cycle of workflows calling each other?)`,
      );
    }
    const from = `${target}@${m[4]}`;
    const rewritten = `${prefix}${target}@${sha} # ${to.version}`;
    changes.push({ line: index + 1, from, to: `${target}@${sha} # ${to.version}` });
    return rewritten;
  });
  return { text: lines.join('\n'), changes };
}

/** `.github/workflows/x.yml` for `opskit/opskit/.github/workflows/x.yml`, undefined for an action. */
function calledWorkflow(target) {
  const m = /^opskit\/opskit\/(\.github\/workflows\/.+)$/i.exec(target);
  return m ? m[1] : undefined;
}

/** The reusable workflows of this repository that `text` calls. @param {string} text */
export function calledWorkflows(text) {
  return text
    .split('\n')
    .map((line) => USES_LINE.exec(line))
    .filter(Boolean)
    .map((m) => calledWorkflow(m[3]))
    .filter(Boolean);
}

/**
 * Each reusable workflow's layer: 0 when it calls no other reusable workflow of this repository, else one more than
 * the deepest it calls. A cycle is an error (GitHub refuses one too).
 * @param {Record<string, string>} texts file → text
 */
export function workflowLayers(texts) {
  const layer = {};
  const visiting = new Set();
  const visit = (file, chain) => {
    if (layer[file] !== undefined) return layer[file];
    if (visiting.has(file))
      throw new ReleaseError(`reusable workflows call each other in a cycle: ${[...chain, file].join(' → ')}`);
    if (texts[file] === undefined) throw new ReleaseError(`${chain.at(-1)} calls ${file}, which is not in this commit`);
    visiting.add(file);
    const deepest = Math.max(-1, ...calledWorkflows(texts[file]).map((f) => visit(f, [...chain, file])));
    visiting.delete(file);
    return (layer[file] = deepest + 1);
  };
  for (const file of Object.keys(texts)) visit(file, []);
  return layer;
}

/**
 * The first-party references in `text` that are not a full commit SHA (what a released file must not hold).
 * @param {string} text
 * @returns {Array<{ line: number, ref: string }>}
 */
export function mutableFirstPartyRefs(text) {
  const found = [];
  text.split('\n').forEach((line, index) => {
    const m = USES_LINE.exec(line);
    if (m && !SHA.test(m[4])) found.push({ line: index + 1, ref: `${m[3]}@${m[4]}` });
  });
  return found;
}

/** @param {string[]} args @param {{ input?: string, env?: Record<string, string> }} [options] */
function git(args, options = {}) {
  try {
    return execFileSync('git', args, {
      encoding: 'utf8',
      input: options.input,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    }).replace(/\n$/, '');
  } catch (err) {
    const stderr = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr).trim() : '';
    throw new ReleaseError(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

/** The workflow files of a commit, with their mode. @param {string} commit */
function workflowFiles(commit) {
  const listing = git(['ls-tree', '-r', '--full-tree', commit, '--', ...WORKFLOW_DIRS]);
  return listing
    .split('\n')
    .filter(Boolean)
    .map((row) => {
      const [meta, file] = row.split('\t');
      const [mode, type] = meta.split(' ');
      return { mode, type, file };
    })
    .filter((f) => f.type === 'blob' && /\.ya?ml$/i.test(f.file));
}

/**
 * A commit on top of `parent` whose tree is the parent's with `files` replaced, made on a temporary index.
 * @param {string} parent @param {Array<{ file: string, mode: string, text: string }>} files @param {string} message
 */
function commitOnTop(parent, files, message) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opskit-release-'));
  const env = { GIT_INDEX_FILE: path.join(dir, 'index') };
  try {
    git(['read-tree', parent], { env });
    for (const f of files) {
      const blob = git(['hash-object', '-w', '--stdin'], { input: f.text });
      git(['update-index', '--cacheinfo', `${f.mode},${blob},${f.file}`], { env });
    }
    const tree = git(['write-tree'], { env });
    return git(['commit-tree', tree, '-p', parent, '-m', message]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const flags = argv.filter((a) => a.startsWith('-'));
  const words = argv.filter((a) => !a.startsWith('-'));
  const unknown = flags.filter((f) => f !== '--dry-run');
  if (unknown.length > 0) {
    throw new ReleaseError(`unknown option ${unknown.join(', ')}; usage: npm run release -- vX.Y.Z [--dry-run]`);
  }
  if (words.length !== 1 || !VERSION.test(words[0])) {
    throw new ReleaseError(
      `expected one version like v1.2.3, got ${words.length === 0 ? 'none' : words.map((w) => `'${w}'`).join(' ')}; usage: npm run release -- vX.Y.Z [--dry-run]`,
    );
  }
  return { version: words[0], dryRun: flags.includes('--dry-run') };
}

/** @param {string[]} argv @param {(line: string) => void} print */
export function release(argv, print = (line) => console.log(line)) {
  const { version, dryRun } = parseArgs(argv);
  const major = `v${VERSION.exec(version)[1]}`;
  const root = git(['rev-parse', '--show-toplevel']);
  process.chdir(root);
  if (git(['tag', '--list', version])) throw new ReleaseError(`tag ${version} already exists; releases are immutable`);
  const base = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  if (dirty && !dryRun) {
    throw new ReleaseError(
      `the working tree has uncommitted changes; a release is made from HEAD (${base.slice(0, 12)}): commit them, or release HEAD from a clean checkout`,
    );
  }

  const texts = Object.fromEntries(
    workflowFiles(base)
      .filter((f) => f.file.startsWith('.github/workflows/'))
      .map((f) => [f.file, git(['show', `${base}:${f.file}`])]),
  );
  const modes = Object.fromEntries(workflowFiles(base).map((f) => [f.file, f.mode]));
  const layers = workflowLayers(texts);
  const depth = Math.max(-1, ...Object.values(layers));
  const show = (files) => {
    for (const f of files) for (const c of f.changes) print(`${f.file}:${c.line}: ${c.from} -> ${c.to}`);
  };
  const rewrite = (file, text, workflowsSha) => ({
    file,
    mode: modes[file],
    ...rewriteFirstPartyRefs(text, { actionsSha: base, workflowsSha, version }),
  });
  print(`Release ${version} of ${base} (${dryRun ? 'dry run: nothing is written' : `tag ${version}, ${major}`})`);

  // One commit per layer of reusable workflows; a workflow's references point at the commit of the layer below.
  const commitOf = {};
  let parent = base;
  for (let d = 0; d <= depth; d++) {
    const inLayer = Object.keys(texts).filter((f) => layers[f] === d);
    const changed = inLayer
      .map((f) => rewrite(f, texts[f], (called) => commitOf[called]))
      .filter((f) => f.changes.length);
    show(changed);
    if (changed.length > 0) {
      parent = dryRun
        ? `<commit ${d + 1} of the release: the reusable workflows above>`
        : commitOnTop(
            parent,
            changed,
            `Release ${version}: reusable workflows (layer ${d + 1}) call the actions of ${base}`,
          );
    }
    for (const f of inLayer) commitOf[f] = parent;
  }
  const workflowsCommit = parent;

  const templates = workflowFiles(base)
    .filter((f) => f.file.startsWith('workflows-templates/'))
    .map((f) => rewrite(f.file, git(['show', `${base}:${f.file}`]), (called) => commitOf[called]))
    .filter((f) => f.changes.length > 0);
  show(templates);
  if (dryRun) {
    print(`The <commit …> references are made by the release from ${base.slice(0, 12)} with the files above.`);
    return { version, base };
  }
  const released =
    templates.length > 0
      ? commitOnTop(
          workflowsCommit,
          templates,
          `Release ${version}: starter workflows call the reusable workflows of ${workflowsCommit}`,
        )
      : workflowsCommit;

  // Nothing mutable may remain, in the tagged tree or in the workflows the templates point at.
  const checks = [
    { commit: released, dirs: WORKFLOW_DIRS },
    { commit: workflowsCommit, dirs: ['.github/workflows'] },
  ];
  for (const { commit, dirs } of checks) {
    for (const f of workflowFiles(commit).filter((f) => dirs.some((d) => f.file.startsWith(`${d}/`)))) {
      const left = mutableFirstPartyRefs(git(['show', `${commit}:${f.file}`]));
      if (left.length > 0) {
        throw new ReleaseError(
          `${f.file}:${left[0].line}: ${left[0].ref} is still a mutable reference after the rewrite; nothing was tagged`,
        );
      }
    }
  }

  git(['tag', '-a', version, released, '-m', `opskit ${version}`]);
  git(['tag', '-f', '-a', major, released, '-m', `opskit ${major} (${version})`]);
  print(`Tagged ${version} and moved ${major} to ${released}.`);
  print('Next (docs/releasing.md):');
  print(`  git push origin refs/tags/${version}`);
  print(`  git push --force origin refs/tags/${major}`);
  print(`  gh release create ${version} --verify-tag --generate-notes   # offer it on the GitHub Marketplace`);
  return { version, base, workflowsCommit, released };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  try {
    release(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ReleaseError)) throw err;
    console.error(`release: ${err.message}`);
    process.exitCode = 1;
  }
}
