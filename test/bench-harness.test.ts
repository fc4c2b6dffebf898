/** The benchmark harness (src/bench/harness.ts): memory-table configs, and the training step it times being crevnet train's own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { uint8ToFloat } from '../src/data/pixels.js';
import { benchTrainStep, withEncoderBlocks } from '../src/bench/harness.js';
import { createOptimizer, loadTrainingConfig, parseTrainConfig } from '../src/train/config.js';
import { optimizeStep, stepContext } from '../src/train/step.js';
import { DataParallel } from '../src/run/parallel.js';

test('memory-table configs spread the blocks over the stages at the same widths', async () => {
  const cfg = await loadConfig('small');
  assert.deepEqual(withEncoderBlocks(cfg, 16, true)!.nBlocks, [8, 8]);
  assert.deepEqual(withEncoderBlocks(cfg, 5, false)!.nBlocks, [3, 2]);
  assert.equal(withEncoderBlocks(cfg, 16, true)!.reversibleBackprop, true);
  assert.deepEqual(withEncoderBlocks(cfg, 16, true)!.strides, cfg.strides);
  const paper = await loadConfig('paper');
  assert.equal(withEncoderBlocks(paper, 2, false), null);
});

test("bench's training step is crevnet train's: the same losses and the same updated weights from the same weights and batch, with loss options and clipping set", async () => {
  await initBackend('wasm');
  const tiny = await loadTrainingConfig('tiny');
  const cfg = tiny.model;
  // every loss option away from its default, and a clip the gradient norm exceeds
  const settings = parseTrainConfig({ ...tiny.train, mode: 'rollout', context: 4, l1: 1, ssim: 0.5, clipLoss: true, freezeNorm: false, gradClip: 0.05 }, 'test');
  const [h, w] = cfg.imageSize;
  const shape: [number, number, number, number, number] = [settings.frames, settings.batch, h, w, 1];
  const batch = Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i * 37 + ((i * i) % 251)) % 256);
  const weights = (m: CrevNet) => m.namedWeights().map((x) => Array.from(x.variable.dataSync()));
  for (const threads of [1, 2]) {
    const [benched, trained] = [CrevNet.create(cfg, 3), CrevNet.create(cfg, 3)];
    const pools = threads > 1 ? await Promise.all([DataParallel.start(benched, threads), DataParallel.start(trained, threads)]) : [undefined, undefined];
    // the benchmark repeats its step on one batch; train gets the same batch twice
    const bench = benchTrainStep(benched, settings, uint8ToFloat(batch), shape, pools[0]);
    const optimizer = createOptimizer(settings);
    const setup = { step: stepContext(trained, optimizer, settings, pools[1]), settings, height: h, width: w, hooks: {}, metricsPath: join(tmpdir(), 'unused.jsonl'), lastDir: 'unused' };
    try {
      const ours: number[] = [];
      const theirs: number[] = [];
      let tensors = 0;
      for (const iteration of [1, 2]) {
        if (iteration === 2) tensors = tf.memory().numTensors;
        ours.push(await bench.run());
        const r = await optimizeStep(setup, iteration, batch, settings.lr, -1);
        theirs.push(r.loss);
        assert.ok(r.gradNorm > settings.gradClip!, `the clip is active (norm ${r.gradNorm})`);
      }
      assert.equal(tf.memory().numTensors, tensors, 'a step leaks no tensors');
      assert.deepEqual(ours, theirs, `${threads} thread(s): losses`);
      assert.notEqual(ours[0], ours[1]);
      assert.deepEqual(weights(benched), weights(trained), `${threads} thread(s): updated weights (incl. running statistics)`);
      // the options are in effect: the paper's loss from the same initial weights (what the benchmark once timed) is another number
      const paper = CrevNet.create(cfg, 3);
      const plain = tf.tidy(() => paper.loss(tf.tensor5d(uint8ToFloat(batch), shape)).dataSync()[0]!);
      paper.dispose();
      assert.notEqual(plain, ours[0]);
    } finally {
      bench.dispose();
      optimizer.dispose();
      await Promise.all(pools.map((p) => p?.close()));
      [benched, trained].forEach((m) => m.dispose());
    }
  }
});
