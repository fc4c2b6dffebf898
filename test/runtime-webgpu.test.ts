/**
 * The webgpu backend (src/runtime/webgpu.ts): adapter classification, GPU errors surfacing at the next
 * read, and the model on it against cpu/wasm: forward pass, gradient, 10→10 rollout of the tiny
 * model, the bundled model's prediction of the sample video, no tensor leaks over 100 predict calls.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../src/runtime/backend.js';
import { stockKernel } from '../src/runtime/kernels/index.js';
import { describeAdapter, isSoftwareAdapter, settleWebGpu, webGpuAdapter } from '../src/runtime/webgpu.js';
import { parseConfig } from '../src/model/config.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { defaultModelDir } from '../src/model/pretrained.js';
import { loadClip } from '../src/predict/predict.js';
import { ROOT } from './cli-helpers.js';
import { webgpuSkipReason } from './webgpu-helpers.js';

test('software adapters are recognised by the fallback flag or by name', () => {
  const hw = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3080' };
  assert.equal(isSoftwareAdapter(hw), false);
  assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M2' }), false);
  assert.equal(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'microsoft', architecture: '', device: '', description: 'Microsoft Basic Render Driver' }), true);
  assert.equal(isSoftwareAdapter({ ...hw, isFallbackAdapter: true }), true);
  assert.equal(
    describeAdapter({ ...hw, software: false, maxBufferSize: 1, maxStorageBufferBindingSize: 1 }),
    'NVIDIA GeForce RTX 3080 (nvidia, ampere)',
  );
});

const skip = await webgpuSkipReason();
after(() => shutdownBackend());
const gpuTest = (name: string, fn: () => Promise<void>) => test(name, skip ? { skip } : {}, fn);

async function read(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}
function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[i]!))));
  return m;
}

gpuTest('the adapter is reported with its limits', async () => {
  await initBackend('webgpu');
  const a = webGpuAdapter();
  assert.ok(a);
  assert.ok(a.description.length > 0 || a.device.length > 0);
  assert.ok(a.maxBufferSize > 0 && a.maxStorageBufferBindingSize > 0);
});

gpuTest('a GPU error (invalid WGSL) fails the next read instead of returning garbage; dataSync says to use data()', async () => {
  await initBackend('webgpu');
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  try {
    const x = tf.tidy(() => tf.add(tf.ones([2, 3, 4, 5, 6]), 0));
    const stock = stockKernel('PadV2', 'webgpu')!;
    const info = stock({ inputs: { x }, backend: tf.engine().backend, attrs: { paddings: [[0, 0], [1, 1], [0, 0], [0, 0], [0, 0]], constantValue: 0 } as unknown as tf.NamedAttrMap });
    const y = tf.engine().makeTensorFromTensorInfo(info as tf.TensorInfo);
    await assert.rejects(y.data(), /^Error: webgpu: .*cannot index type 'vec5'.*PadProgram/);
    await settleWebGpu();
    tf.dispose([x, y]);
    const z = tf.tidy(() => tf.add(tf.ones([8]), 1));
    assert.throws(() => z.dataSync(), /synchronous read .* not possible in Node; use await data\(\)/);
    assert.deepEqual(Array.from(await z.data()), new Array(8).fill(2), 'the backend works on after the error');
    z.dispose();
  } finally {
    tf.env().set('WEBGPU_CPU_FORWARD', true);
  }
});

/** loss, gradients and a 10→10 rollout of the tiny model on `backend` */
async function tinyRun(backend: 'cpu' | 'webgpu') {
  await initBackend(backend);
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 4);
  const [h, w, c] = cfg.imageSize;
  const seq = tf.randomUniform([5, 2, h, w, c], 0, 1, 'float32', 13) as tf.Tensor5D;
  const ctx = tf.randomUniform([10, 1, h, w, c], 0, 1, 'float32', 14) as tf.Tensor5D;
  try {
    const [z1, z2] = model.encode(seq.slice([0, 0, 0, 0, 0], [3, 2, h, w, c]) as tf.Tensor5D);
    const latent = await read(tf.concat([z1.reshape([-1]), z2.reshape([-1])]));
    tf.dispose([z1, z2]);
    const { value, grads } = tf.variableGrads(() => model.loss(seq), model.trainableVariables());
    const loss = (await value.data())[0]!;
    const g: Float32Array[] = [];
    for (const v of model.trainableVariables()) g.push(await read(grads[v.name]!));
    tf.dispose([value, ...Object.values(grads)]);
    const p = model.predict(ctx, 10);
    const rollout = await read(p);
    p.dispose();
    return { latent, loss, grads: g, rollout };
  } finally {
    tf.dispose([seq, ctx]);
    model.dispose();
  }
}

