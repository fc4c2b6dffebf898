/**
 * The composed kernels of src/runtime/kernels/ against the stock ones: Conv2DBackpropFilter (cpu and
 * wasm) against a numerical gradient; wasm's Conv2DBackpropInput and copy-free Slice/SplitV/Unpack/
 * StridedSlice against the cpu backend's stock kernels; and that the wasm backend really runs them
 * (Conv2DBackpropInput as one forward Conv2D; the slices without reading their input out of the
 * wasm heap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { registerComposedKernels } from '../src/runtime/kernels/index.js';
import { relErr } from './numeric-helpers.js';

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

/** Calls of kernel `name` on the current backend while `f` runs (the kernel is wrapped, then restored). */
function kernelCalls(name: string, f: () => void): number {
  const stock = tf.getKernel(name, tf.getBackend());
  assert.ok(stock, `${name} is registered on ${tf.getBackend()}`);
  let calls = 0;
  tf.unregisterKernel(name, stock.backendName);
  tf.registerKernel({ ...stock, kernelFunc: (args) => (calls++, stock.kernelFunc(args)) });
  try {
    f();
  } finally {
    tf.unregisterKernel(name, stock.backendName);
    tf.registerKernel(stock);
  }
  return calls;
}

/** dx of a stride-2 3×3 conv through the Conv2DBackpropInput kernel itself. */
function backpropInput(): void {
  const dy = tf.ones([1, 4, 4, 3]);
  const filter = tf.ones([3, 3, 2, 3]);
  const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
    strides: [2, 2],
    pad: 'same',
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    inputShape: [1, 8, 8, 2],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  tf.dispose([dy, filter, dx]);
}

test('wasm runs Conv2DBackpropInput as one forward Conv2D (the stock kernel is a scalar loop); cpu keeps its stock kernel', async () => {
  await initBackend('wasm');
  assert.equal(kernelCalls('Conv2D', backpropInput), 1);
  await initBackend('cpu');
  assert.equal(kernelCalls('Conv2D', backpropInput), 0);
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

/** Calls of the backend's readSync (a copy of a whole tensor out of the wasm heap) while `f` runs. */
function wholeTensorReads(f: () => tf.Tensor | tf.Tensor[]): number {
  const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown };
  const readSync = backend.readSync;
  let calls = 0;
  backend.readSync = function (this: unknown, ...a: unknown[]) {
    calls++;
    return readSync.apply(this, a);
  };
  let out: tf.Tensor | tf.Tensor[] = [];
  try {
    out = f();
  } finally {
    backend.readSync = readSync;
  }
  tf.dispose(out);
  return calls;
}

test('wasm Slice, SplitV, Unpack and stride-1 StridedSlice do not copy their input out of the heap', async () => {
  await initBackend('wasm');
  const x = iota([4, 5, 6, 3]);
  try {
    assert.equal(wholeTensorReads(() => x.slice([1, 1, 2, 0], [2, 3, 3, 3])), 0, 'Slice');
    assert.equal(wholeTensorReads(() => tf.split(x, 3, 3)), 0, 'SplitV');
    assert.equal(wholeTensorReads(() => tf.unstack(x, 1)), 0, 'Unpack');
    assert.equal(wholeTensorReads(() => tf.stridedSlice(x, [1, 0, 2, 0], [3, 5, 5, 3], [1, 1, 1, 1])), 0, 'StridedSlice');
    // the stock kernel (still used for strings) does: the count sees it
    const s = tf.tensor(['a', 'b', 'c']);
    assert.ok(wholeTensorReads(() => s.slice([1], [1])) > 0, 'stock Slice on strings');
    s.dispose();
  } finally {
    x.dispose();
  }
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
