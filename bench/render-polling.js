/**
 * Render deploy polling: how late does deploy-render notice that a deploy went live, and how many API calls does
 * following a deploy cost? The library is compiled once (tsc -p tsconfig.build.json into build/bench-<pid>, removed
 * afterwards) and src/render/wait.js's waitForDeploy is driven on a virtual clock (nothing really sleeps) with a fake
 * client whose deploy goes created → build_in_progress → update_in_progress → live. Deploys of 1 to 10 minutes:
 * - the issue's split: `created` for 2 s, build_in_progress until 70% of the deploy, update_in_progress for the last
 *   30%; and
 * - random splits: `created` for 0.5–15 s, the build 40–90% of the rest.
 * Each deploy's length is jittered by ±5 s (seeded) so that its end does not fall on the poll grid of the fixed
 * baselines (deploys of whole minutes would otherwise be seen at once by 5 s and 10 s polls). The same deploys are
 * followed by the adaptive wait and by the baselines, a fixed 5 s poll (Render CLI style) and a fixed 10 s poll.
 * The lag is the virtual time from the moment the deploy went live to the moment the wait returned; the Render API
 * answers instantly here, so a real lag adds one request's latency to it.
 *
 * Run alone: node bench/render-polling.js [--json <path>] [--seed <n>] [--samples <n>]
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanupOnSignal, isMain, median, ratio, root, table, timedRun } from './lib.js';

export const DURATIONS_MIN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/** Jittered deploys per duration, for each split kind (the issue's 70/30 split and random splits). */
export const SAMPLES = 10;
export const SEED = 20_260_101;
export const JITTER_MS = 5_000;
export const CAP_MS = 10_000;
/** The adaptive wait's API calls at most this many times a fixed 5 s poll's, over all the simulated deploys (#19). */
export const CALLS_OVER_FIXED5_MAX = 1.0;
const CREATED_MS = 2_000;
const BUILD_SHARE = 0.7;

export const STRATEGIES = [
  { id: 'adaptive', short: 'adaptive', label: 'adaptive (deploy-render)' },
  { id: 'fixed5', short: 'fixed 5 s', label: 'fixed 5 s (Render CLI style)', intervalMs: 5_000 },
  { id: 'fixed10', short: 'fixed 10 s', label: 'fixed 10 s', intervalMs: 10_000 },
];

/** mulberry32: a small seeded PRNG, so every run simulates the same deploys. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The deploys to follow: per duration, SAMPLES with the issue's split and SAMPLES with random splits. */
export function makeDeploys({ seed = SEED, samples = SAMPLES } = {}) {
  const rand = prng(seed);
  const deploys = [];
  for (const minutes of DURATIONS_MIN) {
    for (const split of ['70/30', 'random']) {
      for (let i = 0; i < samples; i++) {
        const totalMs = minutes * 60_000 + Math.floor(rand() * 2 * JITTER_MS) - JITTER_MS;
        const createdMs = split === '70/30' ? CREATED_MS : 500 + Math.floor(rand() * 14_500);
        const buildEndMs =
          split === '70/30'
            ? Math.round(totalMs * BUILD_SHARE)
            : createdMs + Math.round((totalMs - createdMs) * (0.4 + rand() * 0.5));
        deploys.push({
          minutes,
          split,
          totalMs,
          phases: [
            { status: 'created', from: 0 },
            { status: 'build_in_progress', from: createdMs },
            { status: 'update_in_progress', from: buildEndMs },
            { status: 'live', from: totalMs },
          ],
        });
      }
    }
  }
  return deploys;
}

/** A virtual clock and a fake client following one deploy created at t = 0. */
function simulation(deploy) {
  let t = 0;
  let calls = 0;
  const clock = {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  };
  const status = () => deploy.phases.filter((p) => p.from <= t).at(-1).status;
  const client = {
    getDeploy: async (_serviceId, deployId) => {
      calls++;
      return { id: deployId, status: status() };
    },
  };
  return { clock, client, calls: () => calls, now: () => t };
}

const quiet = { debug() {}, info() {}, warning() {}, error() {} };
const TIMEOUT_MS = 30 * 60_000;

