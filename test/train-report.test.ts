/** The run report's figure: validation scores from an earlier validation set are drawn as their own series. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossCurveSvg, type RunReportInput } from '../src/train/report.js';
import { TrainConfigSchema } from '../src/train/config.js';

function input(val: RunReportInput['metrics']['val'], count: number): RunReportInput {
  return {
    metrics: { train: [1, 2, 3, 4].map((step) => ({ step, loss: 1 / step, lr: 1e-3, gradNorm: 1, sec: 1 })), val },
    baselines: { copyLast: { mse: 287, ssim: 0.66 }, zeros: { mse: 174, ssim: 0.78 } },
    status: 'completed',
    step: 4,
    settings: TrainConfigSchema.parse({ l1: 1 }),
    config: { name: 'tiny', model: {} },
    params: { total: 10, encoder: 4, predictor: 6 },
    best: null,
    trainSeconds: 1,
    sessionSecondsPerIteration: 1,
    backend: 'cpu',
    validation: { count, seed: 1, context: 10, horizon: 10 },
  };
}
const score = (step: number, count: number | undefined, ssim: number) => ({ step, ...(count ? { count } : {}), mse: 150, mae: 200, ssim, ssimStrict: ssim, psnr: 14 });

test('validation scores on an earlier set are a separate, labelled series; the current set is "model"', () => {
  const svg = lossCurveSvg(input([score(1, 64, 0.5), score(2, 64, 0.6), score(3, 256, 0.7), score(4, 256, 0.71)], 256), 'run');
  assert.match(svg, /model \(earlier set, 64 sequences\)/);
  assert.match(svg, /Validation SSIM \(256 sequences/);
  assert.match(svg, /MSE \+ 1·L1/, 'the loss label names the L1 term');
  const one = lossCurveSvg(input([score(1, undefined, 0.5), score(2, 256, 0.6)], 256), 'run');
  assert.doesNotMatch(one, /earlier set/, 'records without a count (older logs) count as the current set');
});
