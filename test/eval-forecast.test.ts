import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { copyLastForecaster, oracleForecaster, runForecasters, zerosForecaster, modelForecaster } from '../src/eval/forecast.js';
import { ArraySequenceSource, GeneratedSequenceSource, NpySequenceSource } from '../src/eval/sources.js';
import { evaluate } from '../src/eval/evaluate.js';
import { formatEvalTable, perFrameCsv } from '../src/eval/report.js';
import { writeNpy } from '../src/data/npy.js';
import { loadMnistDigits } from '../src/data/idx.js';
import { generateSequences } from '../src/data/moving-mnist.js';
import { Rng } from '../src/data/rng.js';
import { UserError } from '../src/runtime/errors.js';
import { initBackend } from '../src/runtime/backend.js';

const FORECASTERS = { model: oracleForecaster, copyLast: copyLastForecaster, zeros: zerosForecaster };

test('a perfect predictor scores SSIM 1 and MSE 0 through the metrics path; baselines are finite', async () => {
  const src = await GeneratedSequenceSource.create(6, 0);
  const r = await runForecasters(src, FORECASTERS, { context: 10, horizon: 10, batch: 4, stripCount: 2 });
  const m = r.reports.model!;
  assert.equal(r.count, 6);
  assert.equal(m.frames, 60);
  assert.equal(m.mse, 0);
  assert.equal(m.mae, 0);
  assert.equal(m.ssim, 1);
  assert.equal(m.ssimStrict, 1);
  assert.equal(m.psnr, Infinity);
  for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
    assert.equal(m.perFrame[k].length, 10);
    for (const b of ['copyLast', 'zeros']) {
      const rep = r.reports[b]!;
      assert.equal(rep.perFrame[k].length, 10);
      assert.ok(Number.isFinite(rep[k]), `${b}.${k}`);
    }
  }
  // zeros: MSE = Σ g², MAE = Σ g over the predicted frames
  assert.ok(r.reports.zeros!.mse > 50 && r.reports.zeros!.mse < 400, `zeros MSE ${r.reports.zeros!.mse}`);
  assert.ok(r.reports.zeros!.ssim < 1 && r.reports.copyLast!.ssim < 1);
  assert.equal(r.strips.length, 2);
  assert.equal(r.strips[0]!.context.length, 10);
  assert.equal(r.strips[0]!.prediction.length, 10);
});

test('zeros baseline equals an independent computation (MSE = Σg², MAE = Σg per frame)', async () => {
  const digits = await loadMnistDigits('test');
  const data = generateSequences(digits, 3, new Rng(5));
  const src = new ArraySequenceSource(data, 20, 3, 64, 64);
  const r = await runForecasters(src, { zeros: zerosForecaster }, { context: 10, horizon: 10, batch: 2 });
  let se = 0;
  let ae = 0;
  for (let t = 10; t < 20; t++)
    for (let i = 0; i < 3 * 4096; i++) {
      const g = data[t * 3 * 4096 + i]! / 255;
      se += g * g;
      ae += g;
    }
  assert.ok(Math.abs(r.reports.zeros!.mse - se / 30) < 1e-6 * se, `${r.reports.zeros!.mse} vs ${se / 30}`);
  assert.ok(Math.abs(r.reports.zeros!.mae - ae / 30) < 1e-6 * ae, `${r.reports.zeros!.mae} vs ${ae / 30}`);
});

test('results do not depend on the batch size; generated sets are prefix-stable', async () => {
  const a = await runForecasters(await GeneratedSequenceSource.create(5, 3), FORECASTERS, { context: 10, horizon: 10, batch: 2 });
  const b = await runForecasters(await GeneratedSequenceSource.create(5, 3), FORECASTERS, { context: 10, horizon: 10, batch: 5 });
  assert.deepEqual(a.reports.copyLast, b.reports.copyLast);
  const digits = await loadMnistDigits('test');
  const all = generateSequences(digits, 5, new Rng(3));
  const c = await runForecasters(new ArraySequenceSource(all, 20, 5, 64, 64), FORECASTERS, { context: 10, horizon: 10, batch: 3 });
  assert.deepEqual(c.reports.copyLast, a.reports.copyLast);
});