/** A fixed-interval poller: poll, stop at an end status, else sleep the interval. */
async function fixedPoll(client, clock, intervalMs, ended) {
  const start = clock.now();
  for (;;) {
    const d = await client.getDeploy('srv-bench', 'dep-bench');
    if (ended.has(d.status) || clock.now() - start >= TIMEOUT_MS) return d;
    await clock.sleep(intervalMs);
  }
}

async function follow(lib, deploy, strategy) {
  const sim = simulation(deploy);
  let status;
  if (strategy.id === 'adaptive') {
    const r = await lib.waitForDeploy(sim.client, 'srv-bench', 'dep-bench', {
      timeoutMs: TIMEOUT_MS,
      logger: quiet,
      clock: sim.clock,
    });
    status = r.timedOut ? 'timed-out' : r.deploy.status;
  } else {
    status = (await fixedPoll(sim.client, sim.clock, strategy.intervalMs, lib.ENDED)).status;
  }
  if (status !== 'live') throw new Error(`${strategy.label} ended ${status} on a ${deploy.minutes}-minute deploy`);
  return { lagMs: sim.now() - deploy.totalMs, calls: sim.calls() };
}

/** Compiles the library into build/bench-<pid> and imports the wait module from there. */
async function compile(outDir, log) {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const t0 = performance.now();
  const r = await timedRun(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: root,
    timeoutMs: 300_000,
  });
  const waitJs = path.join(outDir, 'src/render/wait.js');
  // tsc still emits when files elsewhere in the tree have type errors; only a missing output is fatal here.
  if (!existsSync(waitJs)) throw new Error(`tsc emitted no ${waitJs} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  if (r.code !== 0) log(`render-polling: tsc exited ${r.code} (type errors elsewhere; wait.js was emitted)`);
  log(`render-polling: compiled the library in ${Math.round(performance.now() - t0)} ms`);
  const wait = await import(pathToFileURL(waitJs).href);
  const types = await import(pathToFileURL(path.join(outDir, 'src/render/types.js')).href);
  return { waitForDeploy: wait.waitForDeploy, POLL_MAX_MS: wait.POLL_MAX_MS, ENDED: types.ENDED };
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

function summarize(samples) {
  const lags = samples.map((s) => s.lagMs);
  const calls = samples.map((s) => s.calls);
  return {
    deploys: samples.length,
    meanLagMs: mean(lags),
    medianLagMs: median(lags),
    maxLagMs: Math.max(...lags),
    meanCalls: mean(calls),
    minCalls: Math.min(...calls),
    maxCalls: Math.max(...calls),
  };
}

export async function benchRenderPolling({ seed = SEED, samples = SAMPLES, log = () => {} } = {}) {
  const outDir = path.join(root, 'build', `bench-${process.pid}`);
  const remove = () => rm(outDir, { recursive: true, force: true });
  const unregister = cleanupOnSignal(remove);
  try {
    await mkdir(path.dirname(outDir), { recursive: true });
    const lib = await compile(outDir, log);
    if (lib.POLL_MAX_MS !== CAP_MS) throw new Error(`POLL_MAX_MS is ${lib.POLL_MAX_MS}, the bench expects ${CAP_MS}`);
    const deploys = makeDeploys({ seed, samples });
    const t0 = performance.now();
    const runs = [];
    for (const d of deploys) {
      const by = {};
      for (const s of STRATEGIES) by[s.id] = await follow(lib, d, s);
      runs.push({ minutes: d.minutes, split: d.split, totalMs: d.totalMs, by });
    }
    log(
      `render-polling: followed ${deploys.length} deploys × ${STRATEGIES.length} strategies in ${Math.round(performance.now() - t0)} ms`,
    );
    const group = (split) =>
      DURATIONS_MIN.map((minutes) => {
        const mine = runs.filter((r) => r.minutes === minutes && (split === 'all' || r.split === split));
        const row = { minutes };
        for (const s of STRATEGIES) row[s.id] = summarize(mine.map((r) => r.by[s.id]));
        return row;
      });
    const overall = Object.fromEntries(STRATEGIES.map((s) => [s.id, summarize(runs.map((r) => r.by[s.id]))]));
    const a = overall.adaptive;
    return {
      seed,
      samplesPerSplit: samples,
      jitterMs: JITTER_MS,
      capMs: CAP_MS,
      model: {
        split: `created ${CREATED_MS / 1000} s, build_in_progress until ${BUILD_SHARE * 100}% of the deploy, update_in_progress for the rest`,
        randomSplit: 'created 0.5-15 s, build 40-90% of the rest',
        apiLatencyMs: 0,
      },
      strategies: STRATEGIES,
      split7030: group('70/30'),
      randomSplits: group('random'),
      overall,
      ratios: {
        callsAdaptiveOverFixed5: a.meanCalls / overall.fixed5.meanCalls,
        callsAdaptiveOverFixed10: a.meanCalls / overall.fixed10.meanCalls,
        meanLagAdaptiveOverFixed5: a.meanLagMs / overall.fixed5.meanLagMs,
        meanLagAdaptiveOverFixed10: a.meanLagMs / overall.fixed10.meanLagMs,
      },
      goal: {
        capMs: CAP_MS,
        maxLagMs: a.maxLagMs,
        callsOverFixed5Max: CALLS_OVER_FIXED5_MAX,
        callsOverFixed5: a.meanCalls / overall.fixed5.meanCalls,
        met: a.maxLagMs <= CAP_MS && a.meanCalls / overall.fixed5.meanCalls <= CALLS_OVER_FIXED5_MAX,
      },
    };
  } finally {
    unregister();
    await remove();
  }
}

const sec = (msValue) => `${(msValue / 1000).toFixed(1)} s`;
const callRange = (s) =>
  s.minCalls === s.maxCalls ? `${s.minCalls}` : `${s.meanCalls.toFixed(1)} (${s.minCalls}–${s.maxCalls})`;

/**
 * One row per duration: API calls (mean, min–max) and lag (mean / max) per strategy, and the adaptive wait's calls
 * as a multiple of each baseline's.
 */
export function renderPollingTable(rows) {
  return table(
    [
      'deploy',
      ...STRATEGIES.flatMap((s) => [`${s.short}: API calls`, `${s.short}: lag mean / max`]),
      'adaptive calls ÷ fixed 5 s',
      'adaptive calls ÷ fixed 10 s',
    ],
    rows.map((r) => [
      `${r.minutes} min`,
      ...STRATEGIES.flatMap((s) => [callRange(r[s.id]), `${sec(r[s.id].meanLagMs)} / ${sec(r[s.id].maxLagMs)}`]),
      ratio(r.adaptive.meanCalls / r.fixed5.meanCalls),
      ratio(r.adaptive.meanCalls / r.fixed10.meanCalls),
    ]),
  );
}

/** The whole-run summary: one row per strategy over every simulated deploy, with the adaptive wait against it. */
export function renderPollingOverallTable(result) {
  const a = result.overall.adaptive;
  return table(
    [
      'strategy',
      'deploys',
      'mean API calls',
      'mean lag',
      'median lag',
      'max lag',
      'adaptive calls ÷ this',
      'adaptive mean lag ÷ this',
    ],
    STRATEGIES.map((s) => {
      const o = result.overall[s.id];
      return [
        s.label,
        String(o.deploys),
        o.meanCalls.toFixed(1),
        sec(o.meanLagMs),
        sec(o.medianLagMs),
        sec(o.maxLagMs),
        ratio(a.meanCalls / o.meanCalls),
        ratio(a.meanLagMs / o.meanLagMs),
      ];
    }),
  );
}

export function renderPollingGoalLine(result) {
  const g = result.goal;
  return (
    `Goal: the lag between \`live\` and the wait returning stays at or under ${g.capMs / 1000} s for deploys ` +
    `of 1 to 10 minutes${callsGoal(g) ? `, ${callsGoal(g)}` : ''}. Measured: max lag ${sec(g.maxLagMs)}` +
    `${g.callsOverFixed5 === undefined ? '' : `, ${ratio(g.callsOverFixed5)} the API calls of a fixed 5 s poll`}, ` +
    `**${g.met ? 'met' : 'NOT met'}**.`
  );
}

