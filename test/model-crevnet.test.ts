/**
 * CrevNet: parameter counts, deterministic init, the batched teacher/rollout loss and predict against
 * a plain step-by-step reference loop (incl. running statistics), training progress, no tensor leaks,
 * cpu/wasm gradient agreement.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { maxErr } from './numeric-helpers.js';
import { UserError } from '../src/runtime/errors.js';
import { parseConfig, type ModelConfig } from '../src/model/config.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet, paramCountsFor } from '../src/model/crevnet.js';
import { sumSquaredPlusAbsError } from '../src/model/ops.js';
import { lossOptions, scoredAsClipped } from '../src/model/crevnet-loss.js';
import { ssim } from '../src/eval/ssim.js';
import { layerParamCount, predictorStep, prepareLayer, zeroState, type LayerParams, type PredictorState } from '../src/model/predictor.js';

function sequence(cfg: ModelConfig, t: number, b: number, seed: number): tf.Tensor5D {
  const [h, w, c] = cfg.imageSize;
  return tf.randomUniform([t, b, h, w, c], 0, 1, 'float32', seed) as tf.Tensor5D;
}
function frames(seq: tf.Tensor5D, start: number, n: number): tf.Tensor5D {
  const [, b, h, w, c] = seq.shape;
  return seq.slice([start, 0, 0, 0, 0], [n, b, h, w, c]);
}
function runningStats(m: CrevNet): Float32Array[] {
  return m.namedWeights().filter((w) => !w.trainable).map((w) => w.variable.dataSync() as Float32Array);
}

/**
 * Reference: the peer's train_loss / predict written step by step with separate encode/decode calls
 * (train mode updates running stats at every call, in call order E1, D1, E2, D2, …).
 */
/** mean over the frames of [T,B,H,W,1] of (1 − SSIM), with the float64 metric (no clipping) */
function meanOneMinusSsim(pred: tf.Tensor5D, truth: tf.Tensor5D): number {
  const [t, b, h, w] = pred.shape;
  const p = pred.dataSync();
  const g = truth.dataSync();
  let sum = 0;
  for (let f = 0; f < t * b; f++) sum += 1 - ssim(p.subarray(f * h * w, (f + 1) * h * w), g.subarray(f * h * w, (f + 1) * h * w), h, w);
  return sum / (t * b);
}

/** Element by element: a value beyond [0, 1] on its truth's side (o < 0 with t ≤ 0, o > 1 with t ≥ 1) scores as the truth. */
function clippedForLoss(out: tf.Tensor5D, truth: tf.Tensor5D): tf.Tensor5D {
  const o = out.dataSync();
  const t = truth.dataSync();
  const v = Float32Array.from(o, (x, i) => ((x < 0 && t[i]! <= 0) || (x > 1 && t[i]! >= 1) ? t[i]! : x));
  return tf.tensor5d(v, out.shape);
}

function referenceLoss(
  m: CrevNet,
  seq: tf.Tensor5D,
  mode: 'teacher' | 'rollout',
  k: number,
  l1 = 0,
  ssimWeight = 0,
  clip = false,
  norm: 'train' | 'eval' = 'train',
): number {
  return tf.tidy(() => {
    const layers = (m as unknown as { predParams: LayerParams[] }).predParams.map((p) => prepareLayer(p));
    const steps = seq.shape[0] - 3;
    let state: PredictorState | undefined;
    let xIn = frames(seq, 0, 3);
    let loss = 0;
    for (let i = 1; i <= steps; i++) {
      const [z1, z2] = m.encode(mode === 'rollout' ? xIn : frames(seq, i - 1, 3), norm);
      state ??= zeroState(m.config.predictorLayers, z1);
      const r = predictorStep(layers, z1, z2, state);
      state = r.state;
      const out = m.decode(r.z1, r.z2, norm);
      const scored = clip ? clippedForLoss(out, frames(seq, i, 3)) : out;
      let stepLoss = tf.mean(tf.squaredDifference(scored, frames(seq, i, 3))).dataSync()[0]!;
      stepLoss += l1 * tf.mean(tf.abs(tf.sub(scored, frames(seq, i, 3)))).dataSync()[0]!;
      if (ssimWeight > 0) stepLoss += ssimWeight * meanOneMinusSsim(scored, frames(seq, i, 3));
      loss += stepLoss;
      if (mode === 'rollout') {
        if (i < k - 2) xIn = frames(seq, i, 3);
        else if (i === k - 2) xIn = tf.concat([frames(seq, k - 2, 2), out.slice([2], [1])], 0) as tf.Tensor5D;
        else if (i === k - 1) xIn = tf.concat([frames(seq, k - 1, 1), out.slice([1], [2])], 0) as tf.Tensor5D;
        else xIn = out;
      }
    }
    return loss;
  });
}

