/**
 * The webgpu kernels that fail above rank 4 (src/runtime/kernels/webgpu-rank.ts): for each, the stock
 * tfjs-backend-webgpu 4.22.0 kernel fails on the case, and the registered one matches the cpu backend.
 * Kernels run on the GPU (WEBGPU_CPU_FORWARD off: tfjs would otherwise run small ops on the CPU).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/runtime/backend.js';
import { settleWebGpu } from '../src/runtime/webgpu.js';
import { mergeBroadcast, mergePadAxes, stockKernel } from '../src/runtime/kernels/index.js';
import { webgpuSkipReason } from './webgpu-helpers.js';

test('mergeBroadcast merges axes both operands treat alike and drops size-1 output axes', () => {
  assert.deepEqual(mergeBroadcast([3, 3, 3, 24, 24], [24]), { a: [648, 24], b: [1, 24], out: [648, 24] });
  assert.deepEqual(mergeBroadcast([2, 3, 4, 5, 7], [1, 3, 1, 1, 7]), { a: [2, 3, 20, 7], b: [1, 3, 1, 7], out: [2, 3, 20, 7] });
  assert.deepEqual(mergeBroadcast([2, 1, 4, 5, 6, 7], [2, 1, 4, 5, 6, 7]), { a: [1680], b: [1680], out: [1680] });
  assert.deepEqual(mergeBroadcast([2, 3, 1, 1, 1], [1, 1, 4, 5, 6]), { a: [6, 1], b: [1, 120], out: [6, 120] });
});

test('mergePadAxes: a padded axis carries the unpadded axes after it, the leading ones merge', () => {
  // the zero-dilation of a stride-2 conv's input gradient
  const pads: [number, number][] = [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]];
  assert.deepEqual(mergePadAxes([10, 8, 1, 8, 1, 12], new Set([2, 4]), pads), { shape: [80, 8, 12], pads: [[0, 0], [0, 8], [0, 12]] });
  assert.deepEqual(mergePadAxes([2, 3, 4], new Set([0]), [[1, 2], [0, 0], [0, 0]]), { shape: [24], pads: [[12, 24]] });
});

const skip = await webgpuSkipReason();
after(() => shutdownBackend());

/** deterministic values in [−0.5, 0.5) */
function values(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = s / 2147483648 - 0.5;
  }
  return v;
}
const input = (shape: number[], seed: number) => ({ shape, v: values(shape.reduce((a, b) => a * b, 1), seed) });
type Input = ReturnType<typeof input>;

/** `f` on the cpu backend and on webgpu (fresh tensors each); the webgpu data and shape and the cpu data. */
async function onBoth(f: (t: (x: Input) => tf.Tensor) => tf.Tensor): Promise<{ gpu: Float32Array; cpu: Float32Array; shape: number[] }> {
  await initBackend('cpu');
  const c = f((x) => tf.tensor(x.v, x.shape));
  const cpu = Float32Array.from(await c.data());
  c.dispose();
  await initBackend('webgpu');
  const before = tf.memory().numTensors;
  const ids = tf.engine().backend.numDataIds();
  const y = tf.tidy(() => f((x) => tf.tensor(x.v, x.shape)));
  const gpu = Float32Array.from(await y.data());
  const shape = y.shape;
  y.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  assert.equal(tf.engine().backend.numDataIds(), ids, 'no GPU buffers leaked by the kernel');
  return { gpu, cpu, shape };
}

function assertClose(r: { gpu: Float32Array; cpu: Float32Array }, tol = 1e-5): void {
  assert.equal(r.gpu.length, r.cpu.length);
  let worst = 0;
  r.gpu.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - r.cpu[i]!))));
  assert.ok(worst <= tol, `max |webgpu − cpu| = ${worst}`);
}

/** The stock kernel (no wrapper) on GPU-resident `inputs`: its failure message, or 'no failure'. */
async function stockFailure(kernel: string, inputs: tf.NamedTensorMap | tf.Tensor[], attrs: object = {}): Promise<string> {
  const stock = stockKernel(kernel, 'webgpu');
  assert.ok(stock, `${kernel} is wrapped on webgpu`);
  const backend = tf.engine().backend;
  const tensors = (Array.isArray(inputs) ? inputs : Object.values(inputs)) as tf.Tensor[];
  let failure: string | undefined;
  try {
    const out = stock({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap });
    const y = tf.engine().makeTensorFromTensorInfo((Array.isArray(out) ? out[0] : out)!);
    try {
      await y.data();
    } finally {
      y.dispose();
    }
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    tf.dispose(tensors);
  }
  // the shader and pipeline errors arrive once the queued dispatches are submitted
  const late = await settleWebGpu();
  return failure ?? late[0] ?? 'no failure';
}

const gpuTest = (name: string, fn: () => Promise<void>) =>
  test(name, skip ? { skip } : {}, async () => {
    await initBackend('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    try {
      await fn();
    } finally {
      tf.env().set('WEBGPU_CPU_FORWARD', true);
    }
  });

/** a GPU-resident tensor (a fresh tf.tensor lives on the CPU until a kernel uploads it) */
const T = (x: Input) => tf.tidy(() => tf.add(tf.tensor(x.v, x.shape), 0));

