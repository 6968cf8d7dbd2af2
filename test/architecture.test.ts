/**
 * The shape of src/ that docs/architecture.md draws, checked from the sources themselves (the TypeScript
 * parser, no eslint): no import circle (type-only imports, re-exports and import() included, which the
 * lint's import-x/no-cycle does not follow), nothing in src/ imports actions/, and no folder imports a
 * formatter of a folder in a higher layer. Each check is first run on a small made-up tree that breaks it,
 * so a check that could not fail would fail here.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The layers of src/, lowest first (docs/architecture.md): a folder may import from its own layer and the
 * ones below. `.` is src/'s own files (errors, inputs, logger, redact, version).
 */
const LAYERS: readonly (readonly string[])[] = [
  // the base: typed errors, input parsing, logging, redaction, process helpers, markdown building blocks
  ['.', 'util', 'markdown'],
  // one folder per outside thing (a protocol, a server, a service's API): how to talk to it, no policy
  ['http', 'ssh', 'postgres', 'redis', 'storage', 'github', 'notify'],
  // the domains: one job each, done with the services
  ['backup', 'migrate', 'render', 'smoke', 'switch', 'incident', 'deployments'],
  // adapters a domain is handed: nginx is one TrafficProvider of switch/
  ['nginx'],
  // the deploy checklist composes the domains
  ['checklist'],
];

/**
 * Imports that go up a layer and are not formatters, each with its reason. Anything new here is a decision:
 * say why in docs/architecture.md or move the code down.
 */
const KNOWN_UPWARD: Readonly<Record<string, string>> = {
  'src/switch/config.ts -> src/nginx/command.ts':
    'the nginx-test-command/nginx-reload-command inputs are parsed with the other blue-green-switch inputs',
};

/** A formatter turns a value into text for a person: format* (the markdown of job summaries and issues), describe*. */
const FORMATTER = /^(format|describe)[A-Z]/;
/** Modules whose every export is a formatter (the job summaries, markdown/). */
const FORMATTER_MODULE = /(^|\/)(summary\.ts$|markdown\/)/;

interface Import {
  from: string;
  /** Resolved path (`src/x/y.ts`, `actions/…`) for a relative import; the specifier as written otherwise. */
  to: string;
  line: number;
  /** The names imported; '*' for a namespace import, `export *` or import(). */
  names: readonly string[] | '*';
}

interface SourceTree {
  imports: Map<string, Import[]>;
  exports: Map<string, Set<string>>;
}

function parseTree(files: ReadonlyMap<string, string>): SourceTree {
  const imports = new Map<string, Import[]>();
  const exports = new Map<string, Set<string>>();
  for (const [file, text] of files) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const found: Import[] = [];
    const exported = new Set<string>();
    const add = (specifier: ts.Node | undefined, names: readonly string[] | '*', at: ts.Node) => {
      if (!specifier || !ts.isStringLiteral(specifier)) return;
      const spec = specifier.text;
      const to = spec.startsWith('.') ? path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, '.ts') : spec;
      found.push({ from: file, to, line: source.getLineAndCharacterOfPosition(at.getStart()).line + 1, names });
    };
    const visit = (node: ts.Node) => {
      if (ts.isImportDeclaration(node)) {
        const bindings = node.importClause?.namedBindings;
        const names =
          bindings && ts.isNamespaceImport(bindings)
            ? '*'
            : [
                ...(node.importClause?.name ? ['default'] : []),
                ...(bindings && ts.isNamedImports(bindings)
                  ? bindings.elements.map((e) => (e.propertyName ?? e.name).text)
                  : []),
              ];
        add(node.moduleSpecifier, names, node);
      } else if (ts.isExportDeclaration(node)) {
        const clause = node.exportClause;
        if (clause && ts.isNamedExports(clause)) for (const e of clause.elements) exported.add(e.name.text);
        if (node.moduleSpecifier) {
          const names =
            clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : '*';
          add(node.moduleSpecifier, names, node);
        }
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
        add(node.moduleReference.expression, '*', node);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(node.arguments[0], '*', node);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        add(node.argument.literal, '*', node);
      }
      const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
      if (modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
        if (ts.isVariableStatement(node)) {
          for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) exported.add(d.name.text);
        } else if ('name' in node && node.name && ts.isIdentifier(node.name as ts.Node)) {
          exported.add((node.name as ts.Identifier).text);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    imports.set(file, found);
    exports.set(file, exported);
  }
  return { imports, exports };
}

/** Every import circle among the files, each once, as `a.ts -> b.ts -> a.ts`. */
function circles(tree: SourceTree): string[] {
  const edges = new Map<string, string[]>();
  for (const [file, list] of tree.imports)
    edges.set(file, [...new Set(list.map((i) => i.to).filter((to) => tree.imports.has(to)))]);
  // Tarjan's strongly connected components: a component of more than one file, or a file importing
  // itself, holds a circle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)!.includes(v)) components.push(component);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) connect(v);
  // One concrete circle per component, from its first file: the shortest way back to it.
  return components.map((component) => {
    const inside = new Set(component);
    const start = [...component].sort()[0]!;
    const previous = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length && end === undefined) {
      const v = queue.shift()!;
      for (const w of edges.get(v)!) {
        if (!inside.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const way = [end!];
    while (way[0] !== start) way.unshift(previous.get(way[0]!)!);
    return [...way, start].join(' -> ');
  });
}

function importsOfActions(tree: SourceTree): string[] {
  return [...tree.imports.values()]
    .flat()
    .filter((i) => i.to.startsWith('actions/') || /(^|\/)actions\//.test(i.to))
    .map((i) => `${i.from}:${i.line} imports ${i.to}`);
}

function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : '.';
}

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folderOf(file)));
}

