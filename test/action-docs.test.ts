import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkReadme,
  findActions,
  main,
  MarkerError,
  formatInputsTable,
  formatOutputsTable,
  updateReadme,
} from '../scripts/action-docs.js';

const ACTION_YML = `
name: Wait for URL
description: Polls a URL until it answers
inputs:
  url:
    description: The URL to poll.
    required: true
  timeout:
    description: |
      How long to wait overall,
      e.g. \`30s\` or \`5m\`.
    required: false
    default: 5m
  expect-status:
    description: Status codes to accept, like 200|204.
    default: '200|204'
  retries:
    description: How often to retry
    default: 010
outputs:
  status:
    description: Final HTTP status
  elapsed:
    description: >
      Milliseconds spent
      waiting | total
runs:
  using: node20
  main: dist/index.js
`;

const README = `# Wait for URL

Intro text | with a pipe, kept as is.

<!-- opskit:inputs:start -->
stale
<!-- opskit:inputs:end -->

Between the tables.

<!-- opskit:outputs:start --><!-- opskit:outputs:end -->

Footer.
`;

/** Splits a markdown table row into trimmed cells, honouring escaped pipes. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

function rows(table: string): string[][] {
  return table.split('\n').map(cells);
}

function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  expect(from).toBeGreaterThanOrEqual(0);
  expect(to).toBeGreaterThan(from);
  return text.slice(from + start.length, to);
}

describe('formatInputsTable', () => {
  const table = formatInputsTable(ACTION_YML);

  it('has the Input | Required | Default | Description columns and one row per input, in order', () => {
    const [header, delimiter, ...body] = rows(table);
    expect(header).toEqual(['Input', 'Required', 'Default', 'Description']);
    expect(delimiter?.every((cell) => /^-{3,}$/.test(cell))).toBe(true);
    expect(body.map((row) => row[0])).toEqual(['`url`', '`timeout`', '`expect-status`', '`retries`']);
  });

  it('fills the required and default columns', () => {
    const byName = Object.fromEntries(
      rows(table)
        .slice(2)
        .map((row) => [row[0], row]),
    );
    expect(byName['`url`']?.slice(1, 3)).toEqual(['yes', '']);
    expect(byName['`timeout`']?.slice(1, 3)).toEqual(['no', '`5m`']);
    // plain scalars keep their spelling: the runner passes "010", not 10
    expect(byName['`retries`']?.slice(1, 3)).toEqual(['no', '`010`']);
  });

  it('single-lines multiline descriptions', () => {
    expect(table).toContain('| How long to wait overall, e.g. `30s` or `5m`.');
    expect(table.split('\n')).toHaveLength(2 + 4);
  });

  it('escapes | in descriptions and defaults', () => {
    const row = table.split('\n').find((line) => line.startsWith('| `expect-status`'));
    expect(row).toContain('`200\\|204`');
    expect(row).toContain('like 200\\|204.');
    expect(cells(row ?? '')).toHaveLength(4);
  });

  it('aligns the columns like prettier does', () => {
    const lengths = new Set(table.split('\n').map((line) => line.length));
    expect(lengths.size).toBe(1);
  });

  it('accepts an already parsed action.yml and treats required: "true" like true', () => {
    const parsed = formatInputsTable({
      inputs: { a: { description: 'A', required: 'true' }, b: { required: false, default: 'x' }, c: null },
    });
    expect(rows(parsed).slice(2)).toEqual([
      ['`a`', 'yes', '', 'A'],
      ['`b`', 'no', '`x`', ''],
      ['`c`', 'no', '', ''],
    ]);
  });

  it('wraps defaults containing backticks in a longer code span', () => {
    const parsed = formatInputsTable({ inputs: { q: { default: 'a `b` c' }, r: { default: '`edge`' } } });
    expect(parsed).toContain('| ``a `b` c``');
    expect(parsed).toContain('| `` `edge` ``');
  });

  it('says so when there are no inputs', () => {
    expect(formatInputsTable('name: x\nruns: {using: node20, main: a.js}\n')).toBe('_No inputs._');
  });

  it('rejects a malformed inputs section', () => {
    expect(() => formatInputsTable('inputs: [a, b]\n')).toThrow(/'inputs' must be a mapping/);
    expect(() => formatInputsTable('inputs: {a: [1\n')).toThrow(/invalid action.yml/);
  });
});

describe('formatOutputsTable', () => {
  it('has Output | Description columns, single-lines and escapes descriptions', () => {
    const table = formatOutputsTable(ACTION_YML);
    expect(rows(table)).toEqual([
      ['Output', 'Description'],
      ['---------', expect.stringMatching(/^-+$/)],
      ['`status`', 'Final HTTP status'],
      ['`elapsed`', 'Milliseconds spent waiting \\| total'],
    ]);
  });

  it('says so when there are no outputs', () => {
    expect(formatOutputsTable({ outputs: {} })).toBe('_No outputs._');
  });
});

describe('updateReadme', () => {
  const updated = updateReadme(README, ACTION_YML);

  it('puts the tables between the markers', () => {
    const inputs = between(updated, '<!-- opskit:inputs:start -->', '<!-- opskit:inputs:end -->');
    const outputs = between(updated, '<!-- opskit:outputs:start -->', '<!-- opskit:outputs:end -->');
    expect(inputs).toBe(`\n\n${formatInputsTable(ACTION_YML)}\n\n`);
    expect(outputs).toBe(`\n\n${formatOutputsTable(ACTION_YML)}\n\n`);
    expect(updated).not.toContain('stale');
  });

  it('keeps the text outside the markers untouched', () => {
    const outside = (text: string) =>
      text
        .replace(/(<!-- opskit:inputs:start -->)[\s\S]*(<!-- opskit:inputs:end -->)/, '$1$2')
        .replace(/(<!-- opskit:outputs:start -->)[\s\S]*(<!-- opskit:outputs:end -->)/, '$1$2');
    expect(outside(updated)).toBe(outside(README));
    expect(updated.startsWith('# Wait for URL\n\nIntro text | with a pipe, kept as is.\n\n')).toBe(true);
    expect(updated.endsWith('<!-- opskit:outputs:end -->\n\nFooter.\n')).toBe(true);
  });

  it('is idempotent', () => {
    expect(updateReadme(updated, ACTION_YML)).toBe(updated);
  });

  it('keeps CRLF line endings', () => {
    const crlf = updateReadme(README.replace(/\n/g, '\r\n'), ACTION_YML);
    expect(crlf).toBe(updated.replace(/\n/g, '\r\n'));
  });

  it('reports missing markers', () => {
    expect(() => updateReadme('# Hand written\n', ACTION_YML)).toThrow(MarkerError);
    expect(() => updateReadme('# Hand written\n', ACTION_YML)).toThrow(/missing opskit:inputs markers/);
    const outputsOnly = README.replace(/<!-- opskit:inputs:(start|end) -->/g, '');
    expect(() => updateReadme(outputsOnly, ACTION_YML)).toThrow('missing opskit:inputs markers');
    const noEnd = README.replace('<!-- opskit:outputs:end -->', '');
    expect(() => updateReadme(noEnd, ACTION_YML)).toThrow(/missing opskit:outputs markers \(found start marker only\)/);
  });

  it('rejects duplicated or misordered markers', () => {
    const twice = `${README}\n<!-- opskit:inputs:start -->\n<!-- opskit:inputs:end -->\n`;
    expect(() => updateReadme(twice, ACTION_YML)).toThrow(/duplicate opskit:inputs markers/);
    const swapped = README.replace('<!-- opskit:inputs:start -->', '@@')
      .replace('<!-- opskit:inputs:end -->', '<!-- opskit:inputs:start -->')
      .replace('@@', '<!-- opskit:inputs:end -->');
    expect(() => updateReadme(swapped, ACTION_YML)).toThrow(/end marker comes before/);
  });
});

describe('checkReadme', () => {
  it('passes a generated README and flags a stale one', () => {
    const generated = updateReadme(README, ACTION_YML);
    expect(checkReadme(generated, ACTION_YML)).toEqual({ ok: true, problems: [], expected: generated });
    const stale = checkReadme(README, ACTION_YML);
    expect(stale.ok).toBe(false);
    expect(stale.problems).toEqual(['inputs table is out of date', 'outputs table is out of date']);
    expect(stale.expected).toBe(generated);
  });

  it('ignores cell padding, so reformatting a table is not drift', () => {
    const generated = updateReadme(README, ACTION_YML);
    const squeezed = generated.replace(/ {2,}/g, ' ').replace(/-{4,}/g, '---');
    expect(squeezed).not.toBe(generated);
    expect(checkReadme(squeezed, ACTION_YML).ok).toBe(true);
    const edited = generated.replace('Final HTTP status', 'Final status');
    expect(checkReadme(edited, ACTION_YML).problems).toEqual(['outputs table is out of date']);
  });

  it('reports missing markers instead of throwing', () => {
    expect(checkReadme('# Hand written\n', ACTION_YML)).toEqual({
      ok: false,
      problems: ['missing opskit:inputs markers', 'missing opskit:outputs markers'],
      expected: undefined,
    });
  });
});

describe('findActions and the CLI on a scratch tree', () => {
  let root: string;
  let stdout: string[];
  let stderr: string[];
  const run = (...argv: string[]) =>
    main(['--root', root, ...argv], { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) });
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'opskit-action-docs-'));
    stdout = [];
    stderr = [];
    write('actions/wait/action.yml', ACTION_YML);
    write('actions/wait/README.md', README);
    write('actions/not-an-action/notes.md', 'no action.yml here\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists actions/*/action.yml with their README paths', () => {
    expect(findActions(root)).toEqual([
      {
        name: 'wait',
        dir: path.join(root, 'actions/wait'),
        actionYmlPath: path.join(root, 'actions/wait/action.yml'),
        readmePath: path.join(root, 'actions/wait/README.md'),
      },
    ]);
  });

  it('includes the root action only when the root README has the markers', () => {
    write('action.yml', ACTION_YML);
    write('README.md', '# opskit\n');
    expect(findActions(root).map((action) => action.name)).toEqual(['wait']);
    write('README.md', '# opskit\n\n<!-- opskit:inputs:start -->\n<!-- opskit:inputs:end -->\n');
    expect(findActions(root).map((action) => action.name)).toEqual(['.', 'wait']);
  });

  it('returns an empty list for a tree without actions', () => {
    rmSync(path.join(root, 'actions'), { recursive: true });
    expect(findActions(root)).toEqual([]);
  });

  it('--check writes nothing and exits 1 listing drifting READMEs; without it the READMEs are rewritten', () => {
    expect(run('--check')).toBe(1);
    expect(read('actions/wait/README.md')).toBe(README);
    expect(stderr.join('\n')).toContain('actions/wait/README.md: inputs table is out of date');
    expect(stderr.join('\n')).toContain('npm run docs');

    expect(run()).toBe(0);
    expect(read('actions/wait/README.md')).toBe(updateReadme(README, ACTION_YML));
    expect(stdout).toContain('updated actions/wait/README.md');

    stdout = [];
    stderr = [];
    expect(run('--check')).toBe(0);
    expect(stderr).toEqual([]);
  });

  it('--check reports READMEs without markers, or without a README, as errors', () => {
    write('actions/bare/action.yml', ACTION_YML);
    write('actions/bare/README.md', '# Bare\n');
    write('actions/lonely/action.yml', ACTION_YML);
    expect(run('--check')).toBe(1);
    expect(stderr).toContain('actions/bare/README.md: missing opskit:inputs markers; missing opskit:outputs markers');
    expect(stderr).toContain('actions/lonely/README.md: README.md not found');
    expect(existsSync(path.join(root, 'actions/lonely/README.md'))).toBe(false);
    // a normal run fixes what it can and still fails on the rest
    expect(run()).toBe(1);
    expect(read('actions/bare/README.md')).toBe('# Bare\n');
    expect(read('actions/wait/README.md')).toBe(updateReadme(README, ACTION_YML));
  });

  it('rejects unknown arguments', () => {
    expect(run('--nope')).toBe(2);
    expect(stderr.join('\n')).toContain('unknown argument --nope');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Drift: every real action's README must match its action.yml. One test per action, collected at load time.

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const repoActions = findActions(repoRoot);

describe('action READMEs are in sync with action.yml', () => {
  if (repoActions.length === 0) {
    it('finds no actions yet', () => {
      expect(Array.isArray(findActions(repoRoot))).toBe(true);
    });
    return;
  }

  it.each(repoActions.map((action) => [action.name, action] as const))('%s', (_name, action) => {
    const readme = path.relative(repoRoot, action.readmePath);
    const actionYml = path.relative(repoRoot, action.actionYmlPath);
    if (!existsSync(action.readmePath)) {
      throw new Error(`${readme} does not exist: create it with the opskit markers, then run \`npm run docs\``);
    }
    const result = checkReadme(readFileSync(action.readmePath, 'utf8'), readFileSync(action.actionYmlPath, 'utf8'));
    if (!result.ok) {
      throw new Error(
        `${readme} is out of sync with ${actionYml}: ${result.problems.join('; ')}.\n` +
          `Run \`npm run docs\` to regenerate the tables.`,
      );
    }
  });
});
