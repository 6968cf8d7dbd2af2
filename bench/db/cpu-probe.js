/**
 * How much of the 2 CPUs the machine gives: every goal here compares a pipeline that runs on both CPUs with one
 * that mostly uses one, so a machine whose second CPU is half taken (a shared core, a noisy neighbour) moves the
 * ratios. The probe: `zstd -1` over 100 MiB of hex, alone, then two at once, best of 3.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ms, mustRun, ratio } from '../lib.js';

export async function cpuProbe(work) {
  const file = path.join(work, 'cpu-probe.hex');
  await writeFile(file, randomBytes(50 << 20).toString('hex'));
  const one = `zstd -q -1 -c ${file} > /dev/null`;
  const time = async (cmd) => {
    const t0 = performance.now();
    await mustRun('bash', ['-c', cmd]);
    return performance.now() - t0;
  };
  const best = async (cmd) => Math.min(await time(cmd), await time(cmd), await time(cmd));
  const oneMs = await best(one);
  const twoMs = await best(`${one} & ${one} & wait`);
  await rm(file, { force: true });
  return { oneMs, twoMs, ratio: twoMs / oneMs };
}

export const probeText = (p) => `${ratio(p.ratio)} (${ms(p.oneMs)} alone, ${ms(p.twoMs)} two at once)`;
