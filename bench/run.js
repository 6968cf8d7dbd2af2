/**
 * Runs the benchmarks, prints the tables and rewrites docs/benchmarks.md from the results.
 * Speed is judged as ratios against a baseline measured in the same run (machines are noisy); the
 * absolute goals from the issues are stated beside them.
 *
 * Usage: npm run bench (node bench/run.js) runs every part: smoke, cold-start, db, render, blue-green, migrate (the
 * db and migrate parts take many minutes). `node bench/run.js --only db` (or any other part; several with commas)
 * runs only those parts and keeps the other parts' sections as they were: the doc carries every part's raw results
 * in a comment at its end, and the whole doc is regenerated from the new results plus the kept ones. `--render` runs
 * nothing and only regenerates the doc from the kept results (after a change to how the doc is written).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchColdStart, coldStartTable, RUNS as COLD_RUNS } from './cold-start.js';
import {
  benchDb,
  dbGoalRows,
  dbSection,
  DEFAULT_RUNS as DB_DEFAULT_RUNS,
  DEFAULT_SMALL_RUNS as DB_DEFAULT_SMALL_RUNS,
  RUNS as DB_RUNS,
  SMALL_RUNS as DB_SMALL_RUNS,
} from './db-backup.js';
import { isMain, ms, node24, ratio, root, table } from './lib.js';
import { benchBlueGreen, blueGreenTable } from './blue-green.js';
import { benchCleanRestore, cleanGoalRows, cleanMethod, cleanSection } from './clean-restore.js';
import {
  benchMigrate,
  DEFAULT_RUNS as MIGRATE_DEFAULT_RUNS,
  migrateGoalRow,
  migrateSection,
  migrateTable,
  migrateFigure,
  RUNS as MIGRATE_RUNS,
} from './migrate.js';
import { benchRenderPolling, renderPollingGoalRow, renderPollingSection } from './render-polling.js';
import {
  benchSmokeConcurrency,
  CHECKS,
  DELAY_MS,
  GOAL_MS,
  RUNS as SMOKE_RUNS,
  smokeRuns,
  smokeTable,
} from './smoke-concurrency.js';

const DOC = path.join(root, 'docs/benchmarks.md');

function gitHead() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** Formats the doc the way the repository formats it, so a fresh run leaves it prettier-clean. */
function formatDoc() {
  const prettier = path.join(root, 'node_modules/prettier/bin/prettier.cjs');
  if (!existsSync(prettier)) return;
  execFileSync(process.execPath, [prettier, '--single-quote', '--print-width', '120', '--write', DOC], {
    cwd: root,
    stdio: 'ignore',
  });
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node24: node24().version,
    benchNode: process.version,
  };
}

export const PARTS = ['smoke', 'cold-start', 'db', 'render', 'blue-green', 'migrate', 'clean-restore'];
const RESULTS_START = '<!-- bench-results';
const RESULTS_END = '-->';

/** The raw results of every part kept in the doc (see the file comment), or {} when there are none. */
export function readKeptResults(file = DOC) {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const at = text.lastIndexOf(RESULTS_START);
  if (at < 0) return {};
  const end = text.indexOf(RESULTS_END, at);
  try {
    return JSON.parse(text.slice(at + RESULTS_START.length, end).replace(/^[^\n]*\n/, ''));
  } catch {
    return {};
  }
}

const stamp = (r) => `measured ${r.date} on commit ${r.commit}`;
const notRun = (part) => `not measured yet: run \`node bench/run.js --only ${part}\``;

function smokeGoalRow(smoke) {
  const goal = `Smoke test: ${CHECKS} checks against endpoints that each answer after ${DELAY_MS} ms finish in under ${GOAL_MS / 1000} s of wall time, as a ratio against checking them one after another`;
  if (!smoke) return [goal, notRun('smoke'), '–'];
  const a = smoke.cases.find((c) => c.id === 'a');
  const c = smoke.cases.find((x) => x.id === 'c');
  return [
    goal,
    `concurrency 50: ${ms(a.durationMs)} in-process (${ms(a.wallMs)} process wall time incl. Node start-up); ${ratio(a.durationRatio)} faster than one after another (${ms(c.durationMs)})`,
    smoke.goal.met ? '**met**' : '**NOT met**',
  ];
}

