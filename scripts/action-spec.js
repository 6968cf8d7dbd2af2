#!/usr/bin/env node
/**
 * Writes actions/common/specs.generated.ts from every action.yml: each input's default (as the runner passes it)
 * and each output's name, so an action knows which inputs were left at their default and which outputs it must
 * always set. `npm run build` and `npm run docs` run it; `--check` writes nothing and exits 1 when the file drifts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parseActionYml } from './action-docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SPEC_FILE = path.join(root, 'actions', 'common', 'specs.generated.ts');

/** The action names and their action.yml files: actions/<name>/action.yml, and the root one as `checklist`. */
function actionFiles() {
  const names = readdirSync(path.join(root, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'actions', d.name, 'action.yml')))
    .map((d) => d.name)
    .sort();
  return [
    ...names.map((n) => [n, path.join(root, 'actions', n, 'action.yml')]),
    ['checklist', path.join(root, 'action.yml')],
  ];
}

/** The file's text, formatted as prettier would (so lint and the --check agree). */
export async function generateSpecs() {
  const specs = {};
  for (const [name, file] of actionFiles()) {
    const meta = parseActionYml(readFileSync(file, 'utf8'));
    const inputs = {};
    for (const [input, spec] of Object.entries(meta.inputs ?? {})) {
      const d = spec?.default;
      // A default that is an expression (${{ github.token }}) has no fixed text: null, never "the default".
      inputs[input] = d === undefined || d === null ? '' : /\$\{\{/.test(String(d)) ? null : String(d);
    }
    // A secret input says so at the end of its description ("… Secret."): the one place it is declared. Its value
    // is masked before the action does anything else.
    const secrets = Object.entries(meta.inputs ?? {})
      .filter(([, spec]) => /\bSecret\.\s*$/.test(String(spec?.description ?? '')))
      .map(([input]) => input);
    specs[name] = { inputs, secrets, outputs: Object.keys(meta.outputs ?? {}) };
  }
  const text = [
    '// Generated from each action.yml by scripts/action-spec.js (npm run docs, npm run build): do not edit.',
    "import type { ActionSpec } from './spec.js';",
    '',
    `export const SPECS: Record<string, ActionSpec> = ${JSON.stringify(specs, null, 2)};`,
    '',
  ].join('\n');
  const config = (await prettier.resolveConfig(SPEC_FILE)) ?? {};
  return prettier.format(text, { ...config, filepath: SPEC_FILE });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await generateSpecs();
  const current = existsSync(SPEC_FILE) ? readFileSync(SPEC_FILE, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(`${path.relative(root, SPEC_FILE)} is out of date with the action.yml files: run npm run docs`);
      process.exit(1);
    }
  } else if (current !== text) {
    writeFileSync(SPEC_FILE, text);
    console.log(`wrote ${path.relative(root, SPEC_FILE)}`);
  }
}
