/** BatchNorm3d semantics on packed tensors: train/eval/recompute, per-group statistics, running stats, gradients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { maxErr } from './numeric-helpers.js';
import { BN_EPS, normRelu, RunningStatsCollector, widenFactor, type NormParams, type RunningStats } from '../src/model/norm.js';

const C = 3;
const shape: [number, number, number, number] = [8, 4, 2, 3 * C]; // G=2 groups × 4 rows, packed 3 frames × C

function params(): NormParams {
  return { gamma: tf.tensor1d([1.5, 0.5, -2]), beta: tf.tensor1d([0.1, -0.2, 0.3]) };
}
function running(): RunningStats {
  return { mean: tf.variable(tf.tensor1d([0.5, -1, 2]), false), variance: tf.variable(tf.tensor1d([2, 0.5, 1]), false) };
}

/** Plain formula with tf ops (autodiff), per group over rows and frames. */
function reference(x: tf.Tensor, p: NormParams, groups: number): tf.Tensor {
  const [n, h, w, ck] = x.shape as number[];
  const xr = x.reshape([groups, (n! / groups) * h! * w! * (ck! / C), C]);
  const { mean, variance } = tf.moments(xr, 1, true);
  return tf.relu(xr.sub(mean).div(variance.add(BN_EPS).sqrt()).mul(p.gamma).add(p.beta)).reshape(x.shape);
}


for (const backend of ['cpu', 'wasm'] as const) {
  test(`train mode: per-group batch statistics, biased variance; gradients equal autodiff (${backend})`, async () => {
    await initBackend(backend);
    const x = tf.randomNormal(shape, 1, 2, 'float32', 5) as tf.Tensor4D;
    const p = params();
    const y = normRelu(x, p, undefined, { mode: 'recompute', kind: 'batch', groups: 2 });
    assert.ok(maxErr(y, reference(x, p, 2)) < 1e-5);
    // groups are independent calls
    const halves = tf.split(x, 2, 0).map((h) => normRelu(h as tf.Tensor4D, p, undefined, { mode: 'recompute', kind: 'batch' }));
    assert.ok(maxErr(y, tf.concat(halves, 0)) < 1e-6);
    const dy = tf.randomNormal(shape, 0, 1, 'float32', 6);
    const ours = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => normRelu(a as tf.Tensor4D, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }, undefined, { mode: 'recompute', kind: 'batch', groups: 2 }).mul(dy).sum());
    const theirs = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => reference(a, { gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }, 2).mul(dy).sum());
    const go = ours([x, p.gamma, p.beta]);
    const gt = theirs([x, p.gamma, p.beta]);
    go.forEach((g, i) => {
      const scale = tf.max(tf.abs(gt[i]!)).dataSync()[0]!;
      assert.ok(maxErr(g, gt[i]!) < 1e-5 * Math.max(1, scale), `grad ${i}`);
    });
    tf.dispose([x, y, dy, ...halves, ...go, ...gt, p.gamma, p.beta]);
  });

  test(`running stats: unbiased variance, momentum 0.1, recompute leaves them alone, eval uses them (${backend})`, async () => {
    await initBackend(backend);
    const x = tf.randomNormal([4, 4, 2, 3 * C], 1, 2, 'float32', 7) as tf.Tensor4D;
    const p = params();
    const r = running();
    const m0 = Array.from(r.mean.dataSync());
    const v0 = Array.from(r.variance.dataSync());
    normRelu(x, p, r, { mode: 'recompute', kind: 'batch' }).dispose();
    assert.deepEqual(Array.from(r.mean.dataSync()), m0, 'recompute does not update');
    normRelu(x, p, r, { mode: 'train', kind: 'batch' }).dispose();
    const xr = x.reshape([-1, C]);
    const { mean, variance } = tf.moments(xr, 0);
    const n = xr.shape[0]!;
    const wantMean = m0.map((v, i) => 0.9 * v + 0.1 * mean.dataSync()[i]!);
    const wantVar = v0.map((v, i) => 0.9 * v + 0.1 * variance.dataSync()[i]! * (n / (n - 1)));
    Array.from(r.mean.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - wantMean[i]!) < 1e-5));
    Array.from(r.variance.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - wantVar[i]!) < 1e-5));
    // eval: fixed affine map with the running statistics
    const ye = normRelu(x, p, r, { mode: 'eval', kind: 'batch' });
    const want = tf.relu(xr.sub(r.mean).div(r.variance.add(BN_EPS).sqrt()).mul(p.gamma).add(p.beta)).reshape(x.shape);
    assert.ok(maxErr(ye, want) < 1e-5);
    tf.dispose([x, xr, mean, variance, ye, want, r.mean, r.variance, p.gamma, p.beta]);
  });
}

test('collector: grouped, out-of-order updates equal sequential updates in key order', async () => {
  await initBackend('cpu');
  const p = params();
  const seqStats = running();
  const collected = running();
  const xs = [0, 1, 2, 3].map((i) => tf.randomNormal([2, 3, 2, 3 * C], i, 1 + i, 'float32', 20 + i) as tf.Tensor4D);
  // reference: E1 D1 E2 D2 one at a time; xs = [E1, E2, D1, D2]
  for (const i of [0, 2, 1, 3]) normRelu(xs[i]!, p, seqStats, { mode: 'train', kind: 'batch' }).dispose();
  const col = new RunningStatsCollector();
  normRelu(tf.concat([xs[0]!, xs[1]!], 0) as tf.Tensor4D, p, collected, { mode: 'train', kind: 'batch', groups: 2, keys: [2, 4], collector: col }).dispose();
  normRelu(tf.concat([xs[2]!, xs[3]!], 0) as tf.Tensor4D, p, collected, { mode: 'train', kind: 'batch', groups: 2, keys: [3, 5], collector: col }).dispose();
  assert.deepEqual(Array.from(collected.mean.dataSync()), [0.5, -1, 2], 'nothing applied before apply()');
  const before = tf.memory().numTensors;
  col.apply();
  assert.ok(tf.memory().numTensors <= before, 'collector released its tensors');
  assert.ok(maxErr(collected.mean, seqStats.mean) < 1e-6);
  assert.ok(maxErr(collected.variance, seqStats.variance) < 1e-6);
});

test('GroupNorm(1,C): per-sample statistics, batch independent', async () => {
  await initBackend('cpu');
  const x = tf.randomNormal([3, 4, 4, 3 * C], 0, 3, 'float32', 9) as tf.Tensor4D;
  const p = params();
  const y = normRelu(x, p, undefined, { mode: 'train', kind: 'group' });
  const one = normRelu(x.slice([1], [1]) as tf.Tensor4D, p, undefined, { mode: 'eval', kind: 'group' });
  assert.ok(maxErr(y.slice([1], [1]), one) < 1e-6);
  const xr = x.slice([1], [1]).reshape([-1]);
  const { mean, variance } = tf.moments(xr);
  const want = tf.relu(xr.sub(mean).div(variance.add(BN_EPS).sqrt()).reshape([-1, C]).mul(p.gamma).add(p.beta)).reshape([1, 4, 4, 3 * C]);
  assert.ok(maxErr(one, want) < 1e-5);
});

test('widenFactor picks a divisor with k·C near 64', () => {
  assert.equal(widenFactor(12288, 2), 32);
  assert.equal(widenFactor(3072, 8), 8);
  assert.equal(widenFactor(7, 2), 7);
  assert.equal(widenFactor(10, 100), 1);
});