function referencePredict(m: CrevNet, ctx: tf.Tensor5D, horizon: number): tf.Tensor {
  return tf.tidy(() => {
    const layers = (m as unknown as { predParams: LayerParams[] }).predParams.map((p) => prepareLayer(p));
    const k = ctx.shape[0];
    let state: PredictorState | undefined;
    let xIn = frames(ctx, 0, 3);
    const outs: tf.Tensor[] = [];
    for (let i = 1; i <= k + horizon - 3; i++) {
      const [z1, z2] = m.encode(xIn, 'eval');
      state ??= zeroState(m.config.predictorLayers, z1);
      const r = predictorStep(layers, z1, z2, state);
      state = r.state;
      if (i < k - 2) {
        xIn = frames(ctx, i, 3);
        continue;
      }
      let y = m.decode(r.z1, r.z2, 'eval');
      if (i === k - 2) y = tf.concat([frames(ctx, k - 2, 2), y.slice([2], [1])], 0) as tf.Tensor5D;
      if (i === k - 1) y = tf.concat([frames(ctx, k - 1, 1), y.slice([1], [2])], 0) as tf.Tensor5D;
      outs.push(y.slice([2], [1]));
      xIn = y;
    }
    return tf.concat(outs, 0);
  });
}

test('parameter counts from shapes: paper 4,997,444 (encoder 104,516, predictor 4,892,928), medium 1,286,198, small 80,566', async () => {
  assert.deepEqual(paramCountsFor(await loadConfig('paper')), { total: 4_997_444, encoder: 104_516, predictor: 4_892_928 });
  assert.equal(layerParamCount(32), 611_616);
  assert.deepEqual(paramCountsFor(await loadConfig('small')), { total: 80_566, encoder: 4_006, predictor: 76_560 });
  // medium = the paper's first 6 blocks (139 + 143 + 1,532 + 2,192 + 24,272 + 34,688 parameters) + 2 layers at C = 32
  assert.deepEqual(paramCountsFor(await loadConfig('medium')), { total: 1_286_198, encoder: 62_966, predictor: 2 * 611_616 });
  await initBackend('cpu');
  const tiny = await loadConfig('tiny');
  const m = CrevNet.create(tiny, 0);
  assert.deepEqual(m.paramCounts(), paramCountsFor(tiny));
  const small = CrevNet.create(await loadConfig('small'), 0);
  assert.equal(small.paramCounts().total, 80_566);
  m.dispose();
  small.dispose();
});

test('create() is deterministic in the seed (PyTorch default init bounds)', async () => {
  await initBackend('cpu');
  const cfg = await loadConfig('tiny');
  const [a, b, c] = [CrevNet.create(cfg, 5), CrevNet.create(cfg, 5), CrevNet.create(cfg, 6)];
  const va = a.namedWeights().map((w) => Array.from(w.variable.dataSync()));
  assert.deepEqual(b.namedWeights().map((w) => Array.from(w.variable.dataSync())), va);
  assert.notDeepEqual(c.namedWeights().map((w) => Array.from(w.variable.dataSync())), va);
  const conv = a.namedWeights().find((w) => w.name === 'predictor/layer0/g1/kernel')!;
  const bound = 1 / Math.sqrt(27 * 3 * 8);
  const vals = Array.from(conv.variable.dataSync());
  assert.ok(Math.max(...vals.map(Math.abs)) <= bound && Math.max(...vals.map(Math.abs)) > 0.9 * bound);
  [a, b, c].forEach((m) => m.dispose());
});

