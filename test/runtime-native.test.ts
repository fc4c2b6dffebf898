/**
 * The native backend (src/runtime/kernels/native.ts over native/src/crevnet_native.c): each replaced
 * kernel against the wasm kernel it replaced (forward, fused bias and activations, both gradients,
 * matmuls with transposes and batch broadcasts, the fallbacks), the model's rollout and training
 * gradient against wasm, no tensor leaks, and the addon's refusal of bad arguments.
 * In CI (CI=true) a missing addon fails: .ci/run installs OpenBLAS so that `npm ci` builds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, backendName, initBackend } from '../src/runtime/backend.js';
import { installNativeKernels, nativeKernelsInstalled, removeNativeKernels } from '../src/runtime/kernels/index.js';
import { loadNativeAddon } from '../src/runtime/native-addon.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { lossOptions } from '../src/model/crevnet-loss.js';
import { runCli } from './cli-helpers.js';

async function nativeSkipReason(): Promise<string | undefined> {
  try {
    await initBackend('native');
    return undefined;
  } catch (err) {
    const reason = `native tests skipped: ${(err as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`CI needs the native kernels (OpenBLAS, installed by .ci/run): ${reason}`);
    process.stderr.write(`${reason}\n`);
    return reason;
  }
}

const skip = await nativeSkipReason();
const nativeTest = (name: string, fn: () => Promise<void> | void) => test(name, skip ? { skip } : {}, fn);

/** fn's outputs with the native kernels and with the wasm kernels they replaced */
async function bothWays(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ native: Float32Array[]; wasm: Float32Array[] }> {
  const run = async () => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const data = await Promise.all(list.map(async (t) => Float32Array.from(await t.data())));
    tf.dispose(list);
    return data;
  };
  assert.ok(nativeKernelsInstalled());
  const native = await run();
  removeNativeKernels();
  try {
    return { native, wasm: await run() };
  } finally {
    installNativeKernels(loadNativeAddon());
  }
}

function assertClose(a: Float32Array[], b: Float32Array[], tol: number, what: string, atol = 0): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length, `${what}: output ${i} sizes`);
    let scale = 1e-6;
    let err = 0;
    for (let j = 0; j < x.length; j++) {
      scale = Math.max(scale, Math.abs(y[j]!));
      err = Math.max(err, Math.abs(x[j]! - y[j]!));
      assert.ok(Number.isFinite(x[j]!), `${what}: non-finite value`);
    }
    assert.ok(err <= tol * scale + atol, `${what}: output ${i} differs by ${err} (scale ${scale})`);
  });
}

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

nativeTest('native is reported as the backend, over the wasm backend, with its BLAS', () => {
  assert.equal(backendName(), 'native');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(backendInfo()!.blas ?? '', /\S/);
});

const convCases: { name: string; x: number[]; f: number[]; strides: number | [number, number]; pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]; dilations?: number }[] = [
  { name: '3x3 same', x: [2, 9, 11, 5], f: [3, 3, 5, 7], strides: 1, pad: 'same' },
  { name: '3x3 stride 2 valid', x: [2, 9, 11, 5], f: [3, 3, 5, 7], strides: 2, pad: 'valid' },
  { name: '3x2 stride 2 same', x: [1, 10, 7, 4], f: [3, 2, 4, 6], strides: 2, pad: 'same' },
  { name: 'explicit padding', x: [3, 8, 8, 6], f: [3, 3, 6, 5], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'dilation 2', x: [2, 12, 12, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same', dilations: 2 },
  { name: '1x1', x: [4, 6, 6, 16], f: [1, 1, 16, 8], strides: 1, pad: 'valid' },
  { name: '1x1 stride 2', x: [2, 7, 7, 3], f: [1, 1, 3, 5], strides: 2, pad: 'same' },
  { name: 'model-sized gate conv', x: [4, 16, 16, 72], f: [3, 3, 72, 72], strides: 1, pad: 'same' },
];

for (const c of convCases) {
  nativeTest(`conv2d ${c.name}: forward and both gradients match wasm`, async () => {
    const { native, wasm } = await bothWays(() => {
      const x = rand(c.x, 1);
      const f = rand(c.f, 2);
      const conv = (xx: tf.Tensor4D, ff: tf.Tensor4D) => tf.conv2d(xx, ff, c.strides, c.pad, 'NHWC', c.dilations ?? 1);
      const y = conv(x as tf.Tensor4D, f as tf.Tensor4D);
      if ((c.dilations ?? 1) > 1) return [y]; // tfjs has no conv gradient with dilation
      const r = rand(y.shape, 3);
      const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(conv(xx as tf.Tensor4D, ff as tf.Tensor4D), r)))([x, f]);
      return [y, dx!, df!];
    });
    assertClose(native, wasm, 1e-5, c.name);
  });
}

