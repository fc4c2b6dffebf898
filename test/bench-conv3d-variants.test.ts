/**
 * The benchmark's time-major folded conv3d variants (src/bench/conv3d-variants.ts: im2col, taps,
 * banded) against tf.conv3d on the cpu backend: forward, dx, dW and db, stride 1 and (1,2,2), on cpu
 * and wasm; bad shapes rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { CONV3D_VARIANTS, conv3d } from '../src/bench/conv3d-variants.js';
import { assertMatchesReference } from './conv3d-helpers.js';

for (const stride of [1, 2] as const) {
  test(`conv3d variants ${CONV3D_VARIANTS.join(', ')} equal tf.conv3d in forward, dx, dW, db; stride (1,${stride},${stride}); cpu and wasm`, async () => {
    await assertMatchesReference(
      stride,
      CONV3D_VARIANTS.map((v) => [v, (a: tf.Tensor4D, b: tf.Tensor5D, c: tf.Tensor1D) => conv3d(a, b, { stride, bias: c, variant: v })]),
    );
  });
}

test('conv3d rejects a folded batch that is not 3 frames and a kernel for other channels', async () => {
  await initBackend('cpu');
  const x = tf.zeros([6, 4, 4, 2]) as tf.Tensor4D;
  const w = tf.zeros([3, 3, 3, 2, 3]) as tf.Tensor5D;
  assert.throws(() => conv3d(tf.zeros([5, 4, 4, 2]) as tf.Tensor4D, w), /not a multiple of T = 3/);
  assert.throws(() => conv3d(x, tf.zeros([3, 3, 3, 1, 3]) as tf.Tensor5D), /input has 2 channels, kernel expects 1/);
  tf.dispose([x, w]);
});
