/** Forecasters and their scoring loop (src/eval/forecast.ts): a perfect predictor, the baselines, batch-size independence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyLastForecaster, oracleForecaster, runForecasters, zerosForecaster } from '../src/eval/forecast.js';
import { ArraySequenceSource, GeneratedSequenceSource } from '../src/eval/sources.js';
import { loadMnistDigits } from '../src/data/idx.js';
import { generateSequences } from '../src/data/moving-mnist.js';
import { Rng } from '../src/data/rng.js';

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
