#!/usr/bin/env node
/**
 * Bundles each action's main.ts with @vercel/ncc into <out>/<name>/index.js (default dist/).
 * Usage: node scripts/build.js [--out dir] [name ...]
 */
import { readdirSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : path.join(root, 'dist');
const names = args.filter((a, i) => a !== '--out' && !(outIndex >= 0 && i === outIndex + 1));

export function actionNames() {
  return readdirSync(path.join(root, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'main.ts')))
    .map((d) => d.name)
    .sort();
}

const entries = [...(names.length ? names : actionNames()).map((n) => [n, `actions/${n}/main.ts`])];
if (!names.length && existsSync(path.join(root, 'main.ts'))) entries.push(['checklist', 'main.ts']);

// One build at a time in this checkout (they share build/ncc): wait for a running one to finish.
const lock = path.join(root, 'build', '.lock');
mkdirSync(path.dirname(lock), { recursive: true });
for (let waited = 0; ; waited += 200) {
  try {
    mkdirSync(lock);
    break;
  } catch {
    if (waited > 600_000) throw new Error(`another build holds ${lock}; remove it if no build is running`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}
process.on('exit', () => rmSync(lock, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

// Each action knows its action.yml defaults and outputs from actions/common/specs.generated.ts: refresh it first.
execFileSync(process.execPath, [path.join(root, 'scripts', 'action-spec.js')], { cwd: root, stdio: 'inherit' });

// Compile the TypeScript once (only src/ and actions/, never tests), then bundle the JavaScript.
// Inside the project, so the compiled files resolve node_modules wherever the bundles go.
const tmp = path.join(root, 'build', 'ncc');
rmSync(tmp, { recursive: true, force: true });
// Type errors are the typecheck's business (npm run lint); tsc still emits, so one action builds
// while another action's work in progress does not type-check.
try {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', tmp],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
} catch (err) {
  if (!existsSync(tmp)) throw err;
  console.warn('tsc reported type errors (run npm run typecheck); bundling what it emitted');
}

const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
for (const [name, entry] of entries) {
  const dir = path.join(out, name);
  rmSync(dir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      ncc,
      'build',
      path.join(tmp, entry.replace(/\.ts$/, '.js')),
      '-o',
      dir,
      '--minify',
      '--no-source-map-register',
      '--target',
      'es2022',
      '--quiet',
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  console.log(`built ${path.relative(root, dir) || dir}/index.js`);
}
rmSync(tmp, { recursive: true, force: true });
