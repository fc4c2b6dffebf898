/** The seeded generator (src/data/rng.ts): determinism, golden values, state round trip, ranges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/data/rng.js';
import { UserError } from '../src/runtime/errors.js';

test('Rng is deterministic for a seed and differs between seeds', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 100 }, () => a.uint32());
  const xb = Array.from({ length: 100 }, () => b.uint32());
  const xc = Array.from({ length: 100 }, () => c.uint32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  for (const v of xa) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
  // distinct seeds beyond 32 bits and negative seeds give distinct streams
  assert.notEqual(new Rng(2 ** 32).uint32(), new Rng(0).uint32());
  assert.notEqual(new Rng(-1).uint32(), new Rng(1).uint32());
});

test('Rng produces the same numbers on every machine (golden values, pure 32-bit math)', () => {
  const r = new Rng(0);
  const got = Array.from({ length: 4 }, () => r.uint32());
  // Fixed once from this implementation; any change of algorithm or seeding breaks reproducibility.
  assert.deepEqual(got, GOLDEN_SEED0);
});

test('Rng state round trip continues the exact stream, through JSON', () => {
  const r = new Rng(7);
  for (let i = 0; i < 37; i++) r.next();
  const saved = JSON.parse(JSON.stringify(r.state()));
  const expected = Array.from({ length: 50 }, () => r.next());
  const restored = Rng.fromState(saved);
  assert.deepEqual(Array.from({ length: 50 }, () => restored.next()), expected);
  assert.throws(() => Rng.fromState({ algorithm: 'mulberry32', state: [1, 2, 3, 4] }), UserError);
  assert.throws(() => Rng.fromState({ algorithm: 'sfc32', state: [1, 2, 3] }), UserError);
  assert.throws(() => Rng.fromState({ algorithm: 'sfc32', state: [1, 2, 3, 2 ** 32] }), UserError);
  assert.throws(() => new Rng(0.5), UserError);
});

test('next() is in [0,1) with a plausible mean; int(n) is in range and covers all values', () => {
  const r = new Rng(1);
  let sum = 0;
  for (let i = 0; i < 20000; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    sum += v;
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01, `mean ${sum / 20000}`);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) counts[r.int(7)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `counts ${counts}`);
  assert.equal(r.int(1), 0);
  assert.throws(() => r.int(0), RangeError);
});

// Cross-checked against a C implementation of PractRand sfc32 + splitmix32 seeding (12 warm-up draws).
const GOLDEN_SEED0 = [548183886, 1097162541, 2219297441, 1664216021];
