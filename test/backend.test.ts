import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice } from '../src/runtime/backend.js';
import { registerComposedKernels } from '../src/runtime/kernels/index.js';

test('auto picks a working backend and records why earlier ones were skipped', async () => {
  const info = await initBackend('auto');
  assert.equal(info.backend, tf.getBackend());
  const okIdx = info.attempts.findIndex((a) => a.ok);
  assert.equal(okIdx, info.attempts.length - 1);
  for (const a of info.attempts.slice(0, okIdx)) assert.ok(a.reason && a.reason.length > 0);
});

test('unknown backend names are rejected', () => {
  assert.throws(() => parseBackendChoice('gpu'), /unknown backend/);
});

/** Numerical dW of sum(conv2d(x, w)^2) by central differences, in float64 on JS arrays. */
function convOut(x: Float64Array, xs: number[], w: Float64Array, ws: number[], stride: number, padTop: number, padLeft: number, ho: number, wo: number) {
  const [n, h, wd, ci] = xs as [number, number, number, number];
  const [kh, kw, , co] = ws as [number, number, number, number];
  const y = new Float64Array(n * ho * wo * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let a = 0; a < kh; a++)
            for (let c = 0; c < kw; c++) {
              const r = i * stride + a - padTop;
              const q = j * stride + c - padLeft;
              if (r < 0 || r >= h || q < 0 || q >= wd) continue;
              for (let k = 0; k < ci; k++) s += x[((b * h + r) * wd + q) * ci + k]! * w[((a * kw + c) * ci + k) * co + o]!;
            }
          y[((b * ho + i) * wo + j) * co + o] = s;
        }
  return y;
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const [stride, pad] of [[1, 'same'], [2, 'same'], [2, 'valid']] as const) {
    test(`composed Conv2DBackpropFilter on ${backend} matches a numerical gradient (stride ${stride}, ${pad})`, async () => {
      await initBackend(backend);
      registerComposedKernels(backend);
      const xs = [2, 7, 8, 3];
      const wsh = [3, 3, 3, 2];
      const xv = Float64Array.from({ length: 2 * 7 * 8 * 3 }, (_, i) => Math.sin(0.7 * i));
      const wv = Float64Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(1.3 * i));
      const x = tf.tensor4d(Float32Array.from(xv), xs as [number, number, number, number]);
      const w = tf.tensor4d(Float32Array.from(wv), wsh as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const g = tf.grad((wt: tf.Tensor) => tf.conv2d(x, wt as tf.Tensor4D, stride, pad).square().sum())(w);
      const got = await g.data();
      g.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
      const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], wsh as [number, number, number, number], stride, 1, pad);
      const ho = info.outHeight;
      const wo = info.outWidth;
      const f = (wt: Float64Array) => {
        const y = convOut(xv, xs, wt, wsh, stride, info.padInfo.top, info.padInfo.left, ho, wo);
        let s = 0;
        for (const v of y) s += v * v;
        return s;
      };
      const eps = 1e-4;
      let maxErr = 0;
      let maxRef = 0;
      for (let i = 0; i < wv.length; i++) {
        const p = Float64Array.from(wv); p[i]! += eps;
        const m = Float64Array.from(wv); m[i]! -= eps;
        const num = (f(p) - f(m)) / (2 * eps);
        maxErr = Math.max(maxErr, Math.abs(num - got[i]!));
        maxRef = Math.max(maxRef, Math.abs(num));
      }
      tf.dispose([x, w]);
      assert.ok(maxErr / maxRef < 1e-5, `relative error ${maxErr / maxRef}`);
    });
  }
}