function coldGoalRow(cold) {
  const goal = `Cold start of each bundle under Node 24 at most ${cold?.goalMs ?? 250} ms`;
  if (!cold) return [goal, notRun('cold-start'), '–'];
  return [
    goal,
    cold.bundles
      .map((b) => `\`${b.name}\`: ${ms(b.medianMs)} (+${ms(b.overheadMs)} over bare Node, ${ratio(b.ratio)})`)
      .join('; '),
    cold.bundles.every((b) => b.met) ? '**met**' : '**NOT met**',
  ];
}

function smokeSection(smoke) {
  if (!smoke) return `## Smoke test concurrency\n\n${notRun('smoke')}.\n`;
  return `## Smoke test concurrency

\`bench/smoke-concurrency.js\`, ${stamp(smoke)}: a \`node:http\` server on 127.0.0.1 answers every path with
\`{"status":"healthy"}\` after ${DELAY_MS} ms. The real bundle (\`node24 dist/smoke-test/index.js\`, inputs through
\`INPUT_*\` environment variables) runs ${CHECKS} checks on ${CHECKS} distinct paths (each with
\`expect-json: {$.status: healthy}\`), ${smoke.runsPerCase} runs per case. A run counts only if it exits 0, reports
\`passed=true\`, every check passed on its first attempt and the server saw exactly ${CHECKS} requests to ${CHECKS}
paths. The speed-up is the sequential baseline (c) divided by the case.

${smokeTable(smoke)}

The goal is judged on the in-process \`durationMs\` of case (a); the process wall time adds Node start-up and
loading the bundle (see the cold start below).

Individual runs:

\`\`\`text
${smokeRuns(smoke)}
\`\`\`
`;
}

function coldSection(cold) {
  if (!cold) return `## Cold start\n\n${notRun('cold-start')}.\n`;
  return `## Cold start

\`bench/cold-start.js\`, ${stamp(cold)}: every \`dist/*/index.js\` run under Node 24 with no inputs (it stops at
once with exit code 1 for the missing required input), ${cold.runs} runs each, against the baseline \`node -e 0\`
(an empty script) in the same run. The overhead is the bundle's median minus bare Node's median. The goal (at most
${cold.goalMs} ms) is judged on the bundle's absolute median.

${coldStartTable(cold)}
`;
}

function dbPart(db) {
  if (!db) return { rows: [], section: `## db-backup and db-restore\n\n${notRun('db')}.\n` };
  return { rows: dbGoalRows(db), section: dbSection(db) };
}

function machineLine(host) {
  return `${host.cpu}, ${host.cpuCount} CPUs, ${host.memoryGiB.toFixed(0)} GiB RAM, ${host.os}`;
}

