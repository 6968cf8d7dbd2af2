/** The db bench's S3 bucket: s3rver in a child process, as test/harness/s3.ts starts it. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, cleanupOnSignal, root } from '../lib.js';
import { BUCKET } from './config.js';

const S3RVER = `
const S3rver = require('s3rver');
const [dir, bucket] = process.argv.slice(1);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
server.run().then(
  (address) => process.stdout.write('S3RVER_READY ' + address.port + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
process.stdin.on('end', () => process.exit(0)).resume();
`;

export async function startS3rver({ log = () => {} } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER, dir, BUCKET], {
    cwd: root,
    env: cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());
  const unregister = cleanupOnSignal(stop);
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start in 15 s:\n${output}`)), 15_000);
      child.stdout.on('data', () => {
        const m = /S3RVER_READY (\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited (${code}) before it was ready:\n${output}`));
      });
    });
    const version = JSON.parse(readFileSync(path.join(root, 'node_modules/s3rver/package.json'), 'utf8')).version;
    log(`db: s3rver ${version} on 127.0.0.1:${port}`);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket: BUCKET,
      version,
      dir,
      /** Removes every object under a key prefix (s3rver keeps objects as files under <dir>/<bucket>/). */
      removePrefix: (prefix) => rm(path.join(dir, BUCKET, prefix), { recursive: true, force: true }),
      stop: async () => {
        await stop();
        unregister();
      },
    };
  } catch (err) {
    await stop();
    unregister();
    throw err;
  }
}
