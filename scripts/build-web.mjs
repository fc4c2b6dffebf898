#!/usr/bin/env node
/**
 * Build the browser app (web/) into dist/web with esbuild: app.js (the page), worker.js (tfjs and the
 * model), shared and per-backend chunks, index.html, style.css and the tfjs wasm binaries.
 * The model code is the CLI's (src/model, src/eval/metrics, src/video/fit, …); '@tensorflow/tfjs' is
 * aliased to tfjs-core (web/tfjs.ts) and each backend is a chunk loaded when chosen.
 *
 * Fails when anything the browser cannot run gets in: esbuild cannot resolve Node built-ins on
 * platform 'browser', any warning fails the build, and the metafile is checked for Node built-ins
 * and external imports. Writes dist/web/build-info.json (sizes) and prints them.
 *
 * usage: node scripts/build-web.mjs [--out DIR]
 */
import { builtinModules } from 'node:module';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = resolve(outIdx >= 0 ? args[outIdx + 1] : join(root, 'dist', 'web'));

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
/** the wasm binaries tfjs-backend-wasm picks from without cross-origin isolation (no threads) */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

function fail(message) {
  process.stderr.write(`build-web: ${message}\n`);
  process.exit(1);
}

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'wasm'), { recursive: true });

let result;
try {
  result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: 'web/main.ts', worker: 'web/worker.ts' },
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
  const text = msgs.length ? (await esbuild.formatMessages(msgs, { kind: 'error' })).join('') : String(err);
  fail(`esbuild failed:\n${text}`);
}
if (result.warnings.length > 0) {
  fail(`warnings are errors here:\n${(await esbuild.formatMessages(result.warnings, { kind: 'warning' })).join('')}`);
}

// nothing of Node may be in the bundle: neither a resolved built-in nor an import left external
const offending = [];
for (const [input, meta] of Object.entries(result.metafile.inputs)) {
  if (NODE_BUILTINS.has(input) || input.startsWith('node:')) offending.push(input);
  for (const imp of meta.imports) {
    if (NODE_BUILTINS.has(imp.path) || imp.external) offending.push(`${input} imports ${imp.path}${imp.external ? ' (external)' : ''}`);
  }
}
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  for (const imp of meta.imports) if (imp.external) offending.push(`${file} imports ${imp.path} (external)`);
}
if (offending.length > 0) fail(`Node built-ins or external imports in the browser bundle:\n  ${offending.join('\n  ')}`);

for (const f of ['index.html', 'style.css']) await copyFile(join(root, 'web', f), join(out, f));
const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
for (const f of WASM_FILES) await copyFile(join(wasmDir, f), join(out, 'wasm', f));

async function walk(dir) {
  const files = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p)));
    else files.push({ path: relative(out, p), bytes: (await stat(p)).size });
  }
  return files;
}
const files = (await walk(out)).sort((a, b) => a.path.localeCompare(b.path));
const sum = (pred) => files.filter(pred).reduce((s, f) => s + f.bytes, 0);
const info = {
  js: sum((f) => f.path.endsWith('.js')),
  wasm: sum((f) => f.path.endsWith('.wasm')),
  other: sum((f) => !f.path.endsWith('.js') && !f.path.endsWith('.wasm')),
  files,
};
await writeFile(join(out, 'build-info.json'), `${JSON.stringify(info, null, 1)}\n`);
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
process.stdout.write(`build-web: ${relative(process.cwd(), out) || '.'}: JS ${kb(info.js)}, wasm ${kb(info.wasm)} (${WASM_FILES.length} variants, one is loaded), html/css ${kb(info.other)}\n`);