/** The whole doc from the results of every part (`results[part]` may be missing: that part was never run). */
export function benchmarksMarkdown({ date, host, results }) {
  const { smoke, db } = results;
  const cold = results['cold-start'];
  const dbp = dbPart(db);
  const dbGoalRows = db
    ? dbp.rows
    : [['db-backup and db-restore (issue 3): speed, memory and restore goals', notRun('db'), '–']];
  const hosts = PARTS.filter((p) => results[p]).map((p) => `${p}: ${results[p].date} on commit ${results[p].commit}`);
  const otherHosts = [
    ...new Set(
      PARTS.filter((p) => results[p] && machineLine(results[p].host) !== machineLine(host)).map(
        (p) => `${p} ran on ${machineLine(results[p].host)}`,
      ),
    ),
  ];
  // One line per part, so a rerun of one part changes one line of the kept results.
  const json = `{\n${Object.entries(results)
    .map(([part, r]) => `${JSON.stringify(part)}: ${JSON.stringify(r)}`)
    .join(',\n')}\n}`;
  return `# Benchmarks

> This file is generated by \`npm run bench\` (\`node bench/run.js\`). Do not edit it by hand: change \`bench/\` and
> run the command again. \`node bench/run.js --only smoke|cold-start|db|render|blue-green|migrate\` reruns one part and keeps the other
> parts' sections (their raw results are kept in a comment at the end of this file).

- Generated: ${date}
- Parts measured: ${hosts.join('; ') || 'none'} (bundles as found in \`dist/\` at that time)
- Machine: ${machineLine(host)}${otherHosts.length ? ` (${otherHosts.join('; ')})` : ''}
- Node: bundles run under Node ${host.node24} (the Actions runtime, \`using: node24\`); the bench driver ran under Node ${host.benchNode}

## Method

Machines are noisy, so every figure is set against a baseline measured in the same run, on the same machine,
with the runs of all cases interleaved (a, b, c, a, b, c, …) after one uncounted warm-up. Each figure is a median.
Times are taken by the bench process from \`spawn\` to the child's exit (process wall time, which includes Node
start-up), and, for the smoke test, also from the \`durationMs\` of the JSON report (the \`report\` output), which
counts only the checks themselves. Unit tests never assert timings; this is the only place they are measured.

A speed goal is also set against its physical floor, measured in the same rounds: the bare tools doing the same
job, with nothing opskit adds (for a backup in S3, \`pg_dump | zstd | upload\` to the same store; for a restore of a
stored archive, \`zstd -d\` and \`pg_restore\`). Where a goal asks for less than that floor, its row says so with the
figures and judges the floor-relative version: the goal's ratio applied to the floor.

## Goals

${table(['goal', 'measured', 'result'], [smokeGoalRow(smoke), coldGoalRow(cold), ...dbGoalRows, migrateGoalRow(results.migrate), ...(results.render ? [renderPollingGoalRow(results.render)] : []), ...(results['blue-green'] ? [blueGreenGoalRow(results['blue-green'])] : []), ...(results['clean-restore'] ? cleanGoalRows(results['clean-restore']) : [])])}

## How to run

- Everything: \`npm run bench\` (\`node bench/run.js\`), after \`npm run build\`. Needs a Node 24 (found like the
  tests find it: \`OPSKIT_NODE24\`, the test harness's cache, else \`npx node@24\`).
- One part: \`node bench/run.js --only smoke\`, \`--only cold-start\`, \`--only db\`, \`--only render\`,
  \`--only blue-green\` or \`--only migrate\` (several: \`--only smoke,db\`); \`--render\` only rewrites this file
  from the kept results. Each part can also run alone without touching this file: \`node bench/smoke-concurrency.js\`,
  \`node bench/cold-start.js\`, \`node bench/db-backup.js\`, \`node bench/render-polling.js\`,
  \`node bench/blue-green.js\`, \`node bench/migrate.js [--json]\`.
- The db part needs a PostgreSQL server install (\`/usr/lib/postgresql/<major>/bin\` with initdb, pg_ctl, pg_dump,
  pg_restore, psql; as root it runs the server as the \`postgres\` OS user through \`runuser\`), gzip, bash, and
  GNU time (\`apt-get install -y time\`; optional, for the process-tree figures), and the \`zstd\` command (the
  action's default compression path). It builds its three databases (~2.25 GB: a small and a large one of md5-hex
  text, and one of pgbench-shaped rows the size of the large one) once per run and takes about 10 minutes on 2 cores.
  \`OPSKIT_BENCH_DB_MIB\` (default 1024) sets the size of the two large databases (the small one is a quarter of
  it); \`OPSKIT_BENCH_DB_RUNS\` (default ${DB_DEFAULT_RUNS}, both large databases) and
  \`OPSKIT_BENCH_DB_SMALL_RUNS\` (default ${DB_DEFAULT_SMALL_RUNS}) the rounds. It stops PostgreSQL and s3rver and removes
  its temp dirs when it ends, fails or is interrupted (SIGINT, SIGTERM, SIGHUP).
- The migrate part (\`--only migrate\`, issue 4 acceptance 10: what the pre-migration backup adds to a migration run)
  needs the same PostgreSQL install as the db part and starts its own throwaway cluster. It builds one database of
  \`OPSKIT_BENCH_DB_MIB\` (default 1024) MiB, and copies it for every run; \`OPSKIT_BENCH_MIGRATE_RUNS\` (default
  ${MIGRATE_DEFAULT_RUNS}) sets the rounds. It takes about 2 minutes on 2 cores.
- The clean-restore part (\`--only clean-restore\`, issue 16: db-restore mode clean, restored beside the target and
  swapped in, against a bare \`pg_restore --jobs=2\` into a new database) needs the same PostgreSQL install and
  measures, one after another, the databases \`OPSKIT_BENCH_CLEAN_SETS\` names (\`<MiB>:<shape>,…\`, shape md5 or
  pgbench; default \`1024:md5,1024:pgbench,256:md5\`; \`OPSKIT_BENCH_CLEAN_MIB\`/\`OPSKIT_BENCH_CLEAN_SHAPE\` measure
  one), each in \`OPSKIT_BENCH_CLEAN_RUNS\` (default 3) rounds; about 12 minutes on 2 cores. Alone:
  \`node bench/clean-restore.js\`.

${smokeSection(smoke)}
${coldSection(cold)}
${dbp.section}
${migrateSection(results.migrate)}
${results.render ? renderPollingSection(results.render, `measured ${results.render.date} on commit ${results.render.commit}`) : ''}
${results['blue-green'] ? blueGreenSection(results['blue-green']) : ''}
${results['clean-restore'] ? `## db-restore mode clean: the swap\n\n${cleanMethod(results['clean-restore'])}\n\n${cleanSection(results['clean-restore'])}\n` : ''}
${RESULTS_START} (raw results of each part, read by bench/run.js --only; do not edit)
${json.replaceAll('-->', '--\\u003e')}
${RESULTS_END}
`;
}

export function parseOnly(argv) {
  if (argv.includes('--render')) return [];
  const at = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (at < 0) return PARTS;
  const value = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  const parts = (value ?? '').split(',').filter(Boolean);
  const unknown = parts.filter((p) => !PARTS.includes(p));
  if (!parts.length || unknown.length) {
    throw new Error(`--only takes ${PARTS.join(', ')} (comma-separated), got '${value ?? ''}'`);
  }
  return parts;
}

export async function main(argv = process.argv.slice(2)) {
  const log = (m) => console.error(m);
  const only = parseOnly(argv);
  const host = machine();
  const commit = gitHead();
  log(
    `bench: ${only.join(', ')}; Node ${host.node24} at ${node24().path}; cold start ${COLD_RUNS} runs, ` +
      `smoke ${SMOKE_RUNS} runs per case, db ${DB_RUNS} rounds (small database ${DB_SMALL_RUNS}), ` +
      `migrate ${MIGRATE_RUNS} rounds`,
  );
  const results = readKeptResults();
  const meta = () => ({ date: new Date().toISOString(), commit, host });
  if (only.includes('cold-start')) {
    const cold = await benchColdStart({ log });
    results['cold-start'] = { ...cold, ...meta() };
    console.log('\nCold start (Node 24)\n');
    console.log(coldStartTable(cold));
    console.log(
      `Goal cold start (<= ${cold.goalMs} ms): ${cold.bundles.every((b) => b.met) ? 'met' : 'NOT met'} ` +
        `(${cold.bundles.map((b) => `${b.name} ${ms(b.medianMs)}`).join(', ')})`,
    );
  }
  if (only.includes('smoke')) {
    const smoke = await benchSmokeConcurrency({ log });
    results.smoke = { ...smoke, ...meta() };
    console.log(`\nSmoke test: ${CHECKS} checks, each endpoint answers after ${DELAY_MS} ms\n`);
    console.log(smokeTable(smoke));
    console.log(
      `\nGoal smoke (< ${GOAL_MS} ms in-process at concurrency 50): ${smoke.goal.met ? 'met' : 'NOT met'} ` +
        `(${ms(smoke.goal.durationMs)}; wall ${ms(smoke.goal.wallMs)})`,
    );
  }
  if (only.includes('db')) {
    const db = await benchDb({ log });
    results.db = { ...db, ...meta() };
    console.log(`\n${dbSection(db)}`);
    console.log(table(['goal', 'measured', 'result'], dbGoalRows(db)));
  }
  if (only.includes('migrate')) {
    const migrate = await benchMigrate({ log });
    results.migrate = { ...migrate, ...meta() };
    console.log(`\nmigrate-with-backup: what the backup adds\n`);
    console.log(migrateTable(migrate));
    console.log(`\n${migrateFigure(migrate).replaceAll('**', '')}`);
  }
  if (only.includes('render')) {
    const render = await benchRenderPolling({ log });
    results.render = { ...render, ...meta() };
    console.log(`\n${renderPollingSection(render)}`);
  }
  if (only.includes('clean-restore')) {
    const clean = await benchCleanRestore({ log });
    results['clean-restore'] = { ...clean, ...meta() };
    console.log(`\n${cleanSection(clean)}`);
  }
  if (only.includes('blue-green')) {
    const bg = await benchBlueGreen({ log });
    results['blue-green'] = { ...bg, ...meta() };
    console.log(`\n${blueGreenTable(bg)}`);
  }
  // Parts are written in a fixed order, whatever order they were run or kept in.
  const ordered = Object.fromEntries(PARTS.filter((p) => results[p]).map((p) => [p, results[p]]));
  writeFileSync(DOC, benchmarksMarkdown({ date: new Date().toISOString(), host, results: ordered }));
  formatDoc();
  console.log(`\nWrote ${path.relative(process.cwd(), DOC)}`);
}

if (isMain(import.meta.url)) await main();

/** Issue 6: zero failed requests through nginx during a 10,50,100 switch under load, and the switch time. */
function blueGreenGoalRow(bg) {
  const fresh = bg.cases.find((c) => c.id !== 'keepalive') ?? bg.cases[0];
  const all = bg.cases.map(
    (c) =>
      `${c.label}: ${c.requests} requests at ${Math.round(c.medianRps)} req/s, ${c.non2xx} non-2xx, ${c.errors} socket errors, switch ${ms(c.medianSwitchMs)}`,
  );
  return [
    'blue-green switch (issue 6): at least 300 requests/s through nginx for the whole switch, zero non-2xx answers and zero connection errors',
    all.join('; '),
    fresh && fresh.non2xx === 0 && fresh.errors === 0 && fresh.medianRps >= 300
      ? '**met** (new connection per request; see the keep-alive note)'
      : '**NOT met**',
  ];
}

function blueGreenSection(bg) {
  return `## Blue-green switch under load

\`bench/blue-green.js\`, measured ${bg.date} on commit ${bg.commit}: a real nginx (temp prefix, loopback) in front of two
backends that answer with their colour; the real bundle switches blue → green → blue… with steps ${bg.steps} and a
${bg.bakeSeconds} s bake per step while \`wrk\` loads nginx for the whole switch. The switch time is the bundle's wall
time; beyond the ${3 * bg.bakeSeconds} s of bakes it is the health gate, \`nginx -t\`, reloads and verification.

${blueGreenTable(bg)}

A keep-alive client that never retries sees a few connection resets per reload: that is nginx closing its old
workers' idle keep-alive connections on every \`nginx -s reload\`, not the switch; clients that retry an idempotent
request on a reset connection (browsers, most HTTP libraries) see none.
`;
}
