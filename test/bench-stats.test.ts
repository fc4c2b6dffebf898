/** Benchmark statistics: summaries, the settle rule of the warm-up, and the spread warning, on injected samples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSettled, spreadWarnings, summarize, timeSettled, SPREAD_WARNING } from '../src/bench/stats.js';

test('summarize: median, range and relative spread', () => {
  const f = summarize([1.2, 1.0, 1.1, 1.4, 1.0]);
  assert.equal(f.median, 1.1);
  assert.equal(f.min, 1.0);
  assert.equal(f.max, 1.4);
  assert.ok(Math.abs(f.spread - 0.4 / 1.1) < 1e-12);
  assert.deepEqual(f.samples, [1.2, 1.0, 1.1, 1.4, 1.0]);
  assert.throws(() => summarize([]), /no samples/);
});

test('isSettled: the last window of samples within the tolerance of their median', () => {
  assert.equal(isSettled([5, 1.0, 1.05, 0.98], 3, 0.1), true);
  assert.equal(isSettled([1.0, 1.3, 1.0], 3, 0.1), false);
  assert.equal(isSettled([1.0, 1.0], 3, 0.1), false, 'fewer samples than the window');
});

test('timeSettled warms up until the step time settles, then times `repeats` runs', async () => {
  // a fake clock: each run of the step advances it by the next scripted duration (ms)
  const clock = (script: number[]) => {
    let t = 0;
    let i = 0;
    return { now: () => t, run: () => void (t += script[i++] ?? script[script.length - 1]!) };
  };
  // slow first runs (set-up, heap growth), then steady at 10 ms
  const a = clock([50, 30, 20, 10, 10, 10, 11, 9, 10]);
  const t = await timeSettled(a.run, { repeats: 3, minWarmup: 1, maxWarmup: 10, window: 3, tolerance: 0.1, now: a.now });
  assert.ok(t.settled);
  assert.deepEqual(t.warmupSamples, [0.05, 0.03, 0.02, 0.01, 0.01, 0.01]);
  assert.equal(t.warmupRuns, 6);
  assert.deepEqual(t.samples, [0.011, 0.009, 0.01]);
  assert.equal(t.median, 0.01);

  // never settles: stops at the warm-up limit and says so
  const b = clock([2, 20, 2, 20, 2, 20, 2, 20, 2, 20]);
  const noisy = await timeSettled(b.run, { repeats: 2, maxWarmup: 5, window: 3, tolerance: 0.1, now: b.now });
  assert.equal(noisy.warmupRuns, 5);
  assert.equal(noisy.settled, false);
  assert.equal(noisy.samples.length, 2);
});

test('spreadWarnings flags exactly the figures spread by more than 20% of their median', () => {
  assert.equal(SPREAD_WARNING, 0.2);
  const w = spreadWarnings({
    'training step': summarize([1.0, 1.1, 1.3]), // spread 0.3/1.1 = 27%
    inference: summarize([10, 10.5, 11]), // 9.5%
    edge: summarize([1.0, 1.0, 1.2]), // exactly 20%: not flagged
    missing: undefined,
    single: summarize([5]),
  });
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^training step: samples spread 27% of the median \(1\.00–1\.30, median 1\.10\)/);
});
