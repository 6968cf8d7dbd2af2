/**
 * `npm run demo`: compiles demo/main.ts and what it uses (src, actions/common, test/harness) with the
 * project's TypeScript into build/demo, then runs it in this process (so Ctrl-C reaches its cleanup).
 * Type errors are reported but do not stop the demo as long as tsc emitted JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root); // the GitHub simulator finds @octokit/openapi under ./node_modules
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const entry = path.join(root, 'build', 'demo', 'demo', 'main.js');

if (!existsSync(tsc)) {
  process.stderr.write('The demo needs the dev dependencies: run `npm ci` first.\n');
  process.exit(1);
}
const quiet = process.argv.includes('--quiet') || process.env.OPSKIT_DEMO_QUIET === '1';
if (!quiet) process.stderr.write('Compiling the demo (TypeScript)…\n');
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'demo', 'tsconfig.json')], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) {
  if (!existsSync(entry)) {
    process.stderr.write(`${r.stdout}${r.stderr}The demo did not compile (see above).\n`);
    process.exit(1);
  }
  process.stderr.write(`demo: TypeScript reported type errors (running anyway):\n${r.stdout}${r.stderr}`);
}
// The AWS SDK warns that its releases after January 2027 need Node 22: true, but not news for a demo (the
// actions themselves run on Node 24). The SDK's own switch for that warning:
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import(pathToFileURL(entry).href);
