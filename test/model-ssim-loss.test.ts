/**
 * The differentiable SSIM loss term (src/model/ssim-loss.ts) against the float64 metric (src/eval/ssim.ts):
 * values on the metric's unit-test vectors (test/eval-metrics.test.ts) and on random frames, channels,
 * gradient descent raising SSIM, no leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { ssim } from '../src/eval/ssim.js';
import { sumSsimLoss } from '../src/model/ssim-loss.js';

const S = 64;
function frame(f: (r: number, c: number) => number): Float32Array {
  const a = new Float32Array(S * S);
  for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) a[r * S + c] = f(r, c);
  return a;
}
const square = (c0: number) => frame((r, c) => (r >= 20 && r < 40 && c >= c0 && c < c0 + 20 ? 1 : 0));
const ramp = frame((r, c) => ((64 * r + c) % 256) / 255);

test('ssim loss: Σ(1 − SSIM) equals the metric on the unit vectors and on random frames, batched', async () => {
  await initBackend('wasm');
  const rand = (seed: number) => tf.tidy(() => tf.randomUniform([S * S], 0, 1, 'float32', seed).dataSync() as Float32Array);
  const pairs: [Float32Array, Float32Array, number | undefined][] = [
    [square(23), square(20), 0.888931], // (P, G, SSIM of the metric's unit-test vectors, test/eval-metrics.test.ts)
    [ramp.map((v) => 0.9 * v + 0.05), ramp, 0.994476],
    [rand(1), rand(2), undefined],
    [rand(3).map((v) => v * 0.1), square(20), undefined],
  ];
  const before = tf.memory().numTensors;
  let want = 0;
  for (const [p, g, published] of pairs) {
    const one = tf.tidy(() => sumSsimLoss(tf.tensor4d(p, [1, S, S, 1]), tf.tensor4d(g, [1, S, S, 1])).dataSync()[0]!);
    const metric = ssim(p, g, S, S);
    if (published !== undefined) assert.ok(Math.abs(metric - published) < 1e-6, `metric ${metric}`);
    assert.ok(Math.abs(1 - one - metric) < 2e-5, `loss ${1 - one} vs metric ${metric}`);
    want += 1 - metric;
  }
  // all four as one [2,2,H,W,1] batch: the frame sum
  const got = tf.tidy(() => {
    const stack = (k: 0 | 1) => tf.tensor5d(Float32Array.from(pairs.flatMap((q) => [...q[k]])), [2, 2, S, S, 1]);
    return sumSsimLoss(stack(0), stack(1)).dataSync()[0]!;
  });
  assert.ok(Math.abs(got - want) < 1e-4, `${got} vs ${want}`);
  // channels are scored as separate frames
  const two = tf.tidy(() => {
    const p = tf.stack([tf.tensor3d(pairs[0]![0], [S, S, 1]), tf.tensor3d(pairs[2]![0], [S, S, 1])], 3).reshape([1, S, S, 2]);
    const g = tf.stack([tf.tensor3d(pairs[0]![1], [S, S, 1]), tf.tensor3d(pairs[2]![1], [S, S, 1])], 3).reshape([1, S, S, 2]);
    return sumSsimLoss(p, g).dataSync()[0]!;
  });
  const wantTwo = 2 - ssim(pairs[0]![0], pairs[0]![1], S, S) - ssim(pairs[2]![0], pairs[2]![1], S, S);
  assert.ok(Math.abs(two - wantTwo) < 1e-4, `${two} vs ${wantTwo}`);
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  assert.throws(() => sumSsimLoss(tf.zeros([1, 6, 6, 1]), tf.zeros([1, 6, 6, 1])), /at least 7×7/);
  assert.throws(() => sumSsimLoss(tf.zeros([1, 8, 8, 1]), tf.zeros([2, 8, 8, 1])), /same shape/);
});

test('ssim loss: gradient steps on a faint haze raise the metric SSIM against the truth', async () => {
  await initBackend('wasm');
  const truth = tf.tensor4d(square(20), [1, S, S, 1]);
  const pred = tf.variable(tf.fill([1, S, S, 1], 0.05));
  const opt = tf.train.adam(0.01);
  const score = () => ssim(pred.dataSync(), square(20), S, S);
  const start = score();
  for (let i = 0; i < 20; i++) tf.dispose(opt.minimize(() => sumSsimLoss(pred, truth), true) ?? []);
  const end = score();
  assert.ok(end > start + 0.05, `SSIM ${start} → ${end}`);
  tf.dispose([truth, pred]);
  opt.dispose();
});
