/** Paired comparisons (src/eval/paired.ts): the 95% interval of per-sequence differences and the better/tied/worse verdicts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineVerdicts, compareWithBaselines, countVerdicts, pairedComparison, Z95 } from '../src/eval/paired.js';
import { MetricsAccumulator } from '../src/eval/metrics.js';

test('paired interval: mean ± 1.96·sd/√n of the per-sequence differences', () => {
  // differences 1, 2, 3, 4: mean 2.5, sample sd √(5/3)
  const [c] = pairedComparison([[2, 4, 6, 8]], [[1, 2, 3, 4]], true);
  const half = (Z95 * Math.sqrt(5 / 3)) / 2;
  assert.ok(Math.abs(c!.diff - 2.5) < 1e-12);
  assert.ok(Math.abs(c!.lo - (2.5 - half)) < 1e-12 && Math.abs(c!.hi - (2.5 + half)) < 1e-12);
  assert.equal(c!.verdict, 'better');
  // the same numbers where lower is better (MSE): worse
  assert.equal(pairedComparison([[2, 4, 6, 8]], [[1, 2, 3, 4]], false)[0]!.verdict, 'worse');
});

test('pairing matters: a constant small gap is better, the same mean gap in noise is tied', () => {
  const n = 400;
  const base = Array.from({ length: n }, (_, i) => 0.5 + 0.3 * Math.sin(i * 12.9898));
  const steady = base.map((v) => v + 0.001);
  // same mean gap (+0.001), but each sequence off by ±0.05
  const noisy = base.map((v, i) => v + 0.001 + (i % 2 === 0 ? 0.05 : -0.05));
  const [a, b] = pairedComparison([steady, noisy], [base, base], true);
  assert.equal(a!.verdict, 'better');
  assert.equal(b!.verdict, 'tied');
  assert.ok(b!.lo < 0 && b!.hi > 0);
  // identical forecasts: a zero-width interval at 0 is a tie, not a win
  assert.equal(pairedComparison([base], [base], true)[0]!.verdict, 'tied');
});

test('one sequence cannot decide; mismatched inputs are refused', () => {
  assert.equal(pairedComparison([[0.9]], [[0.1]], true)[0]!.verdict, 'tied');
  assert.throws(() => pairedComparison([[1, 2]], [[1]], true), /2 model scores but 1/);
  assert.throws(() => pairedComparison([[1], [2]], [[1]], true), /2 steps vs 1/);
});

test('against both baselines: better only if better than each, worse if worse than either', () => {
  const v = (verdict: 'better' | 'tied' | 'worse') => ({ diff: 0, lo: 0, hi: 0, verdict });
  const both = combineVerdicts([
    [v('better'), v('better'), v('tied'), v('better')],
    [v('better'), v('tied'), v('better'), v('worse')],
  ]);
  assert.deepEqual(both, ['better', 'tied', 'tied', 'worse']);
  assert.deepEqual(countVerdicts(both), { better: 1, tied: 2, worse: 1 });
});

test('the accumulator keeps every frame score in order, and the eval comparison uses them', () => {
  const H = 8;
  const hw = H * H;
  const horizon = 2;
  const batch = 3;
  const truth = new Float32Array(horizon * batch * hw).map((_, i) => ((i * 7) % 13) / 13);
  const near = truth.map((v, i) => v + (i % 3 === 0 ? 0.02 : -0.01));
  const zeros = new Float32Array(truth.length);
  const accs = [near, truth.map((v) => v * 0.5), zeros].map((pred) => {
    const a = new MetricsAccumulator(horizon, H, H);
    a.add(pred, truth, batch);
    a.add(pred, truth, batch); // a second batch: scores append
    return a;
  });
  const [model, half, black] = accs as [MetricsAccumulator, MetricsAccumulator, MetricsAccumulator];
  const mse = model.sequenceScores('mse');
  assert.equal(mse.length, horizon);
  assert.equal(mse[0]!.length, 2 * batch);
  const r = model.result();
  for (let t = 0; t < horizon; t++) {
    const mean = mse[t]!.reduce((s, x) => s + x, 0) / mse[t]!.length;
    assert.ok(Math.abs(mean - r.perFrame.mse[t]!) < 1e-9);
  }
  const c = compareWithBaselines(model, half, black);
  assert.deepEqual(c.bothBaselines.mse, ['better', 'better']);
  assert.deepEqual(c.bothBaselines.ssim, ['better', 'better']);
  // swapped roles: black frames against the near-perfect forecast lose everywhere
  const back = compareWithBaselines(black, half, model);
  assert.deepEqual(back.bothBaselines.mse, ['worse', 'worse']);
});
