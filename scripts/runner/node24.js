/**
 * Path of a Node 24 binary (the Actions runtime, `using: node24`), fetched once with `npx -y node@24` from the
 * npm registry and remembered in node_modules/.cache/opskit/node24-path. OPSKIT_NODE24 overrides it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './action.js';

const cacheFile = path.join(ROOT, 'node_modules', '.cache', 'opskit', 'node24-path');
let memo;

export function node24() {
  if (memo) return memo;
  if (process.env.OPSKIT_NODE24) return (memo = process.env.OPSKIT_NODE24);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, 'utf8').trim();
    if (existsSync(cached)) return (memo = cached);
  }
  const found = execFileSync('npx', ['-y', 'node@24', '-p', 'process.execPath'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  if (!/^v24\./.test(execFileSync(found, ['--version'], { encoding: 'utf8' }).trim())) {
    throw new Error(`npx node@24 gave ${found}, which is not Node 24`);
  }
  mkdirSync(path.dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, found);
  return (memo = found);
}
