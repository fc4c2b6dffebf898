/** Batch prediction (src/predict/batch.ts): input expansion, output planning, one bad input among good ones, no leaks. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CrevNet } from '../src/model/crevnet.js';
import { ClipBatcher, expandInputs, isFailure, planOutputs, predictBatch, summaryTable, batchExitCode } from '../src/predict/batch.js';
import { loadClip, type Clip, type ClipPredictor } from '../src/predict/predict.js';
import { UserError } from '../src/runtime/errors.js';
import { batchDirs, predictFixture, skip, type PredictFixture } from './predict-helpers.js';

let tmp: PredictFixture['tmp'];
let model: CrevNet;
let sample: string;
let fixture: PredictFixture;

before(async () => {
  if (skip) return;
  fixture = await predictFixture();
  ({ tmp, model, sample } = fixture);
});

after(() => {
  if (skip) return;
  model.dispose();
  tmp.cleanup();
});

describe('batch', { skip }, () => {
  test('expandInputs: files, directories, globs; missing path / empty directory / no match are UserErrors', async () => {
    const dir = join(tmp.dir, 'inputs');
    mkdirSync(dir);
    copyFileSync(sample, join(dir, 'b.mp4'));
    copyFileSync(sample, join(dir, 'a.mp4'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    assert.deepEqual(await expandInputs([dir]), [join(dir, 'a.mp4'), join(dir, 'b.mp4')]);
    assert.deepEqual((await expandInputs([join(dir, '*.mp4'), join(dir, 'a.mp4')])).map((p) => resolve(p)), [
      join(dir, 'a.mp4'),
      join(dir, 'b.mp4'),
    ]);
    await assert.rejects(expandInputs([join(dir, 'missing.mp4')]), (e: unknown) => e instanceof UserError && /no such file/.test(e.message));
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.txt'), 'x');
    await assert.rejects(expandInputs([empty]), /contains no videos/);
    await assert.rejects(expandInputs([join(dir, '*.webm')]), /no file matches/);
  });

  test('several inputs with one bad file: the good ones finish, the bad one is reported', async () => {
    const { dir, out: outDir } = batchDirs(fixture, 'batch', ['one.mp4', 'two.mp4'], 'bad.mp4');
    const inputs = await expandInputs([dir]);
    const plans = await planOutputs(inputs, { out: outDir, format: 'gif' });
    const lines: string[] = [];
    const results = await predictBatch(model, plans, { concurrency: 2, start: 10, onProgress: (l) => lines.push(l) });
    assert.equal(results.length, 3);
    const bad = results.find((r) => r.input.endsWith('bad.mp4'));
    assert.ok(bad && isFailure(bad));
    assert.match(bad.error, /bad\.mp4 is not a video file/);
    assert.equal(bad.exitCode, 2);
    const good = results.filter((r) => !isFailure(r));
    assert.equal(good.length, 2);
    assert.deepEqual(readdirSync(outDir).sort(), ['one.gif', 'two.gif']);
    assert.equal(lines.length, 3);
    assert.ok(lines.some((l) => /bad\.mp4: failed: /.test(l)));
    const table = summaryTable(results);
    assert.match(table, /^input\s+frames\s+fps\s+output\s+seconds\s+SSIM/);
    assert.match(table, /bad\.mp4\s+-\s+-\s+FAILED/);
    assert.match(table, /1 of 3 inputs failed:\n  \S*bad\.mp4: \S*bad\.mp4 is not a video file/);
    assert.match(table, /one\.mp4\s+20\s+10\s+\S+one\.gif\s+[\d.]+\s+[-\d.]+/);
    assert.equal(batchExitCode(results), 2);
  });

  test('planOutputs: clashing names get suffixes, an output never overwrites an input, --out file for one input', async () => {
    const a = join(tmp.dir, 'pa');
    const b = join(tmp.dir, 'pb');
    mkdirSync(a);
    mkdirSync(b);
    copyFileSync(sample, join(a, 'clip.mp4'));
    copyFileSync(sample, join(b, 'clip.mp4'));
    const plans = await planOutputs([join(a, 'clip.mp4'), join(b, 'clip.mp4')], { out: a });
    assert.deepEqual(plans.map((p) => p.out), [join(a, 'clip-2.mp4'), join(a, 'clip-3.mp4')]);
    const one = await planOutputs([join(a, 'clip.mp4')], { out: join(b, 'pred.gif') });
    assert.deepEqual(one, [{ input: join(a, 'clip.mp4'), out: join(b, 'pred.gif'), format: 'gif' }]);
    await assert.rejects(planOutputs([join(a, 'clip.mp4'), join(b, 'clip.mp4')], { out: join(tmp.dir, 'nope') }), /does not exist/);
  });

  test('memory: a batch of 20 clips leaves tf.memory().numTensors where it started', async () => {
    const outDir = join(tmp.dir, 'many');
    mkdirSync(outDir);
    const inputs = Array.from({ length: 20 }, () => sample);
    const plans = inputs.map((input, i) => ({ input, out: join(outDir, `p${i}.mp4`), format: 'mp4' as const }));
    // the model keeps the filters it prepares for predict: make them before counting
    tf.tidy(() => void model.predict(tf.zeros([5, 1, 32, 32, 1]), 4));
    const before = tf.memory().numTensors;
    const results = await predictBatch(model, plans, { concurrency: 2, start: 10, context: 5, horizon: 4, scale: 1 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(results.filter(isFailure).length, 0);
    assert.equal(readdirSync(outDir).length, 20);
  });

  test('ClipBatcher: the clips that arrive during a rollout go into the next one (at most max), each gets its own frames', async () => {
    const base = await loadClip(sample, { width: 32, height: 32 }, { start: 10, context: 5, horizon: 2 });
    const clip = (i: number): Clip => ({ ...base, input: `clip${i}`, context: base.context.map((f) => f.map(() => 10 * i)) });
    let release!: () => void;
    let first = true;
    // predicts every frame of a sequence as its first context frame; the first rollout waits to be released
    const predictor: ClipPredictor = async (data, shape, horizon) => {
      if (first) {
        first = false;
        await new Promise<void>((r) => (release = r));
      }
      const [, n, h, w] = shape;
      const hw = h * w;
      const out = new Float32Array(horizon * n * hw);
      for (let t = 0; t < horizon; t++) for (let b = 0; b < n; b++) out.set(data.subarray(b * hw, (b + 1) * hw), (t * n + b) * hw);
      return out;
    };
    const batcher = new ClipBatcher(predictor, 3);
    const done = [batcher.infer(clip(0))];
    for (let i = 1; i <= 4; i++) done.push(batcher.infer(clip(i)));
    release();
    const results = await Promise.all(done);
    assert.deepEqual(batcher.batches, [1, 3, 1]);
    results.forEach((r, i) => {
      assert.equal(r.frames.length, 2);
      assert.ok(r.frames.every((f) => f.every((v) => v === 10 * i)), `clip ${i} got its own frames`);
    });
  });

  test('several inputs: the same scores on 1 and 2 threads (the rollouts batched over a worker pool)', async () => {
    const outDir = join(tmp.dir, 'threads');
    mkdirSync(outDir);
    const plans = Array.from({ length: 4 }, (_, i) => ({ input: sample, out: join(outDir, `p${i}.gif`), format: 'gif' as const }));
    const scores = async (workers: number) => {
      const r = await predictBatch(model, plans, { concurrency: 2, start: 10, context: 5, horizon: 4, scale: 1, workers });
      return r.map((x) => (isFailure(x) ? x.error : x.perFrame));
    };
    const one = await scores(1);
    assert.ok(one.every((p) => typeof p === 'object' && p.ssim.length === 4));
    assert.deepEqual(await scores(2), one);
  });
});
