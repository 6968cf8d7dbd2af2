#!/usr/bin/env node
/**
 * Generates the inputs/outputs tables of every action README from its action.yml.
 *
 *   node scripts/action-docs.js                 rewrite the marked README sections in place
 *   node scripts/action-docs.js --check         write nothing; exit 1 listing READMEs that drift
 *   node scripts/action-docs.js --root <dir>    operate on another tree (default: the repository root)
 *
 * A README holds the generated tables between these markers; everything else in it is left untouched:
 *
 *   <!-- opskit:inputs:start -->  ...  <!-- opskit:inputs:end -->
 *   <!-- opskit:outputs:start --> ...  <!-- opskit:outputs:end -->
 *
 * Actions are `actions/<name>/action.yml` (or action.yaml) with `actions/<name>/README.md`. The root
 * `action.yml` + `README.md` (name ".") is included only when the root README contains an opskit marker.
 *
 * Tables are emitted column-aligned the way prettier formats markdown tables, and drift is detected
 * ignoring cell padding, so `prettier --write` on a README never makes it "drift".
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';

/** The two generated sections, in the order they are checked. */
export const SECTIONS = /** @type {const} */ (['inputs', 'outputs']);

/** Literal marker comments, e.g. `MARKERS.inputs.start === '<!-- opskit:inputs:start -->'`. */
export const MARKERS = Object.freeze({
  inputs: Object.freeze({ start: '<!-- opskit:inputs:start -->', end: '<!-- opskit:inputs:end -->' }),
  outputs: Object.freeze({ start: '<!-- opskit:outputs:start -->', end: '<!-- opskit:outputs:end -->' }),
});

export const DOCS_COMMAND = 'npm run docs';

const ACTION_FILES = ['action.yml', 'action.yaml'];

// ---------------------------------------------------------------------------------------------------------------------
// action.yml parsing

/**
 * Parses action.yml text. Plain scalars keep their source spelling (`default: 010` stays "010", `true` stays
 * "true"): the runner hands inputs to the action as strings, so that is what the docs should show.
 * @param {string} text
 * @returns {Record<string, unknown>}
 */
export function parseActionYml(text) {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new Error(`invalid action.yml: ${doc.errors[0]?.message ?? 'YAML error'}`);
  }
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && node.value !== null && typeof node.value !== 'string') {
        const source = /** @type {{ source?: unknown }} */ (node).source;
        node.value = typeof source === 'string' ? source : String(node.value);
      }
    },
  });
  const data = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('invalid action.yml: the document must be a mapping');
  }
  return data;
}

/** @param {unknown} actionYml YAML text or an already-parsed object */
function toMetadata(actionYml) {
  if (typeof actionYml === 'string') return parseActionYml(actionYml);
  if (actionYml === null || typeof actionYml !== 'object' || Array.isArray(actionYml)) {
    throw new TypeError('actionYml must be YAML text or a parsed action.yml object');
  }
  return /** @type {Record<string, unknown>} */ (actionYml);
}

/**
 * @param {Record<string, unknown>} metadata
 * @param {'inputs' | 'outputs'} key
 * @returns {Array<[string, Record<string, unknown>]>}
 */