for (const [mode, l1, ssimWeight] of [['teacher', 0, 0], ['rollout', 0, 0], ['rollout', 0.7, 0], ['rollout', 0.7, 0.5]] as const) {
  const terms = [l1 ? `an L1 term (weight ${l1})` : '', ssimWeight ? `an SSIM term (weight ${ssimWeight})` : ''].filter(Boolean).join(' and ');
  test(`batched ${mode} loss${terms ? ` with ${terms}` : ''} equals the step-by-step reference, running statistics included`, async () => {
    await initBackend('wasm');
    const cfg = await loadConfig('tiny');
    const ours = CrevNet.create(cfg, 7);
    const ref = CrevNet.create(cfg, 7);
    const seq = sequence(cfg, 7, 2, 8);
    const k = 4;
    const l = ours.loss(seq, lossOptions({ mode, context: k, l1, ssim: ssimWeight }));
    const got = l.dataSync()[0]!;
    const want = referenceLoss(ref, seq, mode, k, l1, ssimWeight);
    assert.ok(Math.abs(got - want) < 1e-5 * want, `${got} vs ${want}`);
    const ra = runningStats(ours);
    runningStats(ref).forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - ra[i]![j]!) < 1e-5, `running stat ${i}`)));
    tf.dispose([l, seq]);
    ours.dispose();
    ref.dispose();
  });
}

test('clipLoss: the rollout loss scores predictions as SSIM and PSNR see them, in every term, and equals the step-by-step reference', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [ours, raw, ref] = [CrevNet.create(cfg, 7), CrevNet.create(cfg, 7), CrevNet.create(cfg, 7)];
  // a target with exact 0s and 1s (like Moving MNIST's background and digit cores) where clipping can apply
  const seq = tf.tidy(() => {
    const u = sequence(cfg, 7, 2, 8);
    return tf.where(tf.less(u, 0.4), tf.zerosLike(u), tf.where(tf.greater(u, 0.8), tf.onesLike(u), u)) as tf.Tensor5D;
  });
  const opts = { mode: 'rollout' as const, context: 4, l1: 0.7, ssim: 0.5 };
  const clipped = ours.loss(seq, lossOptions({ ...opts, clipLoss: true }));
  const got = clipped.dataSync()[0]!;
  const want = referenceLoss(ref, seq, 'rollout', 4, 0.7, 0.5, true);
  assert.ok(Math.abs(got - want) < 1e-5 * want, `${got} vs ${want}`);
  // an untrained model's output goes below 0 on the background, which clipping forgives: the pixel
  // terms (MSE + L1) can only shrink (SSIM is not monotone in single pixels, so it is left out here)
  const pixelOpts = { ...opts, ssim: 0 };
  const [pc, pr] = [raw.loss(seq, lossOptions({ ...pixelOpts, clipLoss: true })), raw.loss(seq, lossOptions(pixelOpts))];
  assert.ok(pc.dataSync()[0]! < pr.dataSync()[0]! - 1e-4, `clipped ${pc.dataSync()[0]} vs raw ${pr.dataSync()[0]}`);
  tf.dispose([clipped, pc, pr, seq]);
  [ours, raw, ref].forEach((m) => m.dispose());
});

