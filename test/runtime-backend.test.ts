/** Backend selection (src/runtime/backend.ts): auto's order and recorded reasons, bad names rejected. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backendName, initBackend, parseBackendChoice } from '../src/runtime/backend.js';

test('auto picks a working backend and records why earlier ones were skipped', async () => {
  const info = await initBackend('auto');
  // native is the wasm backend with native kernels; every other name is tfjs's own
  assert.equal(info.backend === 'native' ? 'wasm' : info.backend, tf.getBackend());
  assert.equal(info.backend, backendName());
  const okIdx = info.attempts.findIndex((a) => a.ok);
  assert.equal(okIdx, info.attempts.length - 1);
  for (const a of info.attempts.slice(0, okIdx)) assert.ok(a.reason && a.reason.length > 0);
});

test('unknown backend names are rejected', () => {
  assert.throws(() => parseBackendChoice('gpu'), /unknown backend/);
});
