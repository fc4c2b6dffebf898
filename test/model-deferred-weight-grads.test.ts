/**
 * Deferred weight gradients (src/model/deferred-weight-grads.ts, used for the predictor in CrevNet.loss): each
 * weight's gradient is computed once over all uses instead of once per use. The gradients must equal the
 * per-use path (plain autodiff through each conv's own weight gradient) to 1e-5 relative, on cpu and wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet, lossOptions, type LossMode } from '../src/model/crevnet.js';
import { conv3dPacked, deferWeightGrads, packedConv } from '../src/model/conv3d.js';

/** max |a − b| / max |a| per entry pair (a's scale floored at 1e-12). */
function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(a[i]!));
  }
  return num / Math.max(den, 1e-12);
}

for (const backend of ['cpu', 'wasm'] as const) {
  const modes: LossMode[] = backend === 'wasm' ? ['teacher', 'rollout'] : ['teacher'];
  for (const mode of modes) {
    test(`${backend}: deferred predictor weight gradients equal the per-step path (tiny, ${mode}) to 1e-5`, async () => {
      await initBackend(backend);
      const cfg = await loadConfig('tiny');
      const model = CrevNet.create(cfg, 21);
      const [h, w, c] = cfg.imageSize;
      const seq = tf.randomUniform([7, 2, h, w, c], 0, 1, 'float32', 22) as tf.Tensor5D;
      const vars = model.trainableVariables();
      const names = model.namedWeights().filter((x) => x.trainable).map((x) => x.name);
      const run = (deferWeightGrads: boolean) => {
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() => model.loss(seq, lossOptions({ mode, context: 4 }), deferWeightGrads), vars);
        const out = vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
        const loss = value.dataSync()[0]!;
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, before, 'no tensors leak');
        return { loss, out };
      };
      try {
        const plain = run(false);
        const deferred = run(true);
        assert.ok(Math.abs(plain.loss - deferred.loss) <= 1e-6 * plain.loss, `loss ${plain.loss} vs ${deferred.loss}`);
        let predictorVars = 0;
        plain.out.forEach((g, i) => {
          const d = relDiff(g, deferred.out[i]!);
          assert.ok(d < 1e-5, `${names[i]}: relative difference ${d.toExponential(2)}`);
          if (names[i]!.startsWith('predictor/')) predictorVars++;
          assert.ok(g.some((v) => v !== 0), `${names[i]} has a non-zero gradient`);
        });
        assert.equal(predictorVars, 20, 'every predictor weight of the 2 layers is compared');
      } finally {
        seq.dispose();
        model.dispose();
      }
    });
  }
}

test('deferWeightGrads: one conv used three times (3×3 with bias, 3×3 stride 2, 1×1) equals per-use gradients', async () => {
  await initBackend('wasm');
  const cases = [
    { w: [3, 3, 3, 4, 6], stride: 1 as const, bias: true, x: [2, 8, 8, 12] as [number, number, number, number] },
    { w: [3, 3, 3, 2, 4], stride: 2 as const, bias: false, x: [3, 8, 8, 6] as [number, number, number, number] },
    { w: [4, 3], stride: 1 as const, bias: true, x: [2, 5, 5, 12] as [number, number, number, number] },
  ];
  for (const [ci, k] of cases.entries()) {
    const w = tf.variable(tf.randomNormal(k.w, 0, 0.3, 'float32', 30 + ci));
    const b = k.bias ? (tf.variable(tf.randomNormal([k.w[k.w.length - 1]!], 0, 0.3, 'float32', 40 + ci)) as unknown as tf.Variable<tf.Rank.R1>) : undefined;
    const xs = [0, 1, 2].map((i) => tf.randomNormal(k.x, 0, 1, 'float32', 50 + 3 * ci + i) as tf.Tensor4D);
    const loss = (defer: boolean) => () =>
      tf.tidy(() => {
        const base = packedConv(w, b ? { bias: b as unknown as tf.Tensor1D, stride: k.stride } : { stride: k.stride });
        const conv = defer ? deferWeightGrads(base) : base;
        // chain the uses so later ones depend on earlier outputs (like the time steps of the predictor)
        let acc = tf.scalar(0);
        let prev: tf.Tensor4D | undefined;
        for (const x of xs) {
          const y = conv3dPacked(x, conv);
          acc = tf.add(acc, tf.sum(tf.mul(y, y)));
          if (prev) acc = tf.add(acc, tf.sum(tf.mul(tf.sigmoid(y), tf.mean(prev))));
          prev = y;
        }
        return acc as tf.Scalar;
      });
    const vars = b ? [w, b] : [w];
    const before = tf.memory().numTensors;
    const a = tf.variableGrads(loss(false), vars);
    const d = tf.variableGrads(loss(true), vars);
    for (const v of vars) {
      const r = relDiff(a.grads[v.name]!.dataSync() as Float32Array, d.grads[v.name]!.dataSync() as Float32Array);
      assert.ok(r < 1e-5, `case ${ci} ${v.name}: ${r}`);
    }
    assert.ok(Math.abs(a.value.dataSync()[0]! - d.value.dataSync()[0]!) <= 1e-6 * Math.abs(a.value.dataSync()[0]!));
    tf.dispose([a.value, d.value, ...Object.values(a.grads), ...Object.values(d.grads)]);
    assert.equal(tf.memory().numTensors, before, `case ${ci}: no tensors leak`);
    tf.dispose([w, ...(b ? [b] : []), ...xs]);
  }
});