test('freezeNorm: the loss normalises with the frozen running statistics as the test rollout does (equal to the reference with eval-mode calls), leaves them untouched, does not depend on the batch and still trains γ and β', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [ours, ref] = [CrevNet.create(cfg, 11), CrevNet.create(cfg, 11)];
  // give both the same non-trivial running statistics (init is mean 0, variance 1)
  const warm = sequence(cfg, 7, 2, 3);
  for (const m of [ours, ref]) m.loss(warm, lossOptions({ mode: 'rollout', context: 4 })).dispose();
  const seq = sequence(cfg, 7, 2, 5);
  const opts = lossOptions({ mode: 'rollout', context: 4, l1: 0.7, ssim: 0.5, clipLoss: true, freezeNorm: true });
  const before = runningStats(ours).map((a) => Array.from(a));
  const frozen = ours.loss(seq, opts);
  const got = frozen.dataSync()[0]!;
  assert.deepEqual(runningStats(ours).map((a) => Array.from(a)), before, 'a frozen loss call changed the running statistics');
  const want = referenceLoss(ref, seq, 'rollout', 4, 0.7, 0.5, true, 'eval');
  assert.ok(Math.abs(got - want) < 1e-5 * want, `${got} vs ${want}`);
  // batch statistics give another number, and the running statistics move
  const live = ours.loss(seq, { ...opts, freezeNorm: false });
  assert.ok(Math.abs(live.dataSync()[0]! - got) > 1e-3 * got, `batch statistics ${live.dataSync()[0]} vs frozen ${got}`);
  assert.notDeepEqual(runningStats(ours).map((a) => Array.from(a)), before);
  // frozen statistics make every sequence's loss independent of its batch mates: the batch loss is the mean
  const one = (j: number) => seq.slice([0, j, 0, 0, 0], [7, 1, ...cfg.imageSize]) as tf.Tensor5D;
  const [a, b] = [one(0), one(1)];
  const [la, lb, lab] = [ours.loss(a, opts), ours.loss(b, opts), ours.loss(seq, opts)];
  const mean = (la.dataSync()[0]! + lb.dataSync()[0]!) / 2;
  assert.ok(Math.abs(lab.dataSync()[0]! - mean) < 1e-5 * mean, `batch ${lab.dataSync()[0]} vs mean of singles ${mean}`);
  // (with batch statistics it is not: each call normalises with its own batch)
  const [ta, tb, tab] = [a, b, seq].map((x) => ours.loss(x, { ...opts, freezeNorm: false })) as [tf.Scalar, tf.Scalar, tf.Scalar];
  const liveMean = (ta.dataSync()[0]! + tb.dataSync()[0]!) / 2;
  assert.ok(Math.abs(tab.dataSync()[0]! - liveMean) > 1e-4 * liveMean, `batch statistics: batch ${tab.dataSync()[0]} vs mean of singles ${liveMean}`);
  // γ and β of the normalisation still get gradients
  const affine = ours.namedWeights().filter((w) => w.trainable && /gamma|beta/.test(w.name)).map((w) => w.variable);
  assert.ok(affine.length > 0, 'no γ/β weights found');
  const { value, grads } = tf.variableGrads(() => ours.loss(seq, opts), affine);
  const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
  assert.ok(norm > 0 && Number.isFinite(norm), `γ/β gradient norm ${norm}`);
  tf.dispose([frozen, live, a, b, la, lb, lab, ta, tb, tab, value, ...Object.values(grads), warm, seq]);
  [ours, ref].forEach((m) => m.dispose());
});

