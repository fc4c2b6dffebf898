/**
 * scripts/build-web.mjs: the browser bundle is built from the CLI's own model code, holds no Node
 * built-in, and the build fails when one would get in.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeb, nodeImports } from '../scripts/build-web.mjs';

const dir = mkdtempSync(join(tmpdir(), 'crevnet-web-build-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the app: page, worker, backends as chunks, wasm; the model, metrics and fit code are the CLI\'s', async () => {
  const r = await buildWeb({ out: join(dir, 'app') });
  for (const f of ['index.html', 'style.css', 'app.js', 'worker.js', 'wasm/tfjs-backend-wasm.wasm', 'wasm/tfjs-backend-wasm-simd.wasm', 'build-info.json']) {
    assert.ok(existsSync(join(r.out, f)), f);
  }
  for (const src of ['src/model/crevnet.ts', 'src/model/crevnet-predict.ts', 'src/model/checkpoint-files.ts', 'src/model/config.ts', 'src/eval/metrics.ts', 'src/video/fit.ts', 'src/predict/compose.ts', 'src/runtime/kernels/index.ts']) {
    assert.ok(r.inputs.includes(src), `bundled: ${src}`);
  }
  for (const bad of r.inputs.filter((p) => /^src\/(model\/checkpoint|model\/config-file|video\/(decode|encode|probe|command))\.ts$|^node_modules\/@tensorflow\/tfjs\/|tfjs-node|fluent-ffmpeg/.test(p))) {
    assert.fail(`a Node-only module is in the bundle: ${bad}`);
  }
  const info = JSON.parse(readFileSync(join(r.out, 'build-info.json'), 'utf8')) as { js: number; wasm: number };
  assert.equal(info.js, r.js);
  assert.ok(r.js > 500_000 && r.js < 4_000_000, `JS ${r.js} bytes`);
  assert.ok(r.wasm > 500_000 && r.wasm < 2_000_000, `wasm ${r.wasm} bytes`);
});

test('a Node built-in in the bundle fails the build (the file-system checkpoint loader as an entry point)', async () => {
  await assert.rejects(buildWeb({ out: join(dir, 'bad'), entryPoints: { bad: 'src/model/checkpoint.ts' } }), (e: Error) => {
    assert.match(e.message, /esbuild failed[\s\S]*Could not resolve "node:(fs|crypto|path)/);
    return true;
  });
});

test('nodeImports: resolved built-ins and external imports are reported', () => {
  const meta = {
    inputs: { 'web/a.ts': { imports: [{ path: 'node:fs' }, { path: 'web/b.ts' }] }, 'web/b.ts': { imports: [{ path: 'left-out', external: true }] } },
    outputs: { 'out/a.js': { imports: [{ path: 'worker_threads', external: true }] } },
  };
  assert.deepEqual(nodeImports(meta), ['web/a.ts imports node:fs', 'web/b.ts imports left-out (external)', 'out/a.js imports worker_threads (external)']);
  assert.deepEqual(nodeImports({ inputs: { 'web/a.ts': { imports: [] } }, outputs: {} }), []);
});
