/** The one uint8 ↔ float conversion (src/data/pixels.ts): b / 255, and round(clamp(v, 0, 1) · 255) with NaN → 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatToUint8, uint8ToFloat } from '../src/data/pixels.js';

test('uint8ToFloat: b / 255, into a new array or at an offset of a given one', () => {
  const f = uint8ToFloat(Uint8Array.from([0, 51, 255]));
  assert.ok(f instanceof Float32Array);
  assert.deepEqual([...f], [0, Math.fround(0.2), 1]);
  const dst = new Float32Array(5).fill(-1);
  assert.equal(uint8ToFloat(Uint8Array.from([255, 51]), dst, 3), dst);
  assert.deepEqual([...dst], [-1, -1, -1, 1, Math.fround(0.2)]);
  assert.throws(() => uint8ToFloat(new Uint8Array(3), new Float32Array(4), 2), RangeError);
});

test('floatToUint8: clamp to [0, 1], round(v · 255); NaN and −∞ give 0, +∞ gives 255', () => {
  assert.deepEqual([...floatToUint8(Float32Array.from([-0.5, 0, 0.5, 1, 1.7]))], [0, 0, 128, 255, 255]);
  assert.deepEqual([...floatToUint8([NaN, -Infinity, Infinity, -0])], [0, 0, 255, 0]);
  // rounding to nearest at the byte boundaries: 0.5/255 → 1, just below → 0
  assert.deepEqual([...floatToUint8([0.5 / 255, 0.49 / 255, 254.5 / 255, 254.49 / 255])], [1, 0, 255, 254]);
  assert.deepEqual([...floatToUint8(Float32Array.from([0.1, 0.2, 0.3, 0.4]), 1, 2)], [51, 77]);
  assert.throws(() => floatToUint8(new Float32Array(4), 3, 2), RangeError);
});

test('bytes → floats → bytes is the identity', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(floatToUint8(uint8ToFloat(bytes)), bytes);
});