test('scoredAsClipped: beyond-range values on the truth\'s side score as the truth with no gradient; wrong-side values keep theirs', async () => {
  await initBackend('wasm');
  const y = tf.tensor1d([-0.5, 0.3, -0.2, 1.5, 1.2, 0.02]);
  const t = tf.tensor1d([0, 0, 0.5, 1, 0.5, 0]);
  const before = tf.memory().numTensors;
  const scored = scoredAsClipped(y, t);
  assert.deepEqual(Array.from(scored.dataSync()).map((v) => Math.round(v * 100) / 100), [0, 0.3, -0.2, 1, 1.2, 0.02]);
  const [dy] = tf.grads((a: tf.Tensor) => tf.sum(scoredAsClipped(a, t)))([y]);
  assert.deepEqual(Array.from(dy!.dataSync()), [0, 1, 1, 0, 1, 1]);
  tf.dispose([scored, dy!]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([y, t]);
});

test('the fused squared + L1 error has the gradient 2·d + w·sign(d) of its autodiff composition', async () => {
  await initBackend('wasm');
  const y = tf.tensor1d([0.3, -0.2, 0.05, 1.5, 0]);
  const t = tf.tensor1d([0.1, 0.4, 0.05, 1.0, 0.2]);
  const w = 0.6;
  const fused = tf.grads((a: tf.Tensor, b: tf.Tensor) => sumSquaredPlusAbsError(a, b, w))([y, t]);
  const plain = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.add(tf.sum(tf.squaredDifference(a, b)), tf.mul(tf.sum(tf.abs(tf.sub(a, b))), w)))([y, t]);
  const value = sumSquaredPlusAbsError(y, t, w).dataSync()[0]!;
  // Σd² = 0.04 + 0.36 + 0 + 0.25 + 0.04 = 0.69, Σ|d| = 0.2 + 0.6 + 0 + 0.5 + 0.2 = 1.5
  assert.ok(Math.abs(value - (0.69 + w * 1.5)) < 1e-6, String(value));
  // tfjs's abs gradient at 0 is −1; ours is sign(0) = 0 (PyTorch's L1 convention): compare elsewhere
  const at = (g: tf.Tensor, idx: number[]) => tf.gather(g, idx);
  const rest = [0, 1, 3, 4];
  for (let i = 0; i < 2; i++) assert.ok(maxErr(at(fused[i]!, rest), at(plain[i]!, rest)) < 1e-6, `input ${i}`);
  assert.deepEqual([fused[0]!.dataSync()[2], fused[1]!.dataSync()[2]].map(Math.abs), [0, 0], 'no gradient where prediction = truth');
  tf.dispose([y, t, ...fused, ...plain]);
});

test('loss options are validated once, when they are built: a bad value is a one-line error naming the option', () => {
  for (const [input, re] of [
    [{ l1: -1 }, /^loss options: l1 must be ≥ 0 \(got number -1\)$/],
    [{ l1: Number.NaN }, /^loss options: l1 must be a number/],
    [{ ssim: Infinity }, /^loss options: ssim must be a number/],
    [{ context: 2 }, /^loss options: context must be ≥ 3/],
    [{ mode: 'free' }, /^loss options: mode has an invalid value/],
    [{ clipLoss: 'ssim' }, /^loss options: clipLoss must be a boolean/],
    [{ horizonRamp: 1 }, /^loss options: horizonRamp: unknown key$/],
  ] as [Record<string, unknown>, RegExp][]) {
    assert.throws(() => lossOptions(input as Parameters<typeof lossOptions>[0]), (e: unknown) => e instanceof UserError && re.test(e.message), JSON.stringify(input));
  }
  assert.deepEqual(lossOptions({ l1: 2 }), { mode: 'teacher', context: 10, l1: 2, ssim: 0, clipLoss: false, freezeNorm: false });
});

test('predict equals the test-time reference loop (K = 4, 5 frames beyond the context; K = 3), clamped to [0, 1] unless raw', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 9);
  let outside = 0;
  for (const [k, horizon] of [[4, 5], [3, 2]] as const) {
    const ctx = sequence(cfg, k, 2, 10 + k);
    tf.dispose(model.predict(ctx, horizon)); // the model keeps its prepared kernels from the first call
    const before = tf.memory().numTensors;
    // raw: the decoder's output, fed back unclamped (the reference feeds raw frames back too)
    const raw = model.predict(ctx, horizon, { raw: true });
    assert.deepEqual(raw.shape, [horizon, 2, ...cfg.imageSize]);
    const want = referencePredict(model, ctx, horizon);
    assert.ok(maxErr(raw, want) < 1e-5, `K=${k}: ${maxErr(raw, want)}`);
    // default: the same frames clamped to [0, 1], and nothing else changed
    const p = model.predict(ctx, horizon);
    const r = raw.dataSync();
    const v = p.dataSync();
    assert.equal(v.length, r.length);
    for (let i = 0; i < r.length; i++) {
      if (v[i] !== Math.min(Math.max(r[i]!, 0), 1)) assert.fail(`K=${k}: value ${i} is ${v[i]}, raw ${r[i]}`);
      if (r[i]! < 0 || r[i]! > 1) outside++;
    }
    tf.dispose([raw, p, want]);
    assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
    ctx.dispose();
  }
  assert.ok(outside > 0, 'the untrained model overshoots [0, 1] somewhere, so the clamp is exercised');
  model.dispose();
});

