/** Plot helpers (src/report/plot.ts): nice axis ticks, compact labels, moving average. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTick, linearTicks, logTicks, movingAverage } from '../src/report/plot.js';

test('axis ticks are nice and labels compact', () => {
  assert.deepEqual(linearTicks(0, 1, 5).map((v) => +v.toFixed(10)), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearTicks(10, 19, 6, true), [10, 12, 14, 16, 18]);
  assert.deepEqual(logTicks(0.05, 3), [0.05, 0.1, 0.2, 0.5, 1, 2]);
  assert.deepEqual(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
  assert.equal(formatTick(0.30000000000000004, 0.1), '0.3');
  assert.equal(formatTick(20000, 5000), '20k');
  assert.equal(formatTick(1500000, 500000), '1.5M');
  const ma = movingAverage([1, 2, 3, NaN, 5], 3);
  assert.deepEqual(ma, [1.5, 2, 2.5, 4, 5]);
});
