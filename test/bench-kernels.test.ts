/** The composed wasm Conv2DBackpropInput kernel (src/runtime/kernels.ts) against the cpu backend's stock kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';

type Case = { x: [number, number, number, number]; k: [number, number]; cout: number; stride: number; pad: 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] };
const cases: Case[] = [
  { x: [2, 7, 8, 3], k: [3, 3], cout: 2, stride: 1, pad: 'same' },
  { x: [2, 8, 8, 3], k: [3, 3], cout: 4, stride: 2, pad: 'same' },
  { x: [2, 7, 9, 3], k: [3, 3], cout: 4, stride: 2, pad: 'same' },
  { x: [2, 10, 10, 2], k: [3, 3], cout: 5, stride: 2, pad: 'valid' },
  { x: [3, 9, 9, 2], k: [3, 3], cout: 5, stride: 2, pad: 'valid' },
  { x: [1, 6, 6, 4], k: [3, 3], cout: 3, stride: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { x: [2, 6, 5, 4], k: [1, 1], cout: 3, stride: 1, pad: 'same' },
  { x: [2, 6, 6, 4], k: [3, 2], cout: 3, stride: 1, pad: 'valid' },
];

async function dx(backend: 'wasm' | 'cpu', c: Case): Promise<{ dx: Float32Array; dw: Float32Array; leaked: number }> {
  await initBackend(backend);
  const [n, h, w, cin] = c.x;
  const x = tf.tensor4d(Float32Array.from({ length: n * h * w * cin }, (_, i) => Math.sin(0.37 * i)), c.x);
  const f = tf.tensor4d(Float32Array.from({ length: c.k[0] * c.k[1] * cin * c.cout }, (_, i) => Math.cos(0.91 * i)), [c.k[0], c.k[1], cin, c.cout]);
  const before = tf.memory().numTensors;
  const [gx, gw] = tf.grads((xi: tf.Tensor, fi: tf.Tensor) => tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.stride, c.pad).square().sum())([x, f]);
  const out = { dx: (await gx!.data()) as Float32Array, dw: (await gw!.data()) as Float32Array };
  tf.dispose([gx!, gw!]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, f]);
  return { ...out, leaked };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

for (const c of cases) {
  test(`wasm composed Conv2DBackpropInput = cpu stock: x ${c.x} k ${c.k} stride ${c.stride} pad ${JSON.stringify(c.pad)}`, async () => {
    const cpu = await dx('cpu', c);
    const wasm = await dx('wasm', c);
    assert.equal(wasm.dx.length, cpu.dx.length);
    assert.ok(relErr(wasm.dx, cpu.dx) < 1e-5, `dx rel err ${relErr(wasm.dx, cpu.dx)}`);
    assert.ok(relErr(wasm.dw, cpu.dw) < 1e-5, `dw rel err ${relErr(wasm.dw, cpu.dw)}`);
    assert.equal(wasm.leaked, 0, 'no tensors leaked on wasm');
  });
}

test('the stock wasm kernel was replaced', async () => {
  await initBackend('wasm');
  const k = tf.getKernel('Conv2DBackpropInput', 'wasm');
  assert.ok(k);
  assert.match(k.kernelFunc.toString(), /fallback|call\(/);
});
