/** The rollout's predictor with gate convs split by output frame (src/model/predictor-inference.ts): equal to the training predictor, chosen by latent width, no leaks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { maxErr } from './numeric-helpers.js';
import { derivedChannels, type ModelConfig } from '../src/model/config.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { predictorStep, prepareLayer, zeroState, type LayerParams, type PredictorState } from '../src/model/predictor.js';
import { predictorStepInference, prepareSplitLayer, splitLayerTensors, SPLIT_MIN_CHANNELS } from '../src/model/predictor-inference.js';
import { prepareInference, preparedTensors } from '../src/model/crevnet-prepared.js';

function layersOf(m: CrevNet): LayerParams[] {
  return (m as unknown as { predParams: LayerParams[] }).predParams;
}

/** 32×32 frames, latent half 32 channels at 3×4×4: wide enough for split layers, quick to run. */
async function wideConfig(): Promise<ModelConfig> {
  const tiny = await loadConfig('tiny');
  return { ...tiny, name: 'wide', nBlocks: [1, 1, 1], strides: [1, 2, 2], channels: derivedChannels(1, [1, 2, 2]) };
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`split layers give the training predictor's halves and state over three steps (latent 8 and 32, ${backend})`, async () => {
    await initBackend(backend);
    for (const cfg of [await loadConfig('tiny'), await wideConfig()]) {
      const model = CrevNet.create(cfg, 13);
      const [, h, w, c] = model.latentShape();
      const B = 3;
      const before = tf.memory().numTensors;
      const split = layersOf(model).map((p) => prepareSplitLayer(p));
      const plain = layersOf(model).map((p) => prepareLayer(p, { adjoint: false }));
      const like = tf.zeros([B, h, w, 3 * c]) as tf.Tensor4D;
      let ours: PredictorState = zeroState(2, like);
      like.dispose();
      let ref: PredictorState = ours;
      const zeros = ours.m;
      for (let step = 0; step < 3; step++) {
        const z1 = tf.randomNormal([B, h, w, 3 * c], 0, 1, 'float32', 40 + step) as tf.Tensor4D;
        const z2 = tf.randomNormal([B, h, w, 3 * c], 0, 1, 'float32', 50 + step) as tf.Tensor4D;
        const got = predictorStepInference(split, z1, z2, ours);
        const want = predictorStep(plain, z1, z2, ref);
        for (const [name, a, b] of [['z1', got.z1, want.z1], ['z2', got.z2, want.z2], ['m', got.state.m, want.state.m], ['h1', got.state.h[1]!, want.state.h[1]!], ['c0', got.state.c[0]!, want.state.c[0]!]] as const) {
          const e = maxErr(a, b);
          assert.ok(e <= 1e-5, `${cfg.name} step ${step} ${name}: ${e}`);
        }
        const old = [ours, ref];
        ours = got.state;
        ref = want.state;
        for (const s of old) tf.dispose([...s.h, ...s.c, s.m].filter((t) => t !== zeros));
        tf.dispose([z1, z2, got.z1, got.z2, want.z1, want.z2]);
      }
      tf.dispose([...ours.h, ...ours.c, ours.m, ...ref.h, ...ref.c, ref.m, zeros]);
      tf.dispose(split.flatMap(splitLayerTensors));
      tf.dispose(plain.flatMap((l) => [l.g1, l.g2, l.o, l.w11, l.att].flatMap((k) => [k.f, ...(k.bias ? [k.bias] : [])])));
      assert.equal(tf.memory().numTensors, before, `${cfg.name}: no tensor leaked`);
      model.dispose();
    }
  });
}

test('the rollout uses split layers from SPLIT_MIN_CHANNELS latent channels, and predicts the same frames either way', async () => {
  await initBackend('wasm');
  for (const [cfg, splitWanted] of [[await loadConfig('tiny'), false], [await wideConfig(), true]] as const) {
    const model = CrevNet.create(cfg, 2);
    const [, , , c] = model.latentShape();
    assert.equal(c >= SPLIT_MIN_CHANNELS, splitWanted, `${cfg.name}: latent ${c}`);
    const params = (model as unknown as { params(): Parameters<typeof prepareInference>[0] }).params();
    const prepared = tf.tidy(() => prepareInference(params) as unknown as tf.TensorContainer) as unknown as ReturnType<typeof prepareInference>;
    assert.ok(prepared.layers.every((l) => ('split' in l) === splitWanted));
    tf.dispose(preparedTensors(prepared));
    // the model's rollout against one on the training layers: same frames up to float rounding
    const ctx = tf.randomUniform([4, 2, ...cfg.imageSize] as [number, number, number, number, number], 0, 1, 'float32', 9) as tf.Tensor5D;
    const y = model.predict(ctx, 3, { raw: true });
    const ref = tf.tidy(() => {
      const layers = layersOf(model).map((p) => prepareLayer(p));
      let state: PredictorState | undefined;
      let x = ctx.slice([0], [3]) as tf.Tensor5D;
      const outs: tf.Tensor[] = [];
      for (let i = 1; i <= 4; i++) {
        const [z1, z2] = model.encode(x, 'eval');
        state ??= zeroState(cfg.predictorLayers, z1);
        const r = predictorStep(layers, z1, z2, state);
        state = r.state;
        if (i === 1) {
          x = ctx.slice([1], [3]) as tf.Tensor5D;
          continue;
        }
        let d = model.decode(r.z1, r.z2, 'eval');
        if (i === 2) d = tf.concat([ctx.slice([2], [2]), d.slice([2], [1])], 0) as tf.Tensor5D;
        if (i === 3) d = tf.concat([ctx.slice([3], [1]), d.slice([1], [2])], 0) as tf.Tensor5D;
        outs.push(d.slice([2], [1]));
        x = d;
      }
      return tf.concat(outs, 0);
    });
    const e = maxErr(y, ref);
    assert.ok(e <= 1e-5, `${cfg.name}: ${e}`);
    tf.dispose([y, ref, ctx]);
    model.dispose();
  }
});
