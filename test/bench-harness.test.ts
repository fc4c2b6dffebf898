/**
 * The benchmark harness (src/bench/harness.ts) through `crevnet bench`: JSON shape and finite values on the
 * tiny config (no timing asserts), bad options, memory-table configs, and the training step it times being
 * crevnet train's own.
 */
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
import { assertUserError, runCli } from './cli-helpers.js';

const isPositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('crevnet bench --json on tiny: documented shape, finite values, reversible memory present', async () => {
  const r = await runCli(['--backend', 'wasm', 'bench', '--config', 'tiny', '--json', '--repeats', '1', '--warmup', '0', '--frames', '6', '--infer-batch', '2', '--memory-blocks', '2,4', '--workers', '2'], { timeout: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.backend, 'wasm');
  assert.equal(j.config, 'tiny');
  assert.ok(isPositive(j.trainStepSeconds), `trainStepSeconds ${String(j.trainStepSeconds)}`);
  assert.equal(j.workers, 2, 'the training step ran data parallel on 2 threads');
  assert.ok(isPositive(j.inferSeqPerSecond), `inferSeqPerSecond ${String(j.inferSeqPerSecond)}`);
  assert.equal(typeof j.roundTripMaxError, 'number');
  assert.ok((j.roundTripMaxError as number) >= 0 && (j.roundTripMaxError as number) < 1e-3, `round trip ${String(j.roundTripMaxError)}`);
  const m = j.memory as { blocks: number[]; plainPeakBytes: unknown[]; reversiblePeakBytes: unknown[] };
  assert.deepEqual(m.blocks, [2, 4]);
  assert.equal(m.plainPeakBytes.length, 2);
  assert.equal(m.reversiblePeakBytes.length, 2);
  for (const v of m.plainPeakBytes) assert.ok(isPositive(v));
  for (const v of m.reversiblePeakBytes) assert.ok(isPositive(v), `reversible peak ${String(v)}`);
  const d = j.details as { tensorsLeaked: number; trainBatch: number; frames: number };
  assert.equal(d.tensorsLeaked, 0, 'the harness leaks no tensors');
  assert.equal(d.frames, 6);
  assert.equal(j.peer, undefined);
});

test('crevnet bench rejects bad options with a one-line error', async () => {
  const r = await runCli(['bench', '--config', 'tiny', '--memory-blocks', '2,x']);
  assertUserError(r, /^error: --memory-blocks/, 'bench --memory-blocks 2,x');
});

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