test('.npy source: partial reads give the same numbers; wrong shapes are one-line user errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-npy-'));
  try {
    const digits = await loadMnistDigits('test');
    const data = generateSequences(digits, 5, new Rng(9));
    const file = join(dir, 'seq.npy');
    await writeNpy(file, { dtype: 'uint8', shape: [20, 5, 64, 64], data });
    const src = await NpySequenceSource.open(file, { height: 64, width: 64 });
    assert.equal(src.count, 5);
    assert.equal(src.standard, false);
    const a = await runForecasters(src, FORECASTERS, { context: 10, horizon: 10, batch: 2 });
    await src.close();
    const b = await runForecasters(new ArraySequenceSource(data, 20, 5, 64, 64), FORECASTERS, { context: 10, horizon: 10, batch: 5 });
    assert.deepEqual(a.reports.copyLast, b.reports.copyLast);
    const first = await NpySequenceSource.open(file, { height: 64, width: 64, count: 2 });
    assert.equal(first.count, 2);
    await first.close();

    const bad3 = join(dir, 'bad3.npy');
    await writeNpy(bad3, { dtype: 'uint8', shape: [20, 64, 64], data: new Uint8Array(20 * 64 * 64) });
    await assert.rejects(NpySequenceSource.open(bad3, { height: 64, width: 64 }), (e: unknown) => e instanceof UserError && /expected a time-major uint8 array/.test(e.message));
    const bad32 = join(dir, 'bad32.npy');
    await writeNpy(bad32, { dtype: 'uint8', shape: [20, 2, 32, 32], data: new Uint8Array(20 * 2 * 32 * 32) });
    await assert.rejects(NpySequenceSource.open(bad32, { height: 64, width: 64 }), (e: unknown) => e instanceof UserError && /32×32/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('evaluate() with an in-memory predictor: baselines beside it, report fields, protocol checks', async () => {
  await initBackend('cpu');
  // a "model" that predicts black frames must score exactly like the zeros baseline
  const blackModel = { predict: (ctx: tf.Tensor5D, horizon: number) => tf.zeros([horizon, ...ctx.shape.slice(1)] as [number, number, number, number, number]) as tf.Tensor5D, config: { name: 'black', imageSize: [64, 64, 1] } };
  const before = tf.memory().numTensors;
  const { report } = await evaluate({ predictor: blackModel, count: 4, batch: 3, stripCount: 0 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(report.count, 4);
  assert.equal(report.modelConfig, 'black');
  assert.deepEqual(report.frameIndex, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(report.mse, report.baseline.zeros.mse);
  assert.deepEqual(report.perFrame, report.baseline.zeros.perFrame);
  assert.equal(report.standard, false);
  assert.equal(report.backend, 'cpu');
  assert.ok(report.sequencesPerSecond > 0);
  await assert.rejects(evaluate({ predictor: blackModel, count: 2, context: 2 }), (e: unknown) => e instanceof UserError && /context must be an integer ≥ 3/.test(e.message));
  await assert.rejects(evaluate({ predictor: blackModel, count: 2, context: 12, horizon: 10 }), (e: unknown) => e instanceof UserError && /22 frames/.test(e.message));
  // the model forecaster checks the shape predict returns
  const wrong = modelForecaster({ predict: (ctx: tf.Tensor5D) => tf.zeros([1, ...ctx.shape.slice(1)] as [number, number, number, number, number]) as tf.Tensor5D });
  await assert.rejects(Promise.resolve(wrong({ sequences: new Float32Array(20 * 64 * 64), batch: 1, context: 10, horizon: 10, height: 64, width: 64 })), /returned shape/);
});

test('evaluate() --versus: a second model on the same sequences, with model − versus per frame', async () => {
  await initBackend('cpu');
  const frames = (ctx: tf.Tensor5D, horizon: number) => [horizon, ...ctx.shape.slice(1)] as [number, number, number, number, number];
  const blackModel = { predict: (ctx: tf.Tensor5D, horizon: number) => tf.zeros(frames(ctx, horizon)) as tf.Tensor5D, config: { name: 'black', imageSize: [64, 64, 1] } };
  // repeats the last context frame: must score exactly like the copy-last baseline
  const copyModel = {
    predict: (ctx: tf.Tensor5D, horizon: number) => tf.tidy(() => tf.concat(Array.from({ length: horizon }, () => ctx.slice([ctx.shape[0] - 1], [1])), 0) as tf.Tensor5D),
    config: { name: 'copy', imageSize: [64, 64, 1] },
  };
  const before = tf.memory().numTensors;
  const { report } = await evaluate({ predictor: blackModel, versusPredictor: copyModel, versusLabel: 'copy model', count: 6, batch: 4, stripCount: 0 });
  assert.equal(tf.memory().numTensors, before);
  const v = report.versus!;
  assert.equal(v.model, 'copy model');
  assert.equal(v.modelConfig, 'copy');
  // versus scores are the copy-last baseline's, and (black − copy) is the zeros-vs-copyLast comparison
  assert.deepEqual(v.perFrame, report.baseline.copyLast.perFrame);
  assert.equal(v.ssim, report.baseline.copyLast.ssim);
  assert.deepEqual(v.comparison, report.comparison.copyLast);
  assert.equal(v.comparison.mse.length, 10);
  assert.ok(v.comparison.mse.some((c) => c.verdict !== 'tied'), 'black vs copy-last differ beyond noise on some frame');
  const table = formatEvalTable(report);
  assert.match(table, /^versus {3}copy model \[copy\]$/m);
  assert.match(table, /better than copy model, by more than noise: SSIM on \d+\/10 frames/);
  assert.match(perFrameCsv(report).split('\n')[0]!, /,versus_mse,.*,copyLast_mse,/);
  // a model against itself: every difference is 0 and every frame is tied
  const self = await evaluate({ predictor: blackModel, versusPredictor: blackModel, count: 3, batch: 3, stripCount: 0 });
  for (const c of [...self.report.versus!.comparison.mse, ...self.report.versus!.comparison.ssim]) {
    assert.equal(c.diff, 0);
    assert.equal(c.verdict, 'tied');
  }
  const small = { ...copyModel, config: { name: 'small', imageSize: [32, 32, 1] } };
  await assert.rejects(evaluate({ predictor: blackModel, versusPredictor: small, count: 2 }), (e: unknown) => e instanceof UserError && /different frames \(64×64×1 vs 32×32×1\)/.test(e.message));
});