test('training lowers the loss on a fixed batch, and a step leaks no tensors', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 1);
  const seq = sequence(cfg, 6, 2, 12);
  const opt = tf.train.adam(2e-3);
  const step = () => {
    const cost = opt.minimize(() => model.loss(seq), true, model.trainableVariables())!;
    const v = cost.dataSync()[0]!;
    cost.dispose();
    return v;
  };
  const first = step();
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 30; i++) last = step();
  assert.equal(tf.memory().numTensors, before, 'numTensors unchanged by training steps');
  assert.ok(last < 0.7 * first, `loss ${first} → ${last}`);
  const r = model.loss(seq, lossOptions({ mode: 'rollout', context: 4 }));
  assert.ok(Number.isFinite(r.dataSync()[0]!));
  r.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([seq]);
  opt.dispose();
  model.dispose();
});

test('gradients agree across the wasm and cpu backends to 1e-4 relative', async () => {
  const cfg = await loadConfig('tiny');
  const grads = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    const model = CrevNet.create(cfg, 4);
    const seq = sequence(cfg, 5, 2, 13);
    const { value, grads } = tf.variableGrads(() => model.loss(seq), model.trainableVariables());
    const out = model.trainableVariables().map((v) => grads[v.name]!.dataSync() as Float32Array);
    const loss = value.dataSync()[0]!;
    tf.dispose([value, seq, ...Object.values(grads)]);
    model.dispose();
    return { loss, out };
  };
  const a = await grads('cpu');
  const b = await grads('wasm');
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * a.loss);
  let num = 0;
  let den = 0;
  a.out.forEach((g, i) => g.forEach((v, j) => {
    num += (v - b.out[i]![j]!) ** 2;
    den += v * v;
  }));
  assert.ok(Math.sqrt(num / den) < 1e-4, `global relative difference ${Math.sqrt(num / den)}`);
  // per variable, relative to its own scale (floored at 1% of the largest gradient)
  const top = Math.max(...a.out.map((g) => Math.max(...g.map(Math.abs))));
  a.out.forEach((g, i) => {
    const scale = Math.max(Math.max(...g.map(Math.abs)), 0.01 * top);
    const d = Math.max(...g.map((v, j) => Math.abs(v - b.out[i]![j]!)));
    assert.ok(d / scale < 1e-4, `variable ${i}: ${d / scale}`);
  });
});