/** The API-call half of the goal, for results measured since it was set (older kept results have no such field). */
function callsGoal(g) {
  return g.callsOverFixed5Max === undefined
    ? ''
    : `with at most ${g.callsOverFixed5Max.toFixed(1)}× the API calls of a fixed 5 s poll over all of them`;
}

/** A row for the Goals table of docs/benchmarks.md: [goal, measured, result]. */
export function renderPollingGoalRow(result) {
  const a = result.overall.adaptive;
  return [
    `Render deploys of 1 to 10 minutes: the lag between \`live\` and the wait returning stays at or under the poll cap (${result.capMs / 1000} s)` +
      (callsGoal(result.goal) ? `, ${callsGoal(result.goal)}` : '; API calls per deploy reported'),
    `max lag ${sec(a.maxLagMs)} over ${a.deploys} simulated deploys (mean ${sec(a.meanLagMs)}); ` +
      `${a.meanCalls.toFixed(1)} API calls per deploy on average, ${ratio(result.ratios.callsAdaptiveOverFixed5)} a fixed 5 s poll's ` +
      `and ${ratio(result.ratios.callsAdaptiveOverFixed10)} a fixed 10 s poll's`,
    result.goal.met ? '**met**' : '**NOT met**',
  ];
}

/** The docs/benchmarks.md section; `stamp` is like "measured <date> on commit <sha>". */
export function renderPollingSection(result, stamp = 'measured') {
  return `## Render deploy polling

\`bench/render-polling.js\`, ${stamp}: the library is compiled with \`tsc -p tsconfig.build.json\` into a temporary
\`build/bench-<pid>\` and \`waitForDeploy\` (\`src/render/wait.ts\`) follows simulated deploys on a virtual clock
(nothing sleeps; the whole run takes milliseconds after the compile), with a fake client whose deploy goes
\`created\` → \`build_in_progress\` → \`update_in_progress\` → \`live\`. Deploys last 1 to 10 minutes, each jittered
by ±${result.jitterMs / 1000} s (seed ${result.seed}) so their end does not fall on a fixed poll's grid;
${result.samplesPerSplit} deploys per duration with the issue's split (${result.model.split}) and
${result.samplesPerSplit} with random splits (${result.model.randomSplit}). The same deploys are followed by two
baselines, a fixed 5 s poll (Render CLI style) and a fixed 10 s poll. The lag is the virtual time from the moment the
deploy went live to the moment the wait returned; API calls count \`getDeploy\` requests. The simulated API answers
instantly: against the real API the lag adds one request's latency.

Issue's split (${result.model.split}):

${renderPollingTable(result.split7030)}

Random splits:

${renderPollingTable(result.randomSplits)}

All ${result.overall.adaptive.deploys} deploys:

${renderPollingOverallTable(result)}

${renderPollingGoalLine(result)}
`;
}

function argValue(argv, name) {
  const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  const value = argv[at].includes('=') ? argv[at].slice(argv[at].indexOf('=') + 1) : argv[at + 1];
  if (!value || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const json = argValue(argv, '--json');
  const seed = Number(argValue(argv, '--seed') ?? SEED);
  const samples = Number(argValue(argv, '--samples') ?? SAMPLES);
  if (!Number.isInteger(seed) || !Number.isInteger(samples) || samples < 1) throw new Error('bad --seed or --samples');
  const result = await benchRenderPolling({ seed, samples, log: (m) => console.error(m) });
  console.log(`Issue's split (created 2 s, build 70%, update 30%), ${samples} jittered deploys per duration:\n`);
  console.log(renderPollingTable(result.split7030));
  console.log(`\nRandom splits, ${samples} per duration:\n`);
  console.log(renderPollingTable(result.randomSplits));
  console.log('\nAll deploys:\n');
  console.log(renderPollingOverallTable(result));
  console.log(`\n${renderPollingGoalLine(result)}`);
  if (json) {
    await writeFile(path.resolve(json), `${JSON.stringify(result, null, 1)}\n`);
    console.error(`render-polling: wrote ${json}`);
  }
}
