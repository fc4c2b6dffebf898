/** The microbenchmarks' GEMM ceiling (src/bench/micro.ts): rows, their multiply-accumulate counts, finite rates (no timing asserts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { gemmCeiling } from '../src/bench/micro.js';

test('gemmCeiling: the model-shaped convolutions and a matmul, MACs from their shapes, a positive rate, no leaks', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const rows = gemmCeiling({ warmup: 0, repeats: 1 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(rows.map((r) => r.macs), [8 * 8 * 8 * 9 * 288 * 288, 16 * 16 * 16 * 9 * 72 * 72, 512 * 1024 * 512]);
  for (const r of rows) {
    assert.ok(r.ms > 0 && Number.isFinite(r.gmacPerSecond) && r.gmacPerSecond > 0, JSON.stringify(r));
    assert.ok(Math.abs(r.gmacPerSecond - r.macs / r.ms / 1e6) < 1e-9);
  }
});