for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const) {
  nativeTest(`fused conv2d with a bias and ${activation} matches wasm`, async () => {
    const { native, wasm } = await bothWays(() => [
      tf.fused.conv2d({ x: rand([2, 8, 8, 6], 4) as tf.Tensor4D, filter: rand([3, 3, 6, 10], 5) as tf.Tensor4D, strides: 1, pad: 'same', bias: rand([10], 6), activation, leakyreluAlpha: 0.1 }),
      tf.fused.conv2d({ x: rand([2, 8, 8, 6], 4) as tf.Tensor4D, filter: rand([1, 1, 6, 10], 5) as tf.Tensor4D, strides: 1, pad: 'valid', bias: rand([10], 6), activation }),
    ]);
    assertClose(native, wasm, 1e-5, activation);
  });
}

nativeTest('what the native kernels do not cover goes to the wasm kernels (PReLU)', async () => {
  const { native, wasm } = await bothWays(() =>
    tf.fused.conv2d({ x: rand([1, 5, 5, 2], 7) as tf.Tensor4D, filter: rand([3, 3, 2, 3], 8) as tf.Tensor4D, strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: tf.tensor1d([0.1, 0.2, 0.3]) }),
  );
  assertClose(native, wasm, 1e-5, 'prelu');
});

const matCases: { name: string; a: number[]; b: number[]; ta?: boolean; tb?: boolean }[] = [
  { name: '2-D', a: [7, 5], b: [5, 9] },
  { name: 'batched', a: [3, 4, 5], b: [3, 5, 6] },
  { name: 'transpose a', a: [3, 5, 4], b: [3, 5, 6], ta: true },
  { name: 'transpose b', a: [3, 4, 5], b: [3, 6, 5], tb: true },
  { name: 'both transposed', a: [2, 5, 4], b: [2, 6, 5], ta: true, tb: true },
  { name: 'a broadcast', a: [1, 4, 5], b: [3, 5, 6] },
  { name: 'b broadcast', a: [2, 3, 4, 5], b: [5, 6] },
  { name: 'b broadcast, transposed', a: [6, 4, 5], b: [1, 6, 5], tb: true },
];
for (const c of matCases) {
  nativeTest(`matMul ${c.name}: product and gradients match wasm`, async () => {
    const { native, wasm } = await bothWays(() => {
      const a = rand(c.a, 9);
      const b = rand(c.b, 10);
      const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.ta, c.tb);
      const y = mm(a, b);
      // tfjs 4.22's BatchMatMul gradient fails on broadcast batches: forward only there
      if (c.a.length !== c.b.length || c.a[0] !== c.b[0]) return [y];
      const r = rand(y.shape, 11);
      const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(mm(x, z), r)))([a, b]);
      return [y, da!, db!];
    });
    assertClose(native, wasm, 1e-5, c.name);
  });
}

nativeTest('fused matMul with a bias and relu matches matMul, add and relu on wasm', async () => {
  // against the unfused ops: tfjs-backend-wasm 4.22's own _FusedMatMul adds the bias wrongly when the batch is
  // above 1 or b is transposed
  const fused = () => tf.fused.matMul({ a: rand([3, 4, 5], 12), b: rand([3, 5, 6], 13), bias: rand([6], 14), activation: 'relu' });
  const unfused = () => tf.relu(tf.add(tf.matMul(rand([3, 4, 5], 12), rand([3, 5, 6], 13)), rand([6], 14)));
  const { native } = await bothWays(fused);
  const { wasm } = await bothWays(unfused);
  assertClose(native, wasm, 1e-5, 'fused matMul');
  const flat = (await bothWays(() => tf.fused.matMul({ a: rand([7, 5], 15), b: rand([6, 5], 16), transposeB: true, bias: rand([6], 17), activation: 'sigmoid' }))).native;
  const reference = (await bothWays(() => tf.sigmoid(tf.add(tf.matMul(rand([7, 5], 15), rand([6, 5], 16), false, true), rand([6], 17))))).wasm;
  assertClose(flat, reference, 1e-5, 'fused 2-D matMul, b transposed');
});

