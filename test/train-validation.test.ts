/** Validation's per-frame check against both baselines (the first half of the bundled model's quality bar). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsReport } from '../src/eval/metrics.js';
import { framesBeatingBaselines, validationNote, validationRecord, type ValidationSet } from '../src/train/validation.js';

test('frames beating both baselines are counted per metric; the record and the progress line carry them', () => {
  const v = {
    count: 2,
    batch: 2,
    context: 10,
    horizon: 4,
    baselines: { copyLast: { mse: 250, ssim: 0.7 }, zeros: { mse: 170, ssim: 0.78 } },
    baselinesPerFrame: {
      copyLast: { mse: [200, 250, 270, 280], ssim: [0.75, 0.7, 0.68, 0.66] },
      zeros: { mse: [170, 170, 170, 170], ssim: [0.78, 0.78, 0.78, 0.78] },
    },
  } as unknown as ValidationSet;
  const curve = { mse: [80, 150, 170, 260], ssim: [0.83, 0.79, 0.77, 0.8], mae: [0, 0, 0, 0], ssimStrict: [0, 0, 0, 0], psnr: [0, 0, 0, 0] };
  const m = { frames: 8, mse: 165, mae: 0, ssim: 0.7975, ssimStrict: 0, psnr: 0, perFrame: curve } as MetricsReport;
  // MSE: frames 0, 1 (170 ties black: not a win; 260 loses to black); SSIM: 0, 1, 3 (0.77 loses to black)
  assert.deepEqual(framesBeatingBaselines(m, v), { mse: 2, ssim: 3, frames: 4 });
  const rec = validationRecord(100, v, m, true, 1);
  assert.deepEqual(rec.framesBeatingBaselines, { mse: 2, ssim: 3, frames: 4 });
  assert.deepEqual(rec.perFrame, { mse: curve.mse, ssim: curve.ssim });
  assert.match(validationNote(100, v, m, true), /beats both baselines in SSIM on 3\/4 frames, in MSE on 2\/4 → best\/$/);
});
