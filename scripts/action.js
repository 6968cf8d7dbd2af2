#!/usr/bin/env node
/**
 * npm run action -- <name> [--input name=value ...] [--env-file file] [--absent name ...] [--github-token token]
 *
 * Runs one action's committed bundle on this machine exactly as a GitHub runner (and the tests) do: every
 * action.yml default filled in as INPUT_*, the GITHUB_OUTPUT/STEP_SUMMARY/STATE/ENV/PATH files, RUNNER_TEMP and
 * GITHUB_WORKSPACE (the current folder), pre and post steps, under Node 24. Then prints the outputs and the job
 * summary. `<name>` is a folder of actions/ or `checklist` (the root action).
 *
 * --env-file reads KEY=VALUE lines (blank lines and # comments skipped, values may be quoted): INPUT_<NAME> lines
 * are inputs, the rest is environment for the action (GITHUB_REPOSITORY, AWS_REGION, …).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionNames, runActionBundle } from './runner/action.js';
import { node24 } from './runner/node24.js';

const USAGE =
  'usage: npm run action -- <name> [--input name=value ...] [--env-file file] [--absent name ...] [--github-token token]';

export function parseArgs(argv) {
  const parsed = { name: '', inputs: {}, env: {}, absent: [], githubToken: process.env.GITHUB_TOKEN ?? '' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--input' || arg === '-i') {
      const pair = value();
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--input expects name=value, got '${pair}'`);
      parsed.inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else if (arg === '--env-file') {
      for (const [k, v] of Object.entries(parseEnvFile(readFileSync(value(), 'utf8')))) {
        if (k.startsWith('INPUT_')) parsed.inputs[k.slice('INPUT_'.length).toLowerCase()] = v;
        else parsed.env[k] = v;
      }
    } else if (arg === '--absent') parsed.absent.push(value());
    else if (arg === '--github-token') parsed.githubToken = value();
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else if (!parsed.name && !arg.startsWith('-')) parsed.name = arg;
    else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  if (!parsed.name) throw new Error(USAGE);
  return parsed;
}

/** dotenv-style KEY=VALUE lines; single or double quotes around a value are removed, `\n` in double quotes is a newline. */
export function parseEnvFile(text) {
  const env = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`env file: cannot read the line '${line}' (expected KEY=VALUE)`);
    let v = m[2];
    if (/^".*"$/.test(v)) v = v.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    else if (/^'.*'$/.test(v)) v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
    const known = await actionNames();
    if (!known.includes(args.name)) throw new Error(`no action '${args.name}': one of ${known.join(', ')}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  const result = await runActionBundle(args.name, args.inputs, {
    env: { ...process.env, ...args.env },
    absent: args.absent,
    context: { github: { token: args.githubToken } },
    workspace: process.cwd(),
    cwd: process.cwd(),
    node: node24(),
    onStdout: (t) => process.stdout.write(t),
    onStderr: (t) => process.stderr.write(t),
  });
  const rule = '─'.repeat(60);
  console.log(`\n${rule}\noutputs`);
  for (const [k, v] of Object.entries(result.outputs)) console.log(`  ${k}: ${v.includes('\n') ? `\n${v}` : v}`);
  console.log(`${rule}\njob summary\n${rule}\n${result.summary.trim() || '(none)'}\n${rule}`);
  console.log(`${args.name} exited with ${result.code}`);
  process.exitCode = result.code;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
