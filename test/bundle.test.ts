/**
 * `npm run bundle` (scripts/bundle.mjs): the directory runs the CLI with nothing but Node, copied to a
 * temporary directory outside the repository where no node_modules can be found.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { shutdownBackend } from '../src/runtime/backend.js';
import { ROOT } from './cli-helpers.js';
import { webgpuSkipReason } from './webgpu-helpers.js';

const work = await mkdtemp(join(tmpdir(), 'crevnet-bundle-'));
after(() => rm(work, { recursive: true, force: true }));
const built = join(work, 'built');
const copy = join(work, 'elsewhere', 'crevnet');

/** `node crevnet.mjs …` in the copied bundle, with a bare environment */
function bundled(args: string[]) {
  return spawnSync(process.execPath, ['crevnet.mjs', ...args], {
    cwd: copy,
    encoding: 'utf8',
    timeout: 240_000,
    env: { PATH: dirname(process.execPath), HOME: work, ...(process.env.XDG_RUNTIME_DIR ? { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR } : {}) },
  });
}

test('npm run bundle: a directory that runs `node crevnet.mjs model --config small --json` without node_modules', async () => {
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), '--out', built], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /^bundle: .* MB/);
  await cp(built, copy, { recursive: true });
  for (let d = copy; d !== dirname(d); d = dirname(d)) assert.ok(!existsSync(join(d, 'node_modules')), `${d}/node_modules exists`);
  for (const f of ['crevnet.mjs', 'tfjs-backend-wasm.wasm', 'dist/linux-x64/dawn.node', 'configs/small.json', 'mnist/t10k-images-idx3-ubyte.gz']) {
    assert.ok(existsSync(join(copy, f)), `${f} in the bundle`);
  }
  const r = bundled(['model', '--config', 'small', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { params: { total: number }; roundTripMaxError: number; backend: string };
  assert.equal(j.params.total, 80_566);
  assert.ok(j.roundTripMaxError < 1e-4);
  assert.equal(j.backend, 'wasm');
});

const skip = await webgpuSkipReason();
await shutdownBackend();

test('the bundle runs on webgpu with its own dawn.node', skip ? { skip } : {}, () => {
  assert.ok(existsSync(join(copy, 'crevnet.mjs')), 'the bundle was built by the test before');
  const r = bundled(['--backend', 'webgpu', 'model', '--config', 'tiny', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.signal, null);
  const j = JSON.parse(r.stdout) as { roundTripMaxError: number; backend: string };
  assert.equal(j.backend, 'webgpu');
  assert.ok(j.roundTripMaxError < 1e-5);
});
