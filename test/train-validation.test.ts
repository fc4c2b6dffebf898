/** Validation's per-frame check against both baselines (the first half of the bundled model's quality bar). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsAccumulator } from '../src/eval/metrics.js';
import { framesBeatingBaselines, frameVerdicts, validationNote, validationRecord, type ValidationSet } from '../src/train/validation.js';

/** Score time-major [horizon, batch, H, W] predictions (one per step from `predict`) against `truth`. */
function scored(truth: Float32Array, horizon: number, batch: number, H: number, predict: (t: number, v: number, i: number) => number): MetricsAccumulator {
  const acc = new MetricsAccumulator(horizon, H, H);
  const per = batch * H * H;
  acc.add(truth.map((v, i) => predict(Math.floor(i / per), v, i)), truth, batch);
  return acc;
}

test('validation counts frames beating both baselines, with paired verdicts; the record and the progress line carry them', () => {
  const H = 8;
  const horizon = 4;
  const batch = 12;
  const truth = new Float32Array(horizon * batch * H * H).map((_, i) => ((i * 37) % 101) / 101);
  const copyLast = scored(truth, horizon, batch, H, (_t, v, i) => (i % 5 === 0 ? 1 : 1 - v));
  const zeros = scored(truth, horizon, batch, H, () => 0);
  // frames 0, 1: close to the truth (better); frame 2: black frames exactly (tied with black); frame 3: inverted (worse)
  const model = scored(truth, horizon, batch, H, (t, v, i) => (t < 2 ? v + (i % 3 === 0 ? 0.02 : -0.01) : t === 2 ? 0 : 1 - v));
  const curves = (a: MetricsAccumulator) => ({ mse: a.result().perFrame.mse, ssim: a.result().perFrame.ssim });
  const v = {
    count: batch,
    batch,
    context: 10,
    horizon,
    baselines: { copyLast: { mse: copyLast.result().mse, ssim: copyLast.result().ssim }, zeros: { mse: zeros.result().mse, ssim: zeros.result().ssim } },
    baselinesPerFrame: { copyLast: curves(copyLast), zeros: curves(zeros) },
    baselineScores: { copyLast, zeros },
  } as unknown as ValidationSet;
  const s = { report: model.result(), scores: model };
  // raw means: frame 2 ties black exactly, so it is no win; frame 3 loses
  assert.deepEqual(framesBeatingBaselines(s.report, v), { mse: 2, ssim: 2, frames: 4 });
  assert.deepEqual(frameVerdicts(s, v), { mse: ['better', 'better', 'tied', 'worse'], ssim: ['better', 'better', 'tied', 'worse'] });
  const rec = validationRecord(100, v, s, true, 1);
  assert.deepEqual(rec.framesBeatingBaselines, { mse: 2, ssim: 2, frames: 4 });
  assert.deepEqual(rec.verdicts, frameVerdicts(s, v));
  assert.deepEqual(rec.perFrame, curves(model));
  assert.match(validationNote(v, rec), /better than both baselines beyond noise in SSIM on 2\/4 frames \(worse on 1\), MSE on 2\/4 frames \(worse on 1\) → best\/$/);
});
