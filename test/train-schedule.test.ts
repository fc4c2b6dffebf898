/** Learning-rate schedules (src/train/schedule.ts): constant, step decay, one-cycle as PyTorch computes them, resume safety. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt, describeSchedule } from '../src/train/schedule.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);

test('constant schedule', () => {
  for (const s of [0, 5, 1e6]) assert.equal(learningRateAt({ type: 'constant' }, 5e-4, s, 100), 5e-4);
});

test('step decay multiplies by gamma at each milestone reached (MultiStepLR)', () => {
  const sch = { type: 'step' as const, milestones: [3, 6], gamma: 0.2 };
  const got = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => learningRateAt(sch, 1, s, 10));
  const want = [1, 1, 1, 0.2, 0.2, 0.2, 0.04, 0.04];
  got.forEach((g, i) => close(g, want[i]!));
});

test('one-cycle matches PyTorch OneCycleLR (cos, total 10, max_lr 1, defaults)', () => {
  const sch = { type: 'onecycle' as const, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 };
  // OneCycleLR(max_lr=1, total_steps=10): phase ends at 0.3·10−1 = 2 and 9, cos annealing 0.04 → 1 → 4e-6
  // (values from a Python transcription of torch's OneCycleLR.get_lr)
  const want = [0.04, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893, 0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-6];
  const got = want.map((_, s) => learningRateAt(sch, 1, s, 10));
  got.forEach((g, i) => close(g, want[i]!, 1e-6));
  // past the end it stays at the final rate; warm-up peak is the configured lr
  close(learningRateAt(sch, 1, 25, 10), 4e-6);
  assert.equal(Math.max(...got), 1);
});

test('one-cycle with linear annealing', () => {
  const sch = { type: 'onecycle' as const, pctStart: 0.5, divFactor: 10, finalDivFactor: 10, anneal: 'linear' as const };
  // total 5: end1 = 1.5, end2 = 4; initial 0.1, min 0.01
  close(learningRateAt(sch, 1, 0, 5), 0.1);
  close(learningRateAt(sch, 1, 1, 5), 0.1 + (0.9 * 1) / 1.5);
  close(learningRateAt(sch, 1, 4, 5), 0.01);
});

test('the schedule depends only on the step (resume-safe) and descriptions are readable', () => {
  const sch = { type: 'onecycle' as const, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 };
  const a = Array.from({ length: 50 }, (_, s) => learningRateAt(sch, 5e-3, s, 50));
  const b = [...Array.from({ length: 25 }, (_, s) => learningRateAt(sch, 5e-3, s, 50)), ...Array.from({ length: 25 }, (_, s) => learningRateAt(sch, 5e-3, s + 25, 50))];
  assert.deepEqual(a, b);
  assert.match(describeSchedule(sch, 5e-3), /one-cycle, peak 0.005/);
});