gpuTest('tiny model on webgpu = cpu: forward pass, loss gradient, 10→10 rollout', async () => {
  const cpu = await tinyRun('cpu');
  const gpu = await tinyRun('webgpu');
  assert.ok(maxAbs(gpu.latent, cpu.latent) < 1e-4, `encoder ${maxAbs(gpu.latent, cpu.latent)}`);
  assert.ok(Math.abs(gpu.loss - cpu.loss) < 1e-5 * cpu.loss, `loss ${gpu.loss} vs ${cpu.loss}`);
  let num = 0;
  let den = 0;
  cpu.grads.forEach((g, i) => g.forEach((v, j) => {
    num += (v - gpu.grads[i]![j]!) ** 2;
    den += v * v;
  }));
  assert.ok(Math.sqrt(num / den) < 1e-4, `gradient: global relative difference ${Math.sqrt(num / den)}`);
  assert.ok(maxAbs(gpu.rollout, cpu.rollout) < 1e-4, `rollout ${maxAbs(gpu.rollout, cpu.rollout)}`);
});

gpuTest('100 predict calls on webgpu leave the tensor count flat', async () => {
  await initBackend('webgpu');
  // smaller than tiny (lavapipe spends ~1 ms per kernel): one stride-2 block at 16×16, 2 layers
  const cfg = parseConfig({ model: { imageSize: [16, 16, 1], nBlocks: [1], strides: [2], predictorLayers: 2 } }, 'test', 'micro');
  const model = CrevNet.create(cfg, 4);
  const ctx = tf.randomUniform([3, 1, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
  const warm = model.predict(ctx, 1);
  await warm.data();
  warm.dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    const p = model.predict(ctx, 1);
    await p.data();
    p.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(ctx);
  model.dispose();
});

/** The bundled model's prediction of the sample video, as `crevnet predict` computes it (float, clamped). */
async function predictSample(backend: 'wasm' | 'webgpu', context: number, horizon: number): Promise<Float32Array> {
  await initBackend(backend);
  const { model } = await loadCheckpoint(defaultModelDir());
  try {
    const [h, w] = model.config.imageSize;
    const clip = await loadClip(join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4'), { width: w, height: h }, { context, horizon });
    const data = new Float32Array(context * h * w);
    clip.context.forEach((f, t) => f.forEach((v, i) => (data[t * h * w + i] = v / 255)));
    const ctx = tf.tensor5d(data, [context, 1, h, w, 1]);
    const p = model.predict(ctx, horizon);
    const out = await read(p);
    tf.dispose([ctx, p]);
    return out;
  } finally {
    model.dispose();
  }
}

// 4 of the command's 10 predicted frames keep lavapipe's time down (all 10: 1.5e-6, docs/gpu.md)
gpuTest('predict on the sample video: webgpu matches wasm to 1e-3', async () => {
  const a = await predictSample('wasm', 10, 4);
  const b = await predictSample('webgpu', 10, 4);
  const d = maxAbs(a, b);
  process.stdout.write(`# sample video 10→4, max |webgpu − wasm| = ${d.toExponential(2)}\n`);
  assert.ok(d <= 1e-3, `max abs difference ${d}`);
});
