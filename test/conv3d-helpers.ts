/**
 * The reference for every 3×3×3 conv implementation (the packed model path in src/model/, the
 * benchmark variants in src/bench/): tf.conv3d on the cpu backend (tf.conv3d's gradients are wrong on
 * wasm), and a check of forward, dx, dW and db against it.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { relErr } from './numeric-helpers.js';

export const B = 2;
export const H = 6;
export const CI = 3;
export const CO = 4;

export function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1.7 + i * 0.37) + 0.1 * Math.cos(i * 1.3));
}

/**
 * tf.conv3d of a time-major folded x [3N,H,W,Cin] with w [3,3,3,Cin,Cout] (stride (1,s,s), padding 1
 * in time and space, optional bias) → [3N,H/s,W/s,Cout]. Run it on the cpu backend.
 */
export function conv3dReference(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2 = 1, bias?: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n3, h, wd, ci] = x.shape;
    const n = n3 / 3;
    const xb = x.reshape([3, n, h, wd, ci]).transpose([1, 0, 2, 3, 4]).pad([[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]]) as tf.Tensor5D;
    const y = tf.conv3d(xb, w, [1, stride, stride], 'valid');
    const [, , ho, wo, co] = y.shape;
    const out = y.transpose([1, 0, 2, 3, 4]).reshape([3 * n, ho, wo, co]) as tf.Tensor4D;
    return bias ? out.add(bias) : out;
  });
}

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
}

/** y, dx, dW, db of `run` for the output gradient dy (no tensor may leak). */
function gradients(x: Float32Array, w: Float32Array, dy: Float32Array, bias: Float32Array, stride: 1 | 2, run: (x: tf.Tensor4D, w: tf.Tensor5D, b: tf.Tensor1D) => tf.Tensor4D): Result {
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

/**
 * Each named conv (x [3B,H,H,CI] folded time-major, w, bias → y folded) equals the reference in y, dx,
 * dW and db to 2e-6 relative, on cpu and on wasm.
 */
export async function assertMatchesReference(stride: 1 | 2, runs: [string, (x: tf.Tensor4D, w: tf.Tensor5D, b: tf.Tensor1D) => tf.Tensor4D][]): Promise<void> {
  await initBackend('cpu');
  const ho = H / stride;
  const x = values(3 * B * H * H * CI, 1);
  const w = values(27 * CI * CO, 2);
  const dy = values(3 * B * ho * ho * CO, 3);
  const bias = values(CO, 4);
  const ref = gradients(x, w, dy, bias, stride, (a, b, c) => conv3dReference(a, b, stride, c));
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend);
    for (const [name, run] of runs) {
      const r = gradients(x, w, dy, bias, stride, run);
      for (const what of ['y', 'dx', 'dw', 'db'] as const) {
        const e = relErr(r[what], ref[what]);
        assert.ok(e < 2e-6, `${backend} ${name} ${what}: relative error ${e}`);
      }
    }
  }
}