test('colour (C = 3): D(E(x)) = x, the loss has finite non-zero gradients that match a finite difference, and training lowers it', async () => {
  await initBackend('wasm');
  const cfg = parseConfig({ model: { imageSize: [8, 12, 3], nBlocks: [1, 1], strides: [1, 2], predictorLayers: 2 } }, 'rgb test config');
  assert.deepEqual(cfg.channels, [6, 24], 'ψ gives 2·C channels per half, the stride-2 stage ×4');
  const model = CrevNet.create(cfg, 3);
  const seq = sequence(cfg, 5, 2, 21);
  const before = tf.memory().numTensors;
  // the autoencoder is invertible on colour clips as on gray ones
  const clip = frames(seq, 0, 3);
  const [z1, z2] = model.encode(clip);
  assert.deepEqual(z1.shape.slice(0, 3), [2, 2, 3]);
  const back = model.decode(z1, z2);
  assert.deepEqual(back.shape, [3, 2, 8, 12, 3]);
  assert.ok(maxErr(back, clip) < 1e-4, `round trip error ${maxErr(back, clip)}`);
  tf.dispose([clip, z1, z2, back]);
  // gradient: autodiff against a central difference along the gradient's own direction
  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => model.loss(seq), vars);
  let sq = 0;
  for (const v of vars) {
    const g = grads[v.name]!.dataSync();
    for (const x of g) {
      assert.ok(Number.isFinite(x));
      sq += x * x;
    }
  }
  assert.ok(sq > 0, 'the gradient is not zero');
  const eps = 1e-3 / Math.sqrt(sq);
  const shift = (s: number) => {
    for (const v of vars) {
      const moved = tf.tidy(() => v.add(grads[v.name]!.mul(s * eps)));
      v.assign(moved);
      moved.dispose();
    }
  };
  const lossAt = () => {
    const l = model.loss(seq);
    const x = l.dataSync()[0]!;
    l.dispose();
    return x;
  };
  shift(1);
  const up = lossAt();
  shift(-2);
  const down = lossAt();
  shift(1);
  const numeric = (up - down) / (2 * eps);
  assert.ok(Math.abs(numeric - sq) / sq < 0.05, `directional derivative ${numeric} vs |g|² ${sq}`);
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  const opt = tf.train.adam(2e-3);
  const step = () => {
    const cost = opt.minimize(() => model.loss(seq), true, vars)!;
    const v = cost.dataSync()[0]!;
    cost.dispose();
    return v;
  };
  const first = step();
  let last = first;
  for (let i = 0; i < 10; i++) last = step();
  assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
  opt.dispose();
  model.dispose();
  seq.dispose();
});

test('predict reuses its prepared kernels while the weights are unchanged, rebuilds them after an update, survives a caller\'s tidy', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 4);
  const ctx = sequence(cfg, 5, 2, 21);
  const base = tf.memory().numTensors;
  const y1 = model.predict(ctx, 3);
  const cached = tf.memory().numTensors - base - 1;
  assert.ok(cached > 0, 'the first call keeps its kernels');
  // inside a tidy: the kept kernels are not disposed with the tidy's tensors
  const s1 = tf.tidy(() => model.predict(ctx, 3).sum().dataSync()[0]!);
  const y2 = model.predict(ctx, 3);
  assert.equal(maxErr(y1, y2), 0);
  assert.ok(Math.abs(s1 - tf.tidy(() => y2.sum().dataSync()[0]!)) < 1e-3);
  assert.equal(tf.memory().numTensors, base + cached + 2, 'no second set of kernels');
  // an update of one weight (as an optimizer step assigns it): the next call uses the new weights
  const w = model.namedWeights().find((x) => x.trainable && x.variable.rank >= 2)!.variable;
  tf.tidy(() => w.assign(tf.mul(w, 1.5)));
  const y3 = model.predict(ctx, 3);
  const fresh = CrevNet.fromWeights(cfg, new Map(model.namedWeights().map((x) => [x.name, x.variable as tf.Tensor])));
  const want = fresh.predict(ctx, 3);
  assert.equal(maxErr(y3, want), 0, 'equals a model made from the updated weights');
  assert.ok(maxErr(y3, y1) > 1e-4, 'the update changed the prediction');
  tf.dispose([y1, y2, y3, want]);
  fresh.dispose();
  assert.equal(tf.memory().numTensors, base + cached, 'the old kernels were released');
  model.dispose();
  // prepareForInference makes them up front: the first rollout then leaves no tensor behind
  const early = CrevNet.create(cfg, 4);
  early.prepareForInference();
  const counted = tf.memory().numTensors;
  tf.dispose(early.predict(ctx, 3));
  assert.equal(tf.memory().numTensors, counted);
  early.dispose();
  ctx.dispose();
});