const transposeCases: [number[], number[]][] = [
  [[5, 7], [1, 0]],
  [[4096, 4, 3, 2], [0, 3, 1, 2]],
  [[3, 64, 24], [1, 0, 2]],
  [[2, 3, 4, 5], [3, 1, 2, 0]],
  [[2, 1, 4, 1, 3], [4, 3, 2, 1, 0]],
  [[2, 3, 1, 4, 2, 3], [5, 0, 3, 1, 4, 2]],
  [[1, 6, 1, 5], [3, 2, 1, 0]],
  [[4, 6], [0, 1]],
  [[3, 1, 5], [1, 0, 2]],
];
nativeTest('transpose matches wasm for every rank to 6, with size-1 axes and axes that stay neighbours', async () => {
  for (const [shape, perm] of transposeCases) {
    const { native, wasm } = await bothWays(() => tf.transpose(rand(shape, 30), perm));
    assertClose(native, wasm, 0, `transpose ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
  }
  const ints = await bothWays(() => tf.cast(tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [1, 0]), 'float32'));
  assertClose(ints.native, ints.wasm, 0, 'int32 transpose (the wasm kernel)');
});

nativeTest('the addon refuses sizes that do not match the geometry with an error, not a crash', () => {
  const addon = loadNativeAddon();
  const dims = Int32Array.of(1, 4, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 4, 4);
  assert.throws(() => addon.conv2d(new Float32Array(31), new Float32Array(36), new Float32Array(32), null, dims, 0, 0), /sizes do not match/);
  assert.throws(() => addon.conv2d(new Float32Array(32), new Float32Array(36), new Float32Array(32), null, Int32Array.of(1, 2), 0, 0), /bad arguments/);
  assert.throws(() => addon.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(5), null, Int32Array.of(1, 1, 1, 2, 2, 3, 0, 0), 0, 0), /sizes do not match/);
  assert.throws(() => addon.transpose(new Float32Array(6), new Float32Array(6), Int32Array.of(2, 3), Int32Array.of(0, 0)), /bad arguments/);
  assert.throws(() => addon.transpose(new Float32Array(6), new Float32Array(5), Int32Array.of(2, 3), Int32Array.of(1, 0)), /sizes do not match/);
});

nativeTest('the model: rollout and training gradients match wasm; no tensors leak', async () => {
  const tiny = await loadConfig('tiny');
  const small = await loadConfig('small');
  const model = CrevNet.create(tiny, 3);
  const smallModel = CrevNet.create(small, 4);
  const seq = tf.randomUniform([8, 2, 32, 32, 1], 0, 1, 'float32', 21) as tf.Tensor5D;
  const [h, w, c] = small.imageSize;
  const context = tf.randomUniform([10, 2, h, w, c], 0, 1, 'float32', 22) as tf.Tensor5D;
  try {
    // predictions first: a training-mode loss moves the BatchNorm running statistics the rollout uses
    const rollouts = await bothWays(() => [model.predict(seq.slice([0], [4]), 4), smallModel.predict(context, 10)]);
    assertClose(rollouts.native, rollouts.wasm, 1e-4, 'rollouts', 1e-6);
    const { native, wasm } = await bothWays(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(seq, lossOptions({ mode: 'rollout', context: 4, l1: 1, ssim: 0 })));
      return [value, ...Object.values(grads)];
    });
    assertClose(native, wasm, 1e-4, 'loss and gradients', 1e-6);
    tf.dispose(smallModel.predict(context, 10)); // keeps the filters it prepares
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(smallModel.predict(context, 10));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    tf.dispose([seq, context]);
    model.dispose();
    smallModel.dispose();
  }
});

nativeTest('crevnet info: auto picks native and names its BLAS', async () => {
  const r = await runCli(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { backend: string; blas: string | null };
  assert.equal(j.backend, 'native');
  assert.match(j.blas ?? '', /\S/);
  const text = await runCli(['--backend', 'native', 'info']);
  assert.match(text.stdout, /^backend +native/m);
  assert.match(text.stdout, /^blas +\S/m);
});

nativeTest('switching to wasm in the same process puts the wasm kernels back; native installs them again', async () => {
  try {
    const info = await initBackend('wasm');
    assert.equal(info.backend, 'wasm');
    assert.equal(backendName(), 'wasm');
    assert.equal(nativeKernelsInstalled(), false);
  } finally {
    const info = await initBackend('native');
    assert.equal(info.backend, 'native');
    assert.equal(nativeKernelsInstalled(), true);
  }
});
