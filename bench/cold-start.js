/**
 * Cold start of every bundle (dist/<action>/index.js) under Node 24: the process wall time of a run with no
 * inputs (each action then stops at once with exit code 1 for the missing required input), against the
 * baseline in the same run, `node -e 0` (bare Node start-up). Runs are interleaved (baseline, bundle 1,
 * bundle 2, …, repeated) after one uncounted warm-up of each, so the page cache is warm for all alike.
 *
 * Run alone: node bench/cold-start.js
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, isMain, median, ms, node24, ratio, root, table, timedRun } from './lib.js';

export const RUNS = 10;
export const GOAL_MS = 250;

export function bundles() {
  const dist = path.join(root, 'dist');
  if (!existsSync(dist)) return [];
  return readdirSync(dist, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dist, d.name, 'index.js')))
    .map((d) => {
      const file = path.join(dist, d.name, 'index.js');
      return { name: d.name, file, sizeKiB: statSync(file).size / 1024 };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function benchColdStart({ runs = RUNS, log = () => {} } = {}) {
  const node = node24().path;
  const found = bundles();
  if (found.length === 0) throw new Error('no dist/*/index.js: run `npm run build` first');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-cold-'));
  try {
    const env = cleanEnv({ RUNNER_TEMP: dir });
    const subjects = [
      { name: 'node -e 0', args: ['-e', '0'], baseline: true },
      ...found.map((b) => ({ ...b, args: [b.file] })),
    ];
    for (const s of subjects) {
      s.samples = [];
      s.codes = new Set();
    }
    const once = async (s) => {
      const run = await timedRun(node, s.args, { env, cwd: dir, timeoutMs: 30_000 });
      if (run.signal) throw new Error(`${s.name} was killed (${run.signal}): did it wait for something?`);
      s.codes.add(run.code);
      return run.wallMs;
    };
    log('cold-start: warm-up run of each (not counted)');
    for (const s of subjects) await once(s);
    for (let i = 1; i <= runs; i++) {
      for (const s of subjects) s.samples.push(await once(s));
      log(`cold-start: round ${i}: ${subjects.map((s) => `${s.name} ${ms(s.samples.at(-1))}`).join(', ')}`);
    }
    const bare = median(subjects[0].samples);
    const rows = subjects.slice(1).map((s) => {
      const medianMs = median(s.samples);
      return {
        name: s.name,
        sizeKiB: s.sizeKiB,
        exitCodes: [...s.codes],
        medianMs,
        minMs: Math.min(...s.samples),
        maxMs: Math.max(...s.samples),
        overheadMs: medianMs - bare,
        ratio: medianMs / bare,
        met: medianMs <= GOAL_MS,
      };
    });
    return {
      runs,
      goalMs: GOAL_MS,
      baseline: { medianMs: bare, minMs: Math.min(...subjects[0].samples), maxMs: Math.max(...subjects[0].samples) },
      bundles: rows,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function coldStartTable(result) {
  const b = result.baseline;
  return table(
    [
      'bundle',
      'size',
      'exit code',
      'median (min–max)',
      'overhead over bare Node',
      'ratio to bare Node',
      `≤ ${result.goalMs} ms`,
    ],
    [
      [
        'bare Node (`node -e 0`, baseline)',
        '–',
        '0',
        `${ms(b.medianMs)} (${Math.round(b.minMs)}–${Math.round(b.maxMs)})`,
        '–',
        ratio(1),
        '–',
      ],
      ...result.bundles.map((r) => [
        `\`dist/${r.name}/index.js\``,
        `${r.sizeKiB.toFixed(0)} KiB`,
        r.exitCodes.join(', '),
        `${ms(r.medianMs)} (${Math.round(r.minMs)}–${Math.round(r.maxMs)})`,
        `+${ms(r.overheadMs)}`,
        ratio(r.ratio),
        r.met ? 'met' : 'NOT met',
      ]),
    ],
  );
}

if (isMain(import.meta.url)) {
  const result = await benchColdStart({ log: (m) => console.error(m) });
  console.log(coldStartTable(result));
}
