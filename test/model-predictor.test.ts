/** Reversible ST-ConvLSTM predictor: formulas (vs a plain time-major reference), even depth, custom gradients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { maxErr } from './numeric-helpers.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { conv3d } from '../src/bench/conv3d-variants.js';
import { pack, unpack } from '../src/model/packed.js';
import { attend, lstmUpdate, outputGate, predictorStep, prepareLayer, zeroState, type LayerParams, type PredictorState } from '../src/model/predictor.js';

function layersOf(m: CrevNet): LayerParams[] {
  return (m as unknown as { predParams: LayerParams[] }).predParams;
}

/** The cell and one time step of docs/architecture.md (Predictor: zig-zag ST-ConvLSTM) written out with plain ops on time-major folded tensors [3B,h,w,C]. */
function referenceStep(layers: LayerParams[], z1: tf.Tensor4D, z2: tf.Tensor4D, st: { h: tf.Tensor4D[]; c: tf.Tensor4D[]; m: tf.Tensor4D }) {
  const cv = (x: tf.Tensor4D[], p: { w: tf.Tensor5D; b: tf.Tensor1D }) => conv3d(tf.concat(x, 3) as tf.Tensor4D, p.w, { bias: p.b, variant: 'taps' });
  const c1 = (x: tf.Tensor4D[], p: { w: tf.Tensor2D; b: tf.Tensor1D }) => {
    const xc = tf.concat(x, 3);
    const [n, h, w, ci] = xc.shape;
    return tf.matMul(xc.reshape([-1, ci!]), p.w).add(p.b).reshape([n!, h!, w!, p.w.shape[1]]) as tf.Tensor4D;
  };
  let a = z1;
  let b = z2;
  let m = st.m;
  const h: tf.Tensor4D[] = [];
  const c: tf.Tensor4D[] = [];
  layers.forEach((p, l) => {
    const [i1, f1, g1] = tf.split(cv([a, st.h[l]!, st.c[l]!], p.cell.g1), 3, 3);
    const cn = tf.sigmoid(f1!).mul(st.c[l]!).add(tf.sigmoid(i1!).mul(tf.tanh(g1!))) as tf.Tensor4D;
    const [i2, f2, g2] = tf.split(cv([a, m, cn], p.cell.g2), 3, 3);
    const mn = tf.sigmoid(f2!).mul(m).add(tf.sigmoid(i2!).mul(tf.tanh(g2!))) as tf.Tensor4D;
    const o = tf.sigmoid(cv([a, st.h[l]!, cn, mn], p.cell.o));
    const hn = o.mul(tf.tanh(c1([cn, mn], p.cell.w11))) as tf.Tensor4D;
    const A = tf.sigmoid(c1([hn], p.att));
    const b2 = tf.sub(1, A).mul(b).add(A.mul(hn)) as tf.Tensor4D;
    h.push(hn);
    c.push(cn);
    m = mn;
    b = a;
    a = b2;
  });
  return { z1: a, z2: b, state: { h, c, m } };
}

test('predictor step equals the plain time-major formulas over two steps (cpu)', async () => {
  await initBackend('cpu');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 11);
  const layers = layersOf(model);
  const B = 2;
  const [t, h, w, c] = model.latentShape();
  const zs = [0, 1].map((i) => tf.randomNormal([t * B, h, w, c], 0, 1, 'float32', 30 + i) as tf.Tensor4D);
  const kern = layers.map((p) => prepareLayer(p));
  let ours: PredictorState = zeroState(2, pack(zs[0]!));
  let ref = { h: [0, 1].map(() => tf.zerosLike(zs[0]!)), c: [0, 1].map(() => tf.zerosLike(zs[0]!)), m: tf.zerosLike(zs[0]!) };
  for (let step = 0; step < 2; step++) {
    const z1 = zs[step]!;
    const z2 = zs[1 - step]!.mul(0.5) as tf.Tensor4D;
    const r = predictorStep(kern, pack(z1), pack(z2), ours);
    const q = referenceStep(layers, z1, z2, ref);
    const un = (x: tf.Tensor4D) => unpack(x).reshape([t * B, h, w, c]);
    assert.ok(maxErr(un(r.z1), q.z1) < 1e-5, `z1 step ${step}: ${maxErr(un(r.z1), q.z1)}`);
    assert.ok(maxErr(un(r.z2), q.z2) < 1e-5, `z2 step ${step}`);
    assert.ok(maxErr(un(r.state.m), q.state.m) < 1e-5, `m step ${step}`);
    r.state.h.forEach((x, l) => assert.ok(maxErr(un(x), q.state.h[l]!) < 1e-5, `h${l} step ${step}`));
    ours = r.state;
    ref = q.state;
  }
  model.dispose();
});

