/**
 * The model's 3×3×3 convolution (src/model/conv3d.ts: packedConv + conv3dPacked on the packed layout)
 * against tf.conv3d on the cpu backend: forward, dx, dW and db, stride 1 and (1,2,2), on cpu and
 * wasm; and the packed layout of several input parts and output groups (the predictor's gates).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { conv3dPacked, packedConv } from '../src/model/conv3d.js';
import { pack, unpack } from '../src/model/packed.js';
import { assertMatchesReference, B, conv3dReference } from './conv3d-helpers.js';
import { relErr } from './numeric-helpers.js';

for (const stride of [1, 2] as const) {
  test(`packed conv3d equals tf.conv3d in forward, dx, dW, db; stride (1,${stride},${stride}); cpu and wasm`, async () => {
    await assertMatchesReference(stride, [
      [
        'packed',
        (a, b, c) =>
          tf.tidy(() => {
            const y = conv3dPacked(pack(a), packedConv(b, { bias: c, stride }));
            const [n, ho, wo, c3] = y.shape;
            return unpack(y).reshape([3 * n, ho, wo, c3 / 3]);
          }),
      ],
    ]);
  });
}

test('packed conv with parts and output groups equals conv3d on the channel concat (gate layout)', async () => {
  await initBackend('cpu');
  const parts = [0, 1, 2].map((i) => tf.randomNormal([3 * B, 4, 4, 2], 0, 1, 'float32', 10 + i) as tf.Tensor4D);
  const w = tf.randomNormal([3, 3, 3, 6, 6], 0, 0.3, 'float32', 20) as tf.Tensor5D;
  const b = tf.randomNormal([6], 0, 1, 'float32', 21) as tf.Tensor1D;
  const want = conv3dReference(tf.concat(parts, 3) as tf.Tensor4D, w, 1, b);
  const k = packedConv(w, { bias: b, parts: 3, outGroups: 3 });
  const packedParts = parts.map((p) => pack(p));
  // input order (part, t, c); output order (group, t, c_g)
  const y = conv3dPacked(tf.concat(packedParts, 3) as tf.Tensor4D, k);
  const groups = tf.split(y, 3, 3).map((g) => unpack(g as tf.Tensor4D).reshape([3 * B, 4, 4, 2]));
  const got = tf.concat(groups, 3);
  assert.ok(relErr(got.dataSync() as Float32Array, want.dataSync() as Float32Array) < 1e-6);
});
