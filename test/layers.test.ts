/**
 * The import layering of src/ (see docs/architecture.md, Code layering), checked on every `npm test`.
 *
 * How: every src/**\/*.ts file is read and its module specifiers are listed by TypeScript's own
 * scanner (`ts.preProcessFile`: static imports incl. `import type`, `export … from`, dynamic
 * `import()`; comments and strings are not mistaken for imports). Relative specifiers are resolved to
 * files ('.js' → '.ts'); one that resolves to no file fails the test. A file's layer is its directory
 * under src/ (src/index.ts is the library API, src/cli.ts the command line). Then
 *  - every import between layers must be allowed by ALLOWED below (a layer imports only itself and
 *    layers beneath it: runtime → data/video/model/report → run → eval → train/predict → bench → cli);
 *  - the file graph must have no cycle (strongly connected components of size > 1, or a file
 *    importing itself), type-only imports included.
 * The checks are plain functions, also run on a made-up graph below so the test is seen to fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from './cli-helpers.js';

/** Layer → the layers its files may import (besides their own). */
const ALLOWED: Record<string, readonly string[]> = {
  runtime: [],
  data: ['runtime'],
  video: ['runtime', 'data'],
  model: ['runtime', 'data'],
  report: ['runtime', 'data'],
  run: ['runtime', 'data', 'model'],
  eval: ['runtime', 'data', 'video', 'model', 'report', 'run'],
  predict: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval'],
  train: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval'],
  bench: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval', 'predict', 'train'],
  api: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval', 'predict', 'train'],
  server: ['runtime', 'data', 'video', 'model'],
  cli: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval', 'predict', 'train', 'bench', 'server', 'package'],
  web: ['runtime', 'data', 'video', 'model', 'report', 'run', 'eval', 'predict', 'train'],
};

/** Layer of a path relative to the repository root. */
function layerOf(file: string): string {
  if (file === 'src/index.ts') return 'api';
  if (file === 'src/cli.ts') return 'cli';
  if (file === 'package.json') return 'package';
  const m = /^src\/([^/]+)\//.exec(file);
  if (!m) throw new Error(`${file}: not under src/`);
  return m[1]!;
}

/** Relative module specifiers of a TypeScript source text. */
export function importsOf(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith('.'));
}

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** File → files it imports (repository-relative paths), for every file under src/. */
function importGraph(): { graph: Graph; unresolved: string[] } {
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const abs of sourceFiles(join(ROOT, 'src'))) {
    const file = relative(ROOT, abs);
    const targets: string[] = [];
    for (const spec of importsOf(readFileSync(abs, 'utf8'))) {
      const target = resolve(dirname(abs), spec.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) unresolved.push(`${file}: '${spec}'`);
      else targets.push(relative(ROOT, target));
    }
    graph.set(file, targets);
  }
  return { graph, unresolved };
}

/** Imports that go to a layer the importing file's layer may not use. */
export function forbiddenImports(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    const allowed = ALLOWED[a];
    if (!allowed) {
      out.push(`${from}: layer '${a}' is not in the table of test/layers.test.ts`);
      continue;
    }
    for (const to of targets) {
      const b = layerOf(to);
      if (b !== a && !allowed.includes(b)) out.push(`${from} → ${to} (${a} may not import ${b})`);
    }
  }
  return out;
}

/** File-level import cycles (Tarjan's strongly connected components), each as a list of files. */
export function importCycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

const { graph, unresolved } = importGraph();

test('every relative import under src/ resolves to a file', () => {
  assert.ok(graph.size > 50, `found only ${graph.size} source files`);
  assert.deepEqual(unresolved, []);
});

test('imports only point down the layers', () => {
  assert.deepEqual(forbiddenImports(graph), []);
});

test('no file-level import cycle under src/', () => {
  assert.deepEqual(importCycles(graph), []);
});

test('the checks find what they look for (a made-up graph)', () => {
  const bad: Graph = new Map([
    ['src/model/a.ts', ['src/eval/b.ts']],
    ['src/eval/b.ts', ['src/train/c.ts', 'src/model/a.ts']],
    ['src/train/c.ts', ['src/eval/b.ts']],
    ['src/data/d.ts', ['src/data/d.ts']],
    ['src/nowhere/e.ts', []],
  ]);
  assert.deepEqual(forbiddenImports(bad), [
    'src/model/a.ts → src/eval/b.ts (model may not import eval)',
    'src/eval/b.ts → src/train/c.ts (eval may not import train)',
    "src/nowhere/e.ts: layer 'nowhere' is not in the table of test/layers.test.ts",
  ]);
  assert.deepEqual(importCycles(bad), [['src/data/d.ts'], ['src/eval/b.ts', 'src/model/a.ts', 'src/train/c.ts']]);
  // the scanner sees every import form, and nothing in comments or strings
  const text = [
    "import a from './a.js';",
    "import type { B } from '../b.js';",
    "export { c } from './c.js';",
    "export * from './d.js';",
    "const e = await import('./e.js');",
    "// import f from './f.js';",
    "const g = \"import h from './h.js'\";",
    "import * as tf from '@tensorflow/tfjs';",
  ].join('\n');
  assert.deepEqual(importsOf(text).sort(), ['../b.js', './a.js', './c.js', './d.js', './e.js']);
});