test('an even-depth predictor returns the halves in input order; odd depth is rejected', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  for (const depth of [2, 4]) {
    const model = CrevNet.create({ ...cfg, predictorLayers: depth }, 2);
    // close every attention gate: A = σ(−40) ≈ 0, so each layer only swaps the halves
    for (const p of layersOf(model)) {
      (p.att.w as unknown as tf.Variable).assign(tf.zerosLike(p.att.w));
      (p.att.b as unknown as tf.Variable).assign(tf.fill(p.att.b.shape, -40));
    }
    const kern = layersOf(model).map((p) => prepareLayer(p));
    const [t, h, w, c] = model.latentShape();
    const z1 = tf.randomNormal([2, h, w, t * c], 0, 1, 'float32', 1) as tf.Tensor4D;
    const z2 = tf.randomNormal([2, h, w, t * c], 5, 1, 'float32', 2) as tf.Tensor4D;
    const r = predictorStep(kern, z1, z2, zeroState(depth, z1));
    assert.ok(maxErr(r.z1, z1) < 1e-6 && maxErr(r.z2, z2) < 1e-6, `depth ${depth}`);
    model.dispose();
  }
  const model = CrevNet.create(cfg, 2);
  const kern = layersOf(model).map((p) => prepareLayer(p));
  const z = tf.zeros([2, 8, 8, 24]) as tf.Tensor4D;
  assert.throws(() => predictorStep(kern.slice(0, 1), z, z, zeroState(1, z)), /must be even/);
  assert.throws(() => CrevNet.create({ ...cfg, predictorLayers: 3 }, 1), /model\.predictorLayers must be even \(got 3\)/);
  model.dispose();
});

test('cell custom ops have the gradients of their formulas (cpu)', async () => {
  await initBackend('cpu');
  const s: [number, number, number, number] = [4, 3, 3, 6];
  const r = (i: number, std = 1) => tf.randomNormal(s, 0, std, 'float32', 40 + i) as tf.Tensor4D;
  const G = tf.randomNormal([4, 3, 3, 18], 0, 1, 'float32', 50) as tf.Tensor4D;
  const cases: [string, tf.Tensor[], (...x: tf.Tensor[]) => tf.Tensor, (...x: tf.Tensor[]) => tf.Tensor][] = [
    [
      'lstmUpdate',
      [G, r(1)],
      (g, st) => lstmUpdate(g as tf.Tensor4D, st as tf.Tensor4D),
      (g, st) => {
        const [i, f, gg] = tf.split(g!, 3, 3);
        return tf.sigmoid(f!).mul(st!).add(tf.sigmoid(i!).mul(tf.tanh(gg!.div(2))));
      },
    ],
    ['outputGate', [r(2), r(3)], (a, b) => outputGate(a as tf.Tensor4D, b as tf.Tensor4D), (a, b) => tf.sigmoid(a!).mul(tf.tanh(b!.div(2)))],
    ['attend', [r(4), r(5), r(6)], (a, h, z) => attend(a as tf.Tensor4D, h as tf.Tensor4D, z as tf.Tensor4D), (a, h, z) => tf.sub(1, tf.sigmoid(a!)).mul(z!).add(tf.sigmoid(a!).mul(h!))],
  ];
  for (const [name, inputs, ours, formula] of cases) {
    const dy = tf.randomNormal(s, 0, 1, 'float32', 60);
    assert.ok(maxErr(ours(...inputs), formula(...inputs)) < 1e-6, `${name} value`);
    const g1 = tf.grads((...x: tf.Tensor[]) => ours(...x).mul(dy).sum())(inputs);
    const g2 = tf.grads((...x: tf.Tensor[]) => formula(...x).mul(dy).sum())(inputs);
    g1.forEach((g, i) => assert.ok(maxErr(g, g2[i]!) < 1e-5, `${name} grad ${i}: ${maxErr(g, g2[i]!)}`));
  }
});
