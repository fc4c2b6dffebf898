/**
 * 3×3×3 convolution as conv2d (all variants + the packed model path) against tf.conv3d on the cpu
 * backend (the oracle; tf.conv3d's gradients are wrong on wasm), forward, dx and dW, stride 1 and (1,2,2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { CONV3D_VARIANTS, conv3d, conv3dPacked, packedConv } from '../src/model/conv3d.js';
import { pack, unpack } from '../src/model/packed.js';

const B = 2;
const H = 6;
const CI = 3;
const CO = 4;

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1.7 + i * 0.37) + 0.1 * Math.cos(i * 1.3));
}

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db?: Float32Array;
}

/** Oracle: tf.conv3d on [B,T,H,W,C] with explicit spatial/temporal padding 1, cpu backend. */
function oracle(x: Float32Array, w: Float32Array, dy: Float32Array, stride: 1 | 2): Result {
  const ho = H / stride;
  const f = (xt: tf.Tensor, wt: tf.Tensor) => {
    const xb = xt.reshape([3, B, H, H, CI]).transpose([1, 0, 2, 3, 4]).pad([[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]) as tf.Tensor5D;
    const y = tf.conv3d(xb, wt as tf.Tensor5D, [1, stride, stride], 'valid');
    return y.transpose([1, 0, 2, 3, 4]).reshape([3 * B, ho, ho, CO]);
  };
  const xt = tf.tensor4d(x, [3 * B, H, H, CI]);
  const wt = tf.tensor5d(w, [3, 3, 3, CI, CO]);
  const dyt = tf.tensor4d(dy, [3 * B, ho, ho, CO]);
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(dyt).sum())([xt, wt]);
  const out = { y: f(xt, wt).dataSync() as Float32Array, dx: gx!.dataSync() as Float32Array, dw: gw!.dataSync() as Float32Array };
  tf.dispose([xt, wt, dyt, gx!, gw!]);
  return out;
}

function ours(x: Float32Array, w: Float32Array, dy: Float32Array, bias: Float32Array, stride: 1 | 2, run: (x: tf.Tensor4D, w: tf.Tensor5D, b: tf.Tensor1D) => tf.Tensor4D): Result {
  const ho = H / stride;
  const xt = tf.tensor4d(x, [3 * B, H, H, CI]);
  const wt = tf.tensor5d(w, [3, 3, 3, CI, CO]);
  const bt = tf.tensor1d(bias);
  const dyt = tf.tensor4d(dy, [3 * B, ho, ho, CO]);
  const before = tf.memory().numTensors;
  const [gx, gw, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => run(a as tf.Tensor4D, b as tf.Tensor5D, c as tf.Tensor1D).mul(dyt).sum())([xt, wt, bt]);
  const y = run(xt, wt, bt);
  const out = { y: y.dataSync() as Float32Array, dx: gx!.dataSync() as Float32Array, dw: gw!.dataSync() as Float32Array, db: gb!.dataSync() as Float32Array };
  tf.dispose([y, gx!, gw!, gb!]);
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  tf.dispose([xt, wt, bt, dyt]);
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

for (const stride of [1, 2] as const) {
  test(`conv3d (all variants, packed path) equals tf.conv3d in forward, dx, dW; stride (1,${stride},${stride}); cpu and wasm`, async () => {
    await initBackend('cpu');
    const ho = H / stride;
    const x = values(3 * B * H * H * CI, 1);
    const w = values(27 * CI * CO, 2);
    const dy = values(3 * B * ho * ho * CO, 3);
    const bias = values(CO, 4);
    const ref = oracle(x, w, dy, stride);
    // with bias: y + b, dW unchanged, db = Σ dy per channel
    const refDb = new Float32Array(CO);
    for (let i = 0; i < dy.length; i++) refDb[i % CO] += dy[i]!;
    const refY = ref.y.map((v, i) => v + bias[i % CO]!);
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      const runs: [string, (a: tf.Tensor4D, b: tf.Tensor5D, c: tf.Tensor1D) => tf.Tensor4D][] = [
        ...CONV3D_VARIANTS.map((v) => [v, (a: tf.Tensor4D, b: tf.Tensor5D, c: tf.Tensor1D) => conv3d(a, b, { stride, bias: c, variant: v })] as [string, (a: tf.Tensor4D, b: tf.Tensor5D, c: tf.Tensor1D) => tf.Tensor4D]),
        [
          'packed',
          (a, b, c) => tf.tidy(() => {
            const y = conv3dPacked(pack(a), packedConv(b, { bias: c, stride }));
            return unpack(y).reshape([3 * B, ho, ho, CO]);
          }),
        ],
      ];
      for (const [name, run] of runs) {
        const r = ours(x, w, dy, bias, stride, run);
        for (const [what, got, want] of [['y', r.y, refY], ['dx', r.dx, ref.dx], ['dW', r.dw, ref.dw], ['db', r.db!, refDb]] as const) {
          const e = relErr(got, want);
          assert.ok(e < 2e-6, `${backend} ${name} ${what}: relative error ${e}`);
        }
      }
    }
  });
}

test('packed conv with parts and output groups equals conv3d on the channel concat (gate layout)', async () => {
  await initBackend('cpu');
  const parts = [0, 1, 2].map((i) => tf.randomNormal([3 * B, 4, 4, 2], 0, 1, 'float32', 10 + i) as tf.Tensor4D);
  const w = tf.randomNormal([3, 3, 3, 6, 6], 0, 0.3, 'float32', 20) as tf.Tensor5D;
  const b = tf.randomNormal([6], 0, 1, 'float32', 21) as tf.Tensor1D;
  const want = conv3d(tf.concat(parts, 3) as tf.Tensor4D, w, { bias: b, variant: 'taps' });
  const k = packedConv(w, { bias: b, parts: 3, outGroups: 3 });
  const packedParts = parts.map((p) => pack(p));
  // input order (part, t, c); output order (group, t, c_g)
  const y = conv3dPacked(tf.concat(packedParts, 3) as tf.Tensor4D, k);
  const groups = tf.split(y, 3, 3).map((g) => unpack(g as tf.Tensor4D).reshape([3 * B, 4, 4, 2]));
  const got = tf.concat(groups, 3);
  assert.ok(relErr(got.dataSync() as Float32Array, want.dataSync() as Float32Array) < 1e-6);
});