function entries(metadata, key) {
  const section = metadata[key];
  if (section === undefined || section === null) return [];
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw new Error(`invalid action.yml: '${key}' must be a mapping`);
  }
  return Object.entries(section).map(([name, spec]) => {
    if (spec === null || spec === undefined) return [name, {}];
    if (typeof spec !== 'object' || Array.isArray(spec)) {
      throw new Error(`invalid action.yml: ${key}.${name} must be a mapping`);
    }
    return [name, /** @type {Record<string, unknown>} */ (spec)];
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// cell formatting

/** @param {string} text */
const escapePipes = (text) => text.replace(/\|/g, '\\|');

/** One line of markdown text: line breaks (and the indentation around them) become single spaces. */
function singleLine(value) {
  if (value === undefined || value === null) return '';
  return String(value)
    .trim()
    .replace(/[ \t]*\r?\n\s*/g, ' ');
}

/** @param {unknown} value */
function descriptionCell(value) {
  return escapePipes(singleLine(value));
}

/** A code span holding `value`, robust to backticks in it. */
function codeSpan(value) {
  const longestRun = Math.max(0, ...(value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = value.startsWith('`') || value.endsWith('`') || /^ .*[^ ].* $/.test(value) ? ' ' : '';
  return `${fence}${pad}${value}${pad}${fence}`;
}

/** @param {unknown} value */
function defaultCell(value) {
  if (value === undefined || value === null) return '';
  const text = String(value)
    .replace(/(\r?\n)+$/, '')
    .replace(/\r?\n/g, ' ');
  return text === '' ? '' : escapePipes(codeSpan(text));
}

/** @param {unknown} value */
function requiredCell(value) {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true') ? 'yes' : 'no';
}

// ---------------------------------------------------------------------------------------------------------------------
// table rendering (column-aligned like prettier's markdown printer)

const WIDE_RANGES = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Display width of `text` in a monospace font (approximation of prettier's getStringWidth). */
function displayWidth(text) {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) return text.length;
  let width = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (/\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(segment)) {
      width += 2;
      continue;
    }
    for (const char of segment) {
      const cp = /** @type {number} */ (char.codePointAt(0));
      if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || /[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufeff]/u.test(char)) continue;
      width += WIDE_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi) ? 2 : 1;
    }
  }
  return width;
}

/**
 * @param {string[]} header
 * @param {string[][]} rows
 */
function formatTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(3, ...all.map((row) => displayWidth(row[col] ?? ''))));
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((cell, col) => cell + ' '.repeat((widths[col] ?? 0) - displayWidth(cell))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/**
 * The markdown table of an action's inputs: `Input | Required | Default | Description`.
 * @param {string | object} actionYml action.yml text, or its parsed content
 * @returns {string} the table (no trailing newline); `_No inputs._` when the action has none
 */
export function formatInputsTable(actionYml) {
  const inputs = entries(toMetadata(actionYml), 'inputs');
  if (inputs.length === 0) return '_No inputs._';
  return formatTable(
    ['Input', 'Required', 'Default', 'Description'],
    inputs.map(([name, spec]) => [
      escapePipes(codeSpan(name)),
      requiredCell(spec.required),
      defaultCell(spec.default),
      descriptionCell(spec.description),
    ]),
  );
}

/**
 * The markdown table of an action's outputs: `Output | Description`.
 * @param {string | object} actionYml action.yml text, or its parsed content
 * @returns {string} the table (no trailing newline); `_No outputs._` when the action has none
 */
export function formatOutputsTable(actionYml) {
  const outputs = entries(toMetadata(actionYml), 'outputs');
  if (outputs.length === 0) return '_No outputs._';
  return formatTable(
    ['Output', 'Description'],
    outputs.map(([name, spec]) => [escapePipes(codeSpan(name)), descriptionCell(spec.description)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// README sections

/** Thrown by updateReadme when a README's markers are missing or malformed. */
export class MarkerError extends Error {
  /** @param {string[]} problems */
  constructor(problems) {
    super(problems.join('; '));
    this.name = 'MarkerError';
    this.problems = problems;
  }
}

/** @param {string} section @param {'start' | 'end'} which */
const markerRegex = (section, which) => new RegExp(`<!--\\s*opskit:${section}:${which}\\s*-->`, 'g');

/**
 * Locates each section's markers.
 * @param {string} text
 * @returns {{ spans: Record<string, { from: number, to: number }>, problems: string[] }}
 *   `from` is just after the start marker, `to` just before the end marker.
 */
function locateSections(text) {
  /** @type {Record<string, { from: number, to: number }>} */
  const spans = {};
  const problems = [];
  for (const section of SECTIONS) {
    const starts = [...text.matchAll(markerRegex(section, 'start'))];
    const ends = [...text.matchAll(markerRegex(section, 'end'))];
    const [start] = starts;
    const [end] = ends;
    if (!start && !end) {
      problems.push(`missing opskit:${section} markers`);
    } else if (!start || !end) {
      problems.push(`missing opskit:${section} markers (found ${start ? 'start' : 'end'} marker only)`);
    } else if (starts.length > 1 || ends.length > 1) {
      problems.push(`duplicate opskit:${section} markers`);
    } else if (/** @type {number} */ (end.index) < /** @type {number} */ (start.index)) {
      problems.push(`opskit:${section}:end marker comes before opskit:${section}:start`);
    } else {
      spans[section] = {
        from: /** @type {number} */ (start.index) + start[0].length,
        to: /** @type {number} */ (end.index),
      };
    }
  }
  const { inputs, outputs } = spans;
  if (inputs && outputs && inputs.from < outputs.to && outputs.from < inputs.to) {
    problems.push('opskit:inputs and opskit:outputs sections overlap');
  }
  return { spans, problems };
}

/**
 * Returns `readmeText` with the content between the opskit markers replaced by the tables generated from
 * `actionYml`. Text outside the markers (and the markers themselves) is kept byte for byte; the README's line
 * ending style (LF / CRLF) is used for the generated lines.
 * @param {string} readmeText
 * @param {string | object} actionYml action.yml text, or its parsed content
 * @returns {string}
 * @throws {MarkerError} when a marker pair is missing, duplicated, misordered or overlapping
 */
export function updateReadme(readmeText, actionYml) {
  const { spans, problems } = locateSections(readmeText);
  if (problems.length > 0) throw new MarkerError(problems);
  const eol = readmeText.includes('\r\n') ? '\r\n' : '\n';
  const tables = { inputs: formatInputsTable(actionYml), outputs: formatOutputsTable(actionYml) };
  // Replace from the back so earlier offsets stay valid.
  const ordered = SECTIONS.map((section) => ({ section, ...spans[section] })).sort((a, b) => b.from - a.from);
  let text = readmeText;
  for (const { section, from, to } of ordered) {
    const body = `${eol}${eol}${tables[section].replace(/\n/g, eol)}${eol}${eol}`;
    text = text.slice(0, from) + body + text.slice(to);
  }
  return text;
}

/** Section content compared without cell padding, blank lines or delimiter-row width. */
function normalizeSection(content) {
  return content
    .split(/\r?\n/)
    .map((line) =>
      line
        .trim()
        .replace(/\s+/g, ' ')
        .replace(/ ?(?<!\\)\| ?/g, '|')
        .replace(/-{3,}/g, '---'),
    )
    .filter((line) => line !== '')
    .join('\n');
}

/**
 * Compares a README's generated sections with what `actionYml` produces. Never throws for README problems:
 * missing/malformed markers and invalid action.yml are reported in `problems`.
 * @param {string} readmeText
 * @param {string | object} actionYml
 * @returns {{ ok: boolean, problems: string[], expected: string | undefined }}
 *   `expected` is the regenerated README (undefined when it cannot be produced).
 */
export function checkReadme(readmeText, actionYml) {
  let expected;
  try {
    expected = updateReadme(readmeText, actionYml);
  } catch (error) {
    if (error instanceof MarkerError) return { ok: false, problems: error.problems, expected: undefined };
    return { ok: false, problems: [/** @type {Error} */ (error).message], expected: undefined };
  }
  const actual = locateSections(readmeText).spans;
  const wanted = locateSections(expected).spans;
  const problems = [];
  for (const section of SECTIONS) {
    const a = /** @type {{ from: number, to: number }} */ (actual[section]);
    const w = /** @type {{ from: number, to: number }} */ (wanted[section]);
    if (normalizeSection(readmeText.slice(a.from, a.to)) !== normalizeSection(expected.slice(w.from, w.to))) {
      problems.push(`${section} table is out of date`);
    }
  }
  return { ok: problems.length === 0, problems, expected };
}

// ---------------------------------------------------------------------------------------------------------------------
// discovery

/** @param {string} dir */
function actionFileIn(dir) {
  for (const file of ACTION_FILES) {
    const candidate = path.join(dir, file);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/**
 * Lists the documented actions under `root`: every `actions/<name>/action.yml` (or action.yaml), sorted by name,
 * plus the root action (name ".") when `root/action.yml` exists and `root/README.md` contains an opskit marker.
 * `readmePath` is where the README belongs; it may not exist. Paths are absolute.
 * @param {string} root repository root
 * @returns {Array<{ name: string, dir: string, actionYmlPath: string, readmePath: string }>}
 */
export function findActions(root) {
  const base = path.resolve(root);
  const found = [];
  const rootAction = actionFileIn(base);
  const rootReadme = path.join(base, 'README.md');
  if (
    rootAction &&
    existsSync(rootReadme) &&
    /<!--\s*opskit:(inputs|outputs):(start|end)\s*-->/.test(readFileSync(rootReadme, 'utf8'))
  ) {
    found.push({ name: '.', dir: base, actionYmlPath: rootAction, readmePath: rootReadme });
  }
  const actionsDir = path.join(base, 'actions');
  if (existsSync(actionsDir) && statSync(actionsDir).isDirectory()) {
    const names = readdirSync(actionsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    for (const name of names) {
      const dir = path.join(actionsDir, name);
      const actionYmlPath = actionFileIn(dir);
      if (actionYmlPath) found.push({ name, dir, actionYmlPath, readmePath: path.join(dir, 'README.md') });
    }
  }
  return found;
}

/**
 * Checks (and unless `write` is false, fixes) the READMEs of every action under `root`.
 * @param {string} root
 * @param {{ write?: boolean }} [options]
 * @returns {Array<{ action: { name: string, dir: string, actionYmlPath: string, readmePath: string },
 *   status: 'ok' | 'updated' | 'drift' | 'error', problems: string[] }>}
 */
export function processActions(root, { write = false } = {}) {
  return findActions(root).map((action) => {
    if (!existsSync(action.readmePath)) {
      return { action, status: /** @type {const} */ ('error'), problems: ['README.md not found'] };
    }
    const readme = readFileSync(action.readmePath, 'utf8');
    let result;
    try {
      result = checkReadme(readme, readFileSync(action.actionYmlPath, 'utf8'));
    } catch (error) {
      return { action, status: /** @type {const} */ ('error'), problems: [/** @type {Error} */ (error).message] };
    }
    if (result.ok) return { action, status: /** @type {const} */ ('ok'), problems: [] };
    if (result.expected === undefined)
      return { action, status: /** @type {const} */ ('error'), problems: result.problems };
    if (write) {
      writeFileSync(action.readmePath, result.expected);
      return { action, status: /** @type {const} */ ('updated'), problems: result.problems };
    }
    return { action, status: /** @type {const} */ ('drift'), problems: result.problems };
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// CLI

const USAGE = `usage: node scripts/action-docs.js [--check] [--root <dir>]

Regenerates the inputs/outputs tables of actions/*/README.md (and the root README.md when it has the
opskit markers) from the matching action.yml.

  --check         write nothing; exit 1 and list the READMEs that are out of date or lack markers
  --root <dir>    repository root to operate on (default: the directory above scripts/)
`;

/**
 * Runs the CLI. Returns the exit code instead of exiting.
 * @param {string[]} argv arguments after the script name
 * @param {{ stdout?: (line: string) => void, stderr?: (line: string) => void, defaultRoot?: string }} [io]
 * @returns {number}
 */
export function main(argv, io = {}) {
  const out = io.stdout ?? ((line) => process.stdout.write(`${line}\n`));
  const err = io.stderr ?? ((line) => process.stderr.write(`${line}\n`));
  let check = false;
  let root = io.defaultRoot ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    if (arg === '--check') check = true;
    else if (arg === '--help' || arg === '-h') {
      out(USAGE.trimEnd());
      return 0;
    } else if (arg === '--root' || arg.startsWith('--root=')) {
      const value = arg === '--root' ? argv[++i] : arg.slice('--root='.length);
      if (!value) {
        err('action-docs: --root needs a directory');
        return 2;
      }
      root = path.resolve(value);
    } else {
      err(`action-docs: unknown argument ${arg}\n${USAGE.trimEnd()}`);
      return 2;
    }
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    err(`action-docs: root ${root} is not a directory`);
    return 2;
  }

  const results = processActions(root, { write: !check });
  const rel = (/** @type {string} */ file) => path.relative(root, file) || file;
  let failed = 0;
  for (const { action, status, problems } of results) {
    const readme = rel(action.readmePath);
    if (status === 'error') {
      failed++;
      err(`${readme}: ${problems.join('; ')}`);
    } else if (status === 'drift') {
      failed++;
      err(`${readme}: ${problems.join('; ')} (run \`${DOCS_COMMAND}\`)`);
    } else if (status === 'updated') {
      out(`updated ${readme}`);
    }
  }
  if (results.length === 0) {
    out('action-docs: no actions found');
  } else if (failed > 0) {
    err(
      check
        ? `action-docs: ${failed} of ${results.length} README(s) out of date or invalid; run \`${DOCS_COMMAND}\``
        : `action-docs: ${failed} README(s) could not be updated`,
    );
  } else if (check) {
    out(`action-docs: ${results.length} README(s) up to date`);
  }
  return failed > 0 ? 1 : 0;
}

function invokedAsScript() {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(path.resolve(script))).href;
  } catch {
    return false;
  }
}

if (invokedAsScript()) {
  process.exitCode = main(process.argv.slice(2));
}
