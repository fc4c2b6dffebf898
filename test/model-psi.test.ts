/** ψ (space-to-depth) and the layout helpers: index formula, exact inverses, packed layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { psi, psiInverse, psiPacked, psiPackedInverse } from '../src/model/psi.js';
import { pack, unpack } from '../src/model/packed.js';
import { concatChannels, splitChannels, transpose } from '../src/model/ops.js';

function iota(shape: number[]): tf.Tensor {
  return tf.range(0, shape.reduce((a, b) => a * b, 1), 1, 'float32').reshape(shape);
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`ψ follows the index formula and ψ⁻¹ inverts it bit-exactly (${backend})`, async () => {
    await initBackend(backend);
    const [n, h, w, c] = [2, 6, 4, 3];
    const x = iota([n, h, w, c]) as tf.Tensor4D;
    const z = psi(x);
    assert.deepEqual(z.shape, [n, h / 2, w / 2, 4 * c]);
    const xv = x.dataSync();
    const zv = z.dataSync();
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h / 2; i++)
        for (let j = 0; j < w / 2; j++)
          for (let dh = 0; dh < 2; dh++)
            for (let dw = 0; dw < 2; dw++)
              for (let k = 0; k < c; k++) {
                const got = zv[((b * (h / 2) + i) * (w / 2) + j) * 4 * c + (2 * dh + dw) * c + k];
                const want = xv[((b * h + 2 * i + dh) * w + 2 * j + dw) * c + k];
                assert.equal(got, want);
              }
    // forward oracle for ψ⁻¹: tf.depthToSpace (NHWC, TF channel order)
    assert.deepEqual(Array.from(psiInverse(z).dataSync()), Array.from(xv));
    assert.deepEqual(Array.from(tf.depthToSpace(z, 2, 'NHWC').dataSync()), Array.from(xv));
    const r = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    assert.deepEqual(Array.from(psiInverse(psi(r)).dataSync()), Array.from(r.dataSync()), 'bit-exact round trip');
    tf.dispose([x, z, r]);
  });

  test(`packed layout: pack/unpack, per-frame ψ on packed clips, channel concat/split (${backend})`, async () => {
    await initBackend(backend);
    const clip = iota([3, 2, 4, 6, 2]) as tf.Tensor5D; // time-major [T,N,H,W,C]
    const p = pack(clip);
    assert.deepEqual(p.shape, [2, 4, 6, 6]);
    // channel t·C + c holds frame t
    const pv = p.dataSync();
    const cv = clip.dataSync();
    assert.equal(pv[((1 * 4 + 2) * 6 + 3) * 6 + 2 * 2 + 1], cv[(((2 * 2 + 1) * 4 + 2) * 6 + 3) * 2 + 1]);
    assert.deepEqual(Array.from(unpack(p).dataSync()), Array.from(cv));
    // ψ on packed clips = ψ on each frame
    const viaFrames = pack(psi(clip.reshape([6, 4, 6, 2]) as tf.Tensor4D).reshape([3, 2, 2, 3, 8]));
    assert.deepEqual(Array.from(psiPacked(p).dataSync()), Array.from(viaFrames.dataSync()));
    assert.deepEqual(Array.from(psiPackedInverse(psiPacked(p)).dataSync()), Array.from(pv));
    const parts = [0, 1, 2].map((i) => tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', i) as tf.Tensor4D);
    assert.deepEqual(Array.from(concatChannels(parts).dataSync()), Array.from(tf.concat(parts, 3).dataSync()));
    splitChannels(tf.concat(parts, 3) as tf.Tensor4D, 3).forEach((s, i) => assert.deepEqual(Array.from(s.dataSync()), Array.from(parts[i]!.dataSync())));
    tf.dispose([clip, p, viaFrames, ...parts]);
  });
}

test('transpose helper equals tf.transpose for 2–7-D permutations (cpu oracle)', async () => {
  await initBackend('cpu');
  const x = tf.randomNormal([3, 2, 4, 1, 5, 2, 3], 0, 1, 'float32', 3);
  for (const perm of [[3, 1, 2, 4, 0, 5, 6], [0, 1, 3, 5, 2, 4, 6], [6, 5, 4, 3, 2, 1, 0], [2, 0, 6, 4, 1, 5, 3], [1, 0, 2, 3, 4, 5, 6]]) {
    assert.deepEqual(Array.from(transpose(x, perm).dataSync()), Array.from(x.transpose(perm).dataSync()), `perm ${perm}`);
  }
  // gradient is the inverse permutation
  const g = tf.grad((a: tf.Tensor) => transpose(a, [2, 0, 1]).mul(tf.range(0, 24).reshape([4, 2, 3])).sum())(tf.ones([2, 3, 4]));
  const want = tf.range(0, 24).reshape([4, 2, 3]).transpose([1, 2, 0]);
  assert.deepEqual(Array.from(g.dataSync()), Array.from(want.dataSync()));
  tf.dispose([x, g, want]);
});

test('wasm transpose helper matches the cpu result for a 7-D permutation (wasm\'s own 7-D kernel does not)', async () => {
  await initBackend('cpu');
  const vals = Float32Array.from({ length: 3 * 2 * 4 * 2 * 5 * 2 * 3 }, (_, i) => Math.sin(i));
  const shape = [3, 2, 4, 2, 5, 2, 3];
  const perm = [3, 1, 2, 4, 0, 5, 6];
  const want = tf.tensor(vals, shape).transpose(perm).dataSync();
  await initBackend('wasm');
  const got = transpose(tf.tensor(vals, shape), perm).dataSync();
  assert.deepEqual(Array.from(got), Array.from(want));
});
