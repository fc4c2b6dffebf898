/** Additive coupling and RevNet block: exact inverses for arbitrary F, G; unit Jacobian determinant. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { couplingForward, couplingInverse, revnetForward, revnetInverse } from '../src/model/coupling.js';

/** Arbitrary non-invertible, non-Lipschitz-bounded residuals. */
const W = () => tf.tensor2d([[1.5, -2], [3, 0.5], [-1, 2.5]], [3, 2]);
const F = (x: tf.Tensor) => tf.tidy(() => tf.relu(tf.matMul(x as tf.Tensor2D, W().transpose())).square().matMul(tf.ones([3, 2])).mul(0.7));
const G = (x: tf.Tensor) => tf.tidy(() => tf.sin(x.mul(3)).mul(5).add(x.abs()));

function det(m: number[][]): number {
  const a = m.map((r) => [...r]);
  const n = a.length;
  let d = 1;
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let r = i + 1; r < n; r++) if (Math.abs(a[r]![i]!) > Math.abs(a[p]![i]!)) p = r;
    if (a[p]![i] === 0) return 0;
    if (p !== i) {
      [a[p], a[i]] = [a[i]!, a[p]!];
      d = -d;
    }
    d *= a[i]![i]!;
    for (let r = i + 1; r < n; r++) {
      const f = a[r]![i]! / a[i]![i]!;
      for (let c = i; c < n; c++) a[r]![c]! -= f * a[i]![c]!;
    }
  }
  return d;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`coupling and RevNet inverses are exact for arbitrary F, G (${backend})`, async () => {
    await initBackend(backend);
    const x1 = tf.randomNormal([5, 2], 0, 1, 'float32', 1);
    const x2 = tf.randomNormal([5, 2], 0, 1, 'float32', 2);
    const [y1, y2] = couplingForward(x1, x2, F);
    assert.equal(y2, x2, 'y2 = x2');
    const [r1] = couplingInverse(y1, y2, F);
    // exact up to the float rounding of (x1 + F) − F: a few ulps of |F|
    const scale = 1 + tf.max(tf.abs(F(x2))).dataSync()[0]!;
    assert.ok(scale > 10, 'F is not small');
    const err = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    assert.ok(err(r1, x1) <= 4 * 2 ** -23 * scale, `coupling: ${err(r1, x1)}`);
    const [u1, u2] = revnetForward(x1, x2, F, G);
    const [v1, v2] = revnetInverse(u1, u2, F, G);
    const scale2 = 1 + tf.max(tf.abs(u1)).dataSync()[0]! + tf.max(tf.abs(G(u1))).dataSync()[0]!;
    assert.ok(err(v2, x2) <= 8 * 2 ** -23 * scale2, `revnet x2: ${err(v2, x2)}`);
    assert.ok(err(v1, x1) <= 8 * 2 ** -23 * scale2 * 10, `revnet x1: ${err(v1, x1)}`);
    tf.dispose([x1, x2, y1, r1, u1, u2, v1, v2]);
  });
}

test('the additive coupling has Jacobian determinant 1 (central differences)', async () => {
  await initBackend('cpu');
  const x = [0.3, -1.2, 0.8, 0.45]; // (x1 | x2), 2 + 2
  const f = (v: number[]) =>
    tf.tidy(() => {
      const [y1, y2] = couplingForward(tf.tensor2d([v.slice(0, 2)]), tf.tensor2d([v.slice(2)]), (u) => tf.tanh(F(u)).add(G(u)));
      return [...y1.dataSync(), ...y2.dataSync()];
    });
  const eps = 1e-2;
  const jac: number[][] = [[], [], [], []];
  for (let j = 0; j < 4; j++) {
    const p = [...x];
    const m = [...x];
    p[j]! += eps;
    m[j]! -= eps;
    const fp = f(p);
    const fm = f(m);
    for (let i = 0; i < 4; i++) jac[i]![j] = (fp[i]! - fm[i]!) / (2 * eps);
  }
  // not a trivial Jacobian: the coupling block is non-zero
  assert.ok(Math.abs(jac[0]![2]!) + Math.abs(jac[1]![3]!) > 0.1);
  assert.ok(Math.abs(det(jac) - 1) < 1e-3, `det = ${det(jac)}`);
});
