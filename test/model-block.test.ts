/** Reversible 3-D blocks and the autoencoder: per-block inverses, full round trips, channel plans. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { maxErr } from './numeric-helpers.js';
import { UserError } from '../src/runtime/errors.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { blockForward, blockInverse, foldedBlockTensors, planBlocks, prepareBlock, prepareFoldedBlock, type BlockParams, type BlockRunning } from '../src/model/block.js';
import { splitInput } from '../src/model/autoencoder.js';
import type { NormMode } from '../src/model/norm.js';


/** Internals for block-level tests. */
function internals(m: CrevNet): { params: BlockParams[]; running: (BlockRunning | undefined)[] } {
  const any = m as unknown as { encParams: BlockParams[]; encRunning: (BlockRunning | undefined)[] };
  return { params: any.encParams, running: any.encRunning };
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`each block's inverse reconstructs its input within 1e-5, batch and running statistics (${backend})`, async () => {
    await initBackend(backend);
    const cfg = await loadConfig('small');
    const model = CrevNet.create(cfg, 3);
    const { params, running } = internals(model);
    // non-trivial running statistics so eval mode is not the identity
    for (const r of running) for (const s of [r?.norm0, r?.norm1, r?.norm2]) if (s) {
      s.mean.assign(tf.randomNormal(s.mean.shape, 0, 0.5, 'float32', 1));
      s.variance.assign(tf.randomUniform(s.variance.shape, 0.5, 2, 'float32', 2));
    }
    const clip = tf.randomUniform([3, 2, 64, 64, 1], 0, 1, 'float32', 4) as tf.Tensor5D;
    let [x1, x2] = splitInput(clip);
    for (const spec of model.blocks) {
      const k = prepareBlock(spec, params[spec.index]!);
      for (const mode of ['recompute', 'eval'] as NormMode[]) {
        const ctx = { mode, kind: 'batch' as const };
        const [a, b] = blockForward(spec, k, running[spec.index], x1, x2, ctx);
        const [r1, r2] = blockInverse(spec, k, running[spec.index], a, b, ctx);
        assert.ok(maxErr(r1, x1) < 1e-5 && maxErr(r2, x2) < 1e-5, `block ${spec.index + 1} ${mode}: ${maxErr(r1, x1)} ${maxErr(r2, x2)}`);
        tf.dispose([a, b, r1, r2].filter((t) => t !== x1 && t !== x2)); // stride 1: ψ_s is the identity
      }
      const next = blockForward(spec, k, running[spec.index], x1, x2, { mode: 'recompute', kind: 'batch' });
      tf.dispose([x1, x2].filter((t) => !next.includes(t)));
      [x1, x2] = next;
    }
    tf.dispose([x1, x2, clip]);
    model.dispose();
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`blocks with the running statistics folded into their convolutions equal the eval-mode blocks within 1e-5 (${backend})`, async () => {
    await initBackend(backend);
    const cfg = await loadConfig('small');
    const model = CrevNet.create(cfg, 5);
    const { params, running } = internals(model);
    for (const r of running) for (const s of [r?.norm0, r?.norm1, r?.norm2]) if (s) {
      s.mean.assign(tf.randomNormal(s.mean.shape, 0, 0.5, 'float32', 6));
      s.variance.assign(tf.randomUniform(s.variance.shape, 0.5, 2, 'float32', 7));
    }
    const before = tf.memory().numTensors;
    const clip = tf.randomUniform([3, 2, 64, 64, 1], 0, 1, 'float32', 8) as tf.Tensor5D;
    let [x1, x2] = tf.tidy(() => splitInput(clip));
    const ctx = { mode: 'eval' as const, kind: 'batch' as const };
    for (const spec of model.blocks) {
      const k = prepareBlock(spec, params[spec.index]!);
      const f = prepareFoldedBlock(spec, params[spec.index]!, running[spec.index]!);
      const want = blockForward(spec, k, running[spec.index], x1, x2, ctx);
      const got = blockForward(spec, f, running[spec.index], x1, x2, ctx);
      const scale = tf.tidy(() => tf.max(tf.abs(want[1])).dataSync()[0]!);
      assert.ok(maxErr(got[1], want[1]) <= 1e-5 * Math.max(1, scale), `block ${spec.index + 1}: ${maxErr(got[1], want[1])}`);
      const [r1, r2] = blockInverse(spec, f, running[spec.index], got[0], got[1], ctx);
      assert.ok(maxErr(r1, x1) < 1e-5 && maxErr(r2, x2) < 1e-5, `block ${spec.index + 1} inverse`);
      assert.throws(() => blockForward(spec, f, running[spec.index], x1, x2, { mode: 'train', kind: 'batch' }), /eval mode only/);
      const prepared = [k.conv1, k.conv2, k.conv3].flatMap((c) => [c.f, c.fAdj, c.bias] as (tf.Tensor | undefined)[]).filter((t): t is tf.Tensor => t !== undefined);
      tf.dispose([...got, r1, r2, ...foldedBlockTensors(f), ...prepared].filter((t) => t !== x1 && t !== x2 && !want.includes(t as tf.Tensor4D)));
      tf.dispose([x1, x2].filter((t) => !want.includes(t)));
      [x1, x2] = want;
    }
    tf.dispose([x1, x2, clip]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    model.dispose();
  });
}

test('full autoencoder round trip D(E(x)) on small and paper (train-mode and eval-mode normalisation)', async () => {
  await initBackend('wasm');
  for (const [name, tol] of [['tiny', 1e-5], ['small', 1e-5], ['paper', 1e-4]] as const) {
    const cfg = await loadConfig(name);
    const model = CrevNet.create(cfg, 1);
    const [h, w, c] = cfg.imageSize;
    const clip = tf.randomUniform([3, 2, h, w, c], 0, 1, 'float32', 5) as tf.Tensor5D;
    for (const [enc, dec] of [['train', 'recompute'], ['eval', 'eval']] as const) {
      const before = tf.memory().numTensors;
      const [z1, z2] = model.encode(clip, enc);
      const [t, lh, lw, lc] = model.latentShape();
      assert.deepEqual(z1.shape, [2, lh, lw, t * lc], 'packed latent half');
      const back = model.decode(z1, z2, dec);
      assert.ok(maxErr(back, clip) < tol, `${name} ${enc}: ${maxErr(back, clip)}`);
      tf.dispose([z1, z2, back]);
      assert.equal(tf.memory().numTensors, before);
    }
    if (name === 'paper') assert.deepEqual(model.latentShape(), [3, 8, 8, 32]);
    clip.dispose();
    model.dispose();
  }
});

test('invalid channel plans are rejected with a UserError naming the field', () => {
  const base = { imageSize: [64, 64, 1] as [number, number, number], nBlocks: [2, 2], strides: [1, 2] };
  assert.throws(() => planBlocks({ ...base, channels: [2, 16] }), (e: unknown) => e instanceof UserError && /model\.channels\[1\] must be 8/.test(e.message));
  assert.throws(() => planBlocks({ ...base, strides: [1] }), (e: unknown) => e instanceof UserError && /model\.strides/.test(e.message));
  assert.throws(() => planBlocks({ ...base, strides: [1, 3] }), (e: unknown) => e instanceof UserError && /model\.strides\[1\]/.test(e.message));
  assert.equal(planBlocks({ ...base, channels: [2, 8] }).length, 4);
  const specs = planBlocks({ imageSize: [64, 64, 1], nBlocks: [4, 5, 3], strides: [1, 2, 2] });
  assert.deepEqual(specs.map((s) => `${s.cin}>${s.mid}>${s.cout}/${s.stride}`).filter((_, i) => [0, 4, 9].includes(i)), ['2>1>2/1', '2>4>8/2', '8>16>32/2']);
});

test('GroupNorm(1,C) option: no running statistics, exact round trip, a training step works', async () => {
  await initBackend('wasm');
  const cfg = { ...(await loadConfig('tiny')), norm: 'group' as const };
  const model = CrevNet.create(cfg, 2);
  assert.equal(model.namedWeights().filter((w) => !w.trainable).length, 0);
  const clip = tf.randomUniform([3, 2, 32, 32, 1], 0, 1, 'float32', 6) as tf.Tensor5D;
  const [z1, z2] = model.encode(clip, 'train');
  const back = model.decode(z1, z2, 'eval');
  assert.ok(maxErr(back, clip) < 1e-5, String(maxErr(back, clip)));
  const seq = tf.randomUniform([5, 2, 32, 32, 1], 0, 1, 'float32', 7) as tf.Tensor5D;
  const { value, grads } = tf.variableGrads(() => model.loss(seq), model.trainableVariables());
  assert.ok(Number.isFinite(value.dataSync()[0]!));
  assert.equal(Object.keys(grads).length, model.trainableVariables().length);
  tf.dispose([z1, z2, back, clip, seq, value, ...Object.values(grads)]);
  model.dispose();
});