/** Imports from a folder of a higher layer: the formatters among them, and the rest. */
function upwardImports(tree: SourceTree): { formatters: string[]; others: string[] } {
  const formatters: string[] = [];
  const others: string[] = [];
  for (const i of [...tree.imports.values()].flat()) {
    if (!tree.imports.has(i.to) || layerOf(i.to) <= layerOf(i.from)) continue;
    const names = i.names === '*' ? [...(tree.exports.get(i.to) ?? [])] : i.names;
    const named = names.filter((n) => FORMATTER.test(n) || FORMATTER_MODULE.test(i.to));
    if (named.length)
      formatters.push(`${i.from}:${i.line} (${folderOf(i.from)}) imports ${named.join(', ')} from ${i.to}`);
    else others.push(`${i.from} -> ${i.to}`);
  }
  return { formatters, others };
}

function readSources(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.posix.join(path.relative('.', entry.parentPath).split(path.sep).join('/'), entry.name);
    files.set(file, readFileSync(file, 'utf8'));
  }
  return files;
}

describe('the checks catch what they look for (a made-up tree)', () => {
  const made = parseTree(
    new Map([
      [
        'src/backup/archive.ts',
        "import { x } from '../util/child.js';\nexport type { Rows } from '../postgres/dump.js';",
      ],
      ['src/postgres/dump.ts', "import type { Producer } from '../backup/archive.js';\nexport interface Rows {}"],
      ['src/util/child.ts', "export const x = async () => import('./pool.js');"],
      ['src/util/pool.ts', "import type { X } from './child.js';\nimport { run } from '../../actions/common/run.js';"],
      ['src/switch/plan.ts', "import { describeShares, nginxWeights } from '../nginx/upstream.js';"],
      [
        'src/switch/run.ts',
        "import * as up from '../nginx/upstream.js';\nimport { parse } from '../nginx/command.js';",
      ],
      [
        'src/nginx/upstream.ts',
        'export function describeShares() {}\nexport const nginxWeights = 1;\nexport function formatUpstream() {}',
      ],
      ['src/nginx/command.ts', 'export function parse() {}'],
    ]),
  );

  it('finds circles through type-only imports, re-exports and import()', () => {
    expect(circles(made).sort()).toEqual([
      'src/backup/archive.ts -> src/postgres/dump.ts -> src/backup/archive.ts',
      'src/util/child.ts -> src/util/pool.ts -> src/util/child.ts',
    ]);
  });

  it('finds an import of actions/', () => {
    expect(importsOfActions(made)).toEqual(['src/util/pool.ts:2 imports actions/common/run.ts']);
  });

  it('finds a formatter imported from a higher layer, by name or through a namespace', () => {
    expect(upwardImports(made)).toEqual({
      formatters: [
        'src/switch/plan.ts:1 (switch) imports describeShares from src/nginx/upstream.ts',
        'src/switch/run.ts:1 (switch) imports describeShares, formatUpstream from src/nginx/upstream.ts',
      ],
      others: ['src/postgres/dump.ts -> src/backup/archive.ts', 'src/switch/run.ts -> src/nginx/command.ts'],
    });
  });
});

describe('src/', () => {
  const sources = readSources('src');
  const tree = parseTree(sources);

  it('is read whole', () => {
    expect(sources.size).toBeGreaterThan(50);
    expect(tree.imports.get('src/backup/archive.ts')?.length).toBeGreaterThan(3);
  });

  it('has no import circle', () => {
    expect(circles(tree)).toEqual([]);
  });

  it('imports nothing from actions/', () => {
    expect(importsOfActions(tree)).toEqual([]);
  });

  it('puts every folder in a layer (add a new one to LAYERS and docs/architecture.md)', () => {
    const unplaced = [...new Set([...sources.keys()].map(folderOf))].filter(
      (f) => !LAYERS.some((layer) => layer.includes(f)),
    );
    expect(unplaced).toEqual([]);
  });

  it('has no folder importing a formatter of a higher layer', () => {
    expect(upwardImports(tree).formatters).toEqual([]);
  });

  it('goes up a layer only where docs/architecture.md says why', () => {
    expect([...new Set(upwardImports(tree).others)].sort()).toEqual(Object.keys(KNOWN_UPWARD).sort());
  });

  it('and docs/architecture.md names the same layers', () => {
    const doc = readFileSync('docs/architecture.md', 'utf8');
    for (const folder of LAYERS.flat().filter((f) => f !== '.')) expect(doc).toContain(`\`${folder}/\``);
    for (const upward of Object.keys(KNOWN_UPWARD)) {
      const [from, to] = upward.split(' -> ').map((f) => f.replace(/^src\//, ''));
      expect(doc).toContain(`\`${from}\` → \`${to}\``);
    }
  });
});

describe('the checklist', () => {
  /** Every `runChecklist(` call in a file, with what its argument starts with. */
  const calls = (file: string): string[] =>
    [...readFileSync(file, 'utf8').matchAll(/\brunChecklist\(\s*([A-Za-z_$][\w$]*)?/g)].map((m) => m[1] ?? '{');

  it('is built by checklistSteps in the root action and the demo, never by hand', () => {
    expect(calls('main.ts')).toEqual(['checklistSteps']);
    const demo = readdirSync('demo')
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => calls(path.join('demo', f)));
    expect(demo.length).toBeGreaterThanOrEqual(3);
    expect(new Set(demo)).toEqual(new Set(['demoChecklist']));
    expect(readFileSync('demo/checklist.ts', 'utf8')).toMatch(/return checklistSteps\(config,/);
    // and the check can fail: a hand-built options object is seen
    expect(calls('test/fixtures/architecture/hand-built-checklist.ts.txt')).toEqual(['{']);
  });
});
