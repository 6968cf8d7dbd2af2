/**
 * Runs a bundled action the way the runner does: `node dist/<name>/index.js` with INPUT_* variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files and RUNNER_TEMP, under Node 24.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from './process.js';
import { node24 } from './node24.js';

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Values registered with `::add-mask::` (the runner hides them and never prints the command). */
  masked: string[];
  /** Everything a person or a later step could see: stdout without mask commands, stderr, outputs, summary. */
  visible: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Defaults to a fresh temp dir, removed afterwards. */
  runnerTemp?: string;
  cwd?: string;
}

export async function runAction(
  name: string,
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun> {
  const work = await mkdtemp(path.join(os.tmpdir(), `opskit-${name}-`));
  const outputFile = path.join(work, 'output');
  const summaryFile = path.join(work, 'summary.md');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? work,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: options.runnerTemp ?? work,
    GITHUB_ACTIONS: 'true',
    ...options.env,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  try {
    const entry = path.resolve('dist', name, 'index.js');
    const result = await runProcess(node24(), [entry], { env, cwd: options.cwd ?? work });
    const outputs = parseOutputFile(await readFile(outputFile, 'utf8'));
    const summary = await readFile(summaryFile, 'utf8');
    const lines = result.stdout.split('\n');
    const masked = lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice('::add-mask::'.length));
    const shown = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n');
    const visible = [shown, result.stderr, JSON.stringify(outputs), summary].join('\n');
    return { ...result, outputs, summary, masked, visible };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The `name<<DELIM\nvalue\nDELIM` file format that @actions/core writes. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const end = lines.indexOf(m[2]!, i + 1);
      outputs[m[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      outputs[k!] = v.join('=');
    }
  }
  return outputs;
}
