/** The composed wasm Conv2DBackpropInput kernel (src/runtime/kernels/backprop-input.ts) against the cpu backend's stock kernel. */
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

/** Values of `f` computed on wasm (fast Slice/SplitV/Unpack) and on cpu (stock), as nested arrays. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<[unknown, unknown, number]> {
  const out: unknown[] = [];
  let leaked = 0;
  for (const b of ['wasm', 'cpu'] as const) {
    await initBackend(b);
    const before = tf.memory().numTensors;
    const r = tf.tidy(f);
    const list = Array.isArray(r) ? r : [r];
    out.push(await Promise.all(list.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: await t.array() }))));
    tf.dispose(list);
    if (b === 'wasm') leaked = tf.memory().numTensors - before;
  }
  return [out[0], out[1], leaked];
}

const iota = (shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32') =>
  dtype === 'bool' ? tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i % 3 === 0), shape, 'bool') : tf.range(0, shape.reduce((a, b) => a * b, 1), 1, dtype).reshape(shape);

const sliceCases: [string, () => tf.Tensor | tf.Tensor[]][] = [
  ['rank 1', () => iota([10]).slice([3], [4])],
  ['rank 2 rows', () => iota([5, 7]).slice([1, 0], [3, 7])],
  ['rank 2 cols', () => iota([5, 7]).slice([1, 2], [3, 4])],
  ['rank 4 channels', () => iota([3, 4, 5, 6]).slice([0, 0, 0, 2], [3, 4, 5, 3])],
  ['rank 4 middle', () => iota([3, 4, 5, 6]).slice([1, 1, 2, 0], [2, 2, 3, 6])],
  ['rank 5 axis 1', () => iota([2, 6, 3, 4, 2]).slice([0, 2, 0, 0, 0], [2, 3, 3, 4, 2])],
  ['rank 6 mixed', () => iota([2, 3, 2, 3, 2, 3]).slice([1, 0, 1, 1, 0, 1], [1, 3, 1, 2, 2, 2])],
  ['size −1 to the end', () => iota([4, 5]).slice([1, 2], [-1, -1])],
  ['empty', () => iota([4, 5]).slice([1, 2], [0, 3])],
  ['int32', () => iota([4, 5, 3], 'int32').slice([1, 1, 1], [2, 3, 2])],
  ['bool', () => iota([4, 5, 3], 'bool').slice([1, 1, 0], [2, 3, 3])],
  ['split axis 0', () => tf.split(iota([6, 4, 3]), [1, 2, 3], 0)],
  ['split channels', () => tf.split(iota([2, 3, 4, 6]), 3, 3)],
  ['split −1 size', () => tf.split(iota([5, 6]), [2, -1], 1)],
  ['unstack axis 0', () => tf.unstack(iota([3, 2, 4]), 0)],
  ['unstack axis 2', () => tf.unstack(iota([3, 2, 4]), 2)],
  ['unstack axis −1 int32', () => tf.unstack(iota([2, 3], 'int32'), -1)],
  ['stridedSlice stride 1', () => tf.stridedSlice(iota([4, 5, 6]), [1, 0, 2], [3, 5, 5], [1, 1, 1])],
  ['stridedSlice masks + shrink', () => tf.stridedSlice(iota([4, 5, 6]), [1, 0, 2], [3, 5, 5], [1, 1, 1], 2, 4, 0, 0, 1)],
  ['stridedSlice stride 2 (stock C++)', () => tf.stridedSlice(iota([4, 5, 6]), [0, 1, 0], [4, 5, 6], [2, 2, 3])],
  ['stridedSlice negative', () => tf.stridedSlice(iota([6, 4]), [-4, 0], [-1, 4], [1, 1])],
  ['stridedSlice identity', () => tf.stridedSlice(iota([3, 4]), [0, 0], [3, 4], [1, 1])],
];
for (const [name, f] of sliceCases) {
  test(`wasm copy-free Slice/SplitV/Unpack = cpu stock: ${name}`, async () => {
    const [wasm, cpu, leaked] = await onBoth(f);
    assert.deepEqual(wasm, cpu);
    assert.equal(leaked, 0);
  });
}

test('the wasm Slice, SplitV, Unpack and StridedSlice kernels were replaced', async () => {
  await initBackend('wasm');
  for (const k of ['Slice', 'SplitV', 'Unpack', 'StridedSlice']) assert.match(tf.getKernel(k, 'wasm')!.kernelFunc.toString(), /fallback/);
});
