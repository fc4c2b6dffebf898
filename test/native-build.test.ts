/**
 * scripts/build-native.mjs, the package's install script: when it cannot or must not build the native kernels
 * it says why in one line and exits 0, so `npm install` goes on (crevnet then runs on wasm), and it leaves an
 * existing build alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli-helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'build-native.mjs');
const ADDON = join(ROOT, 'native', 'build', 'Release', 'crevnet_native.node');

function runBuild(env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env, cwd: ROOT });
}

test('CREVNET_NATIVE=0 skips the build with one line and exit code 0', () => {
  const before = existsSync(ADDON) ? statSync(ADDON).mtimeMs : undefined;
  const r = runBuild({ ...process.env, CREVNET_NATIVE: '0' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.match(r.stdout, /^crevnet: native kernels not built \(CREVNET_NATIVE=0\); crevnet will use the wasm backend$/m);
  assert.equal(existsSync(ADDON) ? statSync(ADDON).mtimeMs : undefined, before);
});

test('without pkg-config (no OpenBLAS to find) the install goes on: one line naming what to install, exit code 0', { skip: process.platform === 'darwin' ? 'macOS links Accelerate, no pkg-config needed' : false }, () => {
  const r = runBuild({ ...process.env, PATH: join(ROOT, 'no-such-dir'), CREVNET_NATIVE: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^crevnet: native kernels not built \(pkg-config is not installed; on Debian\/Ubuntu: apt-get install pkg-config libopenblas-dev, then npm rebuild crevnet \(in a clone: node scripts\/build-native.mjs\)\); crevnet will use the wasm backend\n$/);
});
