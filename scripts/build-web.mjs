#!/usr/bin/env node
/**
 * Build the browser app (web/) into dist/web with esbuild: app.js (the page), worker.js (tfjs and the
 * model), shared and per-backend chunks, index.html, style.css and the tfjs wasm binaries.
 * The model code is the CLI's (src/model, src/eval/metrics, src/video/fit, …); '@tensorflow/tfjs' is
 * aliased to tfjs-core (web/tfjs.ts) and each backend is a chunk loaded when chosen.
 *
 * Fails when anything the browser cannot run gets in: esbuild cannot resolve Node built-ins on
 * platform 'browser', any warning fails the build, and the metafile is checked for Node built-ins
 * and external imports. Writes build-info.json (sizes) next to the app and prints them.
 *
 * usage: node scripts/build-web.mjs [--out DIR]
 */
import { builtinModules } from 'node:module';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/** the wasm binaries tfjs-backend-wasm picks from without cross-origin isolation (no threads) */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];
export const DEFAULT_ENTRIES = { app: 'web/main.ts', worker: 'web/worker.ts' };

/** Node built-ins and external imports in an esbuild metafile, as "input imports path" lines. */
export function nodeImports(metafile) {
  const found = [];
  for (const [input, meta] of Object.entries(metafile.inputs)) {
    if (NODE_BUILTINS.has(input) || input.startsWith('node:')) found.push(input);
    for (const imp of meta.imports) {
      if (NODE_BUILTINS.has(imp.path) || imp.external) found.push(`${input} imports ${imp.path}${imp.external ? ' (external)' : ''}`);
    }
  }
  for (const [file, meta] of Object.entries(metafile.outputs)) {
    for (const imp of meta.imports) if (imp.external) found.push(`${file} imports ${imp.path} (external)`);
  }
  return found;
}

async function walk(dir, base) {
  const files = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p, base)));
    else files.push({ path: relative(base, p), bytes: (await stat(p)).size });
  }
  return files;
}

/**
 * Build into `out` (default dist/web). Rejects with a readable Error when esbuild fails, warns, or the
 * bundle would contain a Node built-in. Resolves with the sizes (also written to build-info.json) and
 * the list of bundled source files.
 */
export async function buildWeb({ out = join(root, 'dist', 'web'), entryPoints = DEFAULT_ENTRIES } = {}) {
  out = resolve(out);
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, 'wasm'), { recursive: true });
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints,
      outdir: out,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
      minify: true,
      legalComments: 'linked',
      chunkNames: 'chunks/[name]-[hash]',
      alias: { '@tensorflow/tfjs': './web/tfjs.ts' },
      metafile: true,
      logLevel: 'silent',
    });
  } catch (err) {
    const msgs = err.errors ?? [];
    const text = msgs.length ? (await esbuild.formatMessages(msgs, { kind: 'error', color: false })).join('') : String(err);
    throw new Error(`esbuild failed:\n${text}`);
  }
  if (result.warnings.length > 0) {
    throw new Error(`warnings are errors here:\n${(await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })).join('')}`);
  }
  const offending = nodeImports(result.metafile);
  if (offending.length > 0) throw new Error(`Node built-ins or external imports in the browser bundle:\n  ${offending.join('\n  ')}`);

  for (const f of ['index.html', 'style.css']) await copyFile(join(root, 'web', f), join(out, f));
  const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of WASM_FILES) await copyFile(join(wasmDir, f), join(out, 'wasm', f));

  const files = (await walk(out, out)).sort((a, b) => a.path.localeCompare(b.path));
  const sum = (pred) => files.filter(pred).reduce((s, f) => s + f.bytes, 0);
  const info = {
    js: sum((f) => f.path.endsWith('.js')),
    wasm: sum((f) => f.path.endsWith('.wasm')),
    other: sum((f) => !f.path.endsWith('.js') && !f.path.endsWith('.wasm')),
    files,
  };
  await writeFile(join(out, 'build-info.json'), `${JSON.stringify(info, null, 1)}\n`);
  return { out, ...info, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--out');
  try {
    const r = await buildWeb(i >= 0 ? { out: args[i + 1] } : {});
    const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
    process.stdout.write(`build-web: ${relative(process.cwd(), r.out) || '.'}: JS ${kb(r.js)}, wasm ${kb(r.wasm)} (${WASM_FILES.length} variants, one is loaded), html/css/licences ${kb(r.other)}\n`);
  } catch (err) {
    process.stderr.write(`build-web: ${err.message}\n`);
    process.exit(1);
  }
}
