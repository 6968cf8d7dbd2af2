/**
 * Smoke-test concurrency: the real bundle (dist/smoke-test/index.js under Node 24) checks 50 distinct
 * paths of a local node:http server whose every endpoint answers {"status":"healthy"} after 200 ms.
 * Cases: concurrency 50, the default 10, and the baseline concurrency 1 (one check after another).
 * Rounds are interleaved (a, b, c, a, b, c, …) so machine noise spreads over all cases alike.
 *
 * Run alone: node bench/smoke-concurrency.js
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, isMain, median, ms, node24, ratio, root, table, timedRun } from './lib.js';

export const CHECKS = 50;
export const DELAY_MS = 200;
export const RUNS = 3;
export const GOAL_MS = 1000;
export const BUNDLE = path.join(root, 'dist/smoke-test/index.js');

export const CASES = [
  { id: 'a', label: 'concurrency 50', concurrency: '50' },
  { id: 'b', label: 'concurrency 10 (default)', concurrency: undefined },
  { id: 'c', label: 'concurrency 1 (baseline, one after another)', concurrency: '1' },
];

/** A server whose every path answers 200 {"status":"healthy"} after `delayMs`; counts requests and peak in-flight. */
export async function startServer(delayMs = DELAY_MS) {
  const stats = { requests: 0, inFlight: 0, peakInFlight: 0, paths: new Set() };
  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.paths.add(req.url);
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    setTimeout(() => {
      stats.inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"healthy"}');
    }, delayMs);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stats,
    reset() {
      Object.assign(stats, { requests: 0, inFlight: 0, peakInFlight: 0, paths: new Set() });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

export function checksYaml(n = CHECKS) {
  return Array.from({ length: n }, (_, i) => {
    const id = String(i + 1).padStart(2, '0');
    return `- name: check-${id}\n  url: /service-${id}/health\n  expect-json:\n    $.status: healthy`;
  }).join('\n');
}

/** Parses a GITHUB_OUTPUT file (`name<<delimiter\nvalue\ndelimiter` blocks, or `name=value` lines). */
export function parseOutputs(text) {
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const value = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      out[heredoc[1]] = value.join('\n');
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=');
      out[lines[i].slice(0, at)] = lines[i].slice(at + 1);
    }
  }
  return out;
}

/** One run of the bundle; throws unless all checks passed on their first attempt. */
async function runOnce(node, server, kase) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opskit-bench-smoke-'));
  try {
    const outputFile = path.join(dir, 'github-output');
    const summaryFile = path.join(dir, 'step-summary.md');
    await writeFile(outputFile, '');
    await writeFile(summaryFile, '');
    await mkdir(path.join(dir, 'runner-temp'));
    const inputs = {
      'INPUT_BASE-URL': server.baseUrl,
      INPUT_CHECKS: checksYaml(),
      INPUT_TIMEOUT: '2m',
      'INPUT_REQUEST-TIMEOUT': '10s',
      'INPUT_RETRY-INTERVAL': '2s',
    };
    if (kase.concurrency !== undefined) inputs.INPUT_CONCURRENCY = kase.concurrency;
    const env = cleanEnv({
      ...inputs,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: path.join(dir, 'runner-temp'),
    });
    server.reset();
    const run = await timedRun(node, [BUNDLE], { env, cwd: dir });
    const outputs = parseOutputs(await readFile(outputFile, 'utf8'));
    const fail = (why) => new Error(`smoke-test run (${kase.label}) ${why}\n${run.stdout}\n${run.stderr}`);
    if (run.code !== 0) throw fail(`exited ${run.code ?? run.signal}`);
    if (outputs.passed !== 'true') throw fail(`reported passed=${outputs.passed}`);
    if (!outputs.report) throw fail('wrote no report output');
    const report = JSON.parse(await readFile(outputs.report, 'utf8'));
    if (report.checks.length !== CHECKS) throw fail(`reported ${report.checks.length} checks`);
    const retried = report.checks.filter((c) => c.attempts !== 1);
    if (retried.length) throw fail(`needed retries for ${retried.map((c) => c.name).join(', ')}`);
    if (server.stats.requests !== CHECKS || server.stats.paths.size !== CHECKS) {
      throw fail(`made ${server.stats.requests} requests to ${server.stats.paths.size} paths`);
    }
    return { wallMs: run.wallMs, durationMs: report.durationMs, peakInFlight: server.stats.peakInFlight };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchSmokeConcurrency({ runs = RUNS, log = () => {} } = {}) {
  const node = node24().path;
  const server = await startServer();
  try {
    log(`smoke-concurrency: warm-up run (not counted)`);
    await runOnce(node, server, CASES[0]);
    const samples = Object.fromEntries(CASES.map((c) => [c.id, []]));
    for (let round = 1; round <= runs; round++) {
      for (const kase of CASES) {
        const s = await runOnce(node, server, kase);
        log(`smoke-concurrency: round ${round} ${kase.label}: wall ${ms(s.wallMs)}, in-process ${ms(s.durationMs)}`);
        samples[kase.id].push(s);
      }
    }
    const cases = CASES.map((c) => ({
      ...c,
      concurrency: c.concurrency ?? '10',
      runs: samples[c.id],
      wallMs: median(samples[c.id].map((s) => s.wallMs)),
      durationMs: median(samples[c.id].map((s) => s.durationMs)),
      peakInFlight: Math.max(...samples[c.id].map((s) => s.peakInFlight)),
    }));
    const base = cases.find((c) => c.id === 'c');
    for (const c of cases) {
      c.durationRatio = base.durationMs / c.durationMs;
      c.wallRatio = base.wallMs / c.wallMs;
    }
    const a = cases.find((c) => c.id === 'a');
    return {
      checks: CHECKS,
      delayMs: DELAY_MS,
      runsPerCase: runs,
      cases,
      goal: { limitMs: GOAL_MS, durationMs: a.durationMs, wallMs: a.wallMs, met: a.durationMs < GOAL_MS },
    };
  } finally {
    await server.close();
  }
}

export function smokeTable(result) {
  return table(
    [
      'case',
      'concurrency',
      'median in-process (`durationMs`)',
      'median process wall time',
      'peak requests in flight',
      'speed-up vs sequential (in-process)',
      'speed-up vs sequential (wall)',
    ],
    result.cases.map((c) => [
      `(${c.id}) ${c.label}`,
      c.concurrency,
      ms(c.durationMs),
      ms(c.wallMs),
      String(c.peakInFlight),
      ratio(c.durationRatio),
      ratio(c.wallRatio),
    ]),
  );
}

export function smokeRuns(result) {
  return result.cases
    .map(
      (c) =>
        `(${c.id}) ${c.label}: in-process ${c.runs.map((r) => Math.round(r.durationMs)).join(', ')} ms; ` +
        `wall ${c.runs.map((r) => Math.round(r.wallMs)).join(', ')} ms`,
    )
    .join('\n');
}

if (isMain(import.meta.url)) {
  const result = await benchSmokeConcurrency({ log: (m) => console.error(m) });
  console.log(smokeTable(result));
  console.log(
    `\nGoal (50 checks at 200 ms each in under ${GOAL_MS} ms, concurrency 50, in-process): ` +
      `${ms(result.goal.durationMs)} -> ${result.goal.met ? 'MET' : 'NOT MET'} (process wall time ${ms(result.goal.wallMs)})`,
  );
}