gpuTest('binary ops at rank 5/6 with a short 1-D operand (BinaryOpProgram indexes a vec5): fixed', async () => {
  const a5 = input([3, 3, 3, 24, 24], 1); // the conv3d filter × per-channel scale of the model
  const v24 = input([24], 2);
  assert.match(await stockFailure('Multiply', { a: T(a5), b: T(v24) }), /cannot index type 'vec5'/);
  assertClose(await onBoth((t) => tf.mul(t(a5), t(v24))));
  const a6 = input([2, 3, 2, 2, 3, 7], 3);
  const v7 = input([7], 4);
  assert.match(await stockFailure('Add', { a: T(a6), b: T(v7) }), /cannot index type 'vec6'/);
  assertClose(await onBoth((t) => tf.add(t(a6), t(v7))));
  assertClose(await onBoth((t) => tf.squaredDifference(t(v7), t(a6))));
  assertClose(await onBoth((t) => tf.div(t(a6), t(input([1, 3, 1, 1, 3, 1], 5))).sub(t(input([2, 1, 1, 2, 1, 1], 6)))));
  assertClose(await onBoth((t) => tf.cast(tf.greater(t(a6), t(v7)), 'float32')));
});

gpuTest('PadV2 at rank 5/6 (PadProgram indexes a vec5/vec6): fixed, incl. the stride-2 gradient dilation', async () => {
  const x = input([10, 8, 1, 8, 1, 12], 7);
  const pads: [number, number][] = [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]];
  assert.match(await stockFailure('PadV2', { x: T(x) }, { paddings: pads, constantValue: 0 }), /cannot index type 'vec6'/);
  assertClose(await onBoth((t) => tf.pad(t(x), pads)));
  const x5 = input([2, 3, 4, 5, 6], 8);
  assertClose(await onBoth((t) => tf.pad(t(x5), [[0, 0], [1, 1], [0, 0], [0, 0], [0, 0]])));
  // every axis padded: two stages of 3 axes
  assertClose(await onBoth((t) => tf.pad(t(input([2, 3, 2, 2, 3, 4], 9)), [[1, 0], [1, 1], [1, 2], [1, 0], [1, 1], [0, 1]], -1)));
});

gpuTest('StridedSlice at rank 5/6 with strides (StridedSliceProgram indexes a vec5): fixed', async () => {
  const x5 = input([2, 3, 4, 5, 7], 10);
  assert.match(
    await stockFailure('StridedSlice', { x: T(x5) }, { begin: [0, 0, 1, 0, 0], end: [2, 3, 4, 5, 7], strides: [1, 2, 1, 1, 2], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 }),
    /cannot index type 'vec5'/,
  );
  assertClose(await onBoth((t) => tf.stridedSlice(t(x5), [0, 0, 1, 0, 0], [2, 3, 4, 5, 7], [1, 2, 1, 1, 2])));
  // negative strides to the start (end mask), and 6 sliced axes (one per stage)
  assertClose(await onBoth((t) => tf.stridedSlice(t(x5), [1, 2, 3, 4, 6], [0, 0, 0, 0, 0], [-1, -1, -2, -1, -3], 0, 0b11111)));
  assertClose(await onBoth((t) => tf.stridedSlice(t(input([2, 3, 2, 2, 3, 4], 11)), [1, 0, 1, 0, 0, 1], [2, 3, 2, 2, 3, 4], [1, 2, 1, 1, 2, 2])));
});

gpuTest('Tile and broadcastTo at rank 5/6 (a synchronous read, impossible in Node): fixed', async () => {
  const x = input([2, 3, 4, 5, 6], 12);
  assert.match(await stockFailure('Tile', { x: T(x) }, { reps: [1, 2, 1, 3, 1] }), /synchronous read/);
  assertClose(await onBoth((t) => tf.tile(t(x), [1, 2, 1, 3, 1])));
  assertClose(await onBoth((t) => tf.tile(t(input([2, 3, 2, 2, 3, 4], 13)), [2, 2, 1, 2, 2, 2])));
  assertClose(await onBoth((t) => tf.broadcastTo(t(input([1, 3, 1, 1, 1], 14)), [2, 3, 4, 5, 1])));
});

gpuTest('Reverse, Select (tf.where), Cumsum and Cumprod at rank 5/6 (rejected or mis-reshaped): fixed', async () => {
  const x5 = input([2, 3, 4, 5, 7], 15);
  assert.match(await stockFailure('Reverse', { x: T(x5) }, { dims: [1, 3] }), /must match the product of shape/);
  assertClose(await onBoth((t) => tf.reverse(t(x5), [1, 3])));
  assertClose(await onBoth((t) => tf.reverse(t(input([2, 3, 2, 2, 3, 4], 16)), [0, 2, 4])));
  assert.match(await stockFailure('Select', { condition: tf.greater(T(x5), 0), t: T(x5), e: tf.zeros(x5.shape) }), /rank 5 is not yet supported/);
  assertClose(await onBoth((t) => tf.where(tf.greater(t(x5), 0.1), t(x5), tf.onesLike(t(x5)))));
  assert.match(await stockFailure('Cumsum', { x: T(x5) }, { axis: 2, exclusive: false, reverse: false }), /rank 5 is not yet supported/);
  assertClose(await onBoth((t) => tf.cumsum(t(x5), 2)));
  assertClose(await onBoth((t) => tf.cumprod(t(x5), 3, true, true)));
});

gpuTest('AddN with more inputs than storage-buffer bindings (a rollout loss sums one term per step): fixed', async () => {
  const xs = Array.from({ length: 40 }, (_, i) => input([64, 8], 20 + i));
  assert.match(await stockFailure('AddN', xs.map(T)), /storage buffers/);
  assertClose(await onBoth((t) => tf.addN(xs.map(t))), 1e-5);
});
