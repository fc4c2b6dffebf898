/** Gray-frame helpers (src/video/frames.ts): upscaling, tiling, differences, default scale. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  absDiff,
  defaultScale,
  sideBySide,
  tileFrames,
  upscaleNearest,
} from '../src/video/frames.js';

test('upscaleNearest: each pixel becomes a k×k block', () => {
  const f = Uint8Array.from([1, 2, 3, 4, 5, 6]); // 3×2
  assert.deepEqual(
    [...upscaleNearest(f, 3, 2, 2)],
    [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6],
  );
  const one = upscaleNearest(f, 3, 2, 1);
  assert.deepEqual([...one], [...f]);
  assert.notEqual(one, f, 'k=1 returns a copy');
  assert.throws(() => upscaleNearest(f, 3, 2, 0), RangeError);
  assert.throws(() => upscaleNearest(f, 2, 2, 2), RangeError);
});

test('sideBySide: frames in one row with gap columns', () => {
  const a = Uint8Array.from([1, 2, 3, 4]);
  const b = Uint8Array.from([5, 6, 7, 8]);
  const img = sideBySide([a, b], 2, 2, 1, 9);
  assert.equal(img.width, 5);
  assert.equal(img.height, 2);
  assert.deepEqual([...img.data], [1, 2, 9, 5, 6, 3, 4, 9, 7, 8]);
});

test('tileFrames: grid left→right, top→bottom; empty cells black, gaps coloured', () => {
  const fr = [1, 2, 3].map((v) => new Uint8Array(4).fill(v)); // 2×2 each
  const img = tileFrames(fr, 2, 2, { cols: 2, gap: 1, gapValue: 7 });
  assert.deepEqual([img.width, img.height], [5, 5]);
  assert.deepEqual(
    [...img.data],
    [1, 1, 7, 2, 2, 1, 1, 7, 2, 2, 7, 7, 7, 7, 7, 3, 3, 7, 0, 0, 3, 3, 7, 0, 0],
  );
  const noGap = tileFrames(fr, 2, 2);
  assert.deepEqual([noGap.width, noGap.height], [6, 2]);
});

test('absDiff: |a − b| per pixel, same lengths only', () => {
  assert.deepEqual([...absDiff(Uint8Array.from([0, 10, 255]), Uint8Array.from([5, 3, 0]))], [5, 7, 255]);
  assert.throws(() => absDiff(new Uint8Array(2), new Uint8Array(3)), RangeError);
});

test('defaultScale: smallest K with short side ≥ 256', () => {
  assert.equal(defaultScale(64, 64), 4);
  assert.equal(defaultScale(65, 100), 4);
  assert.equal(defaultScale(63, 63), 5);
  assert.equal(defaultScale(300, 400), 1);
  assert.equal(defaultScale(32, 48, 100), 4);
});

test('RGB frames (channels 3, interleaved): upscale, tile and side-by-side move whole pixels', () => {
  // 2×1 RGB frame: red, blue
  const f = Uint8Array.from([255, 0, 0, 0, 0, 255]);
  assert.deepEqual([...upscaleNearest(f, 2, 1, 2, 3)], [255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255, 255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]);
  assert.throws(() => upscaleNearest(f, 2, 1, 2), RangeError, 'a 6-byte frame is not 2×1 gray');
  const g = Uint8Array.from([0, 255, 0, 9, 9, 9]);
  const img = sideBySide([f, g], 2, 1, 1, 7, 3);
  assert.deepEqual([img.width, img.height], [5, 1]);
  assert.deepEqual([...img.data], [255, 0, 0, 0, 0, 255, 7, 7, 7, 0, 255, 0, 9, 9, 9]);
  const grid = tileFrames([f, g, f], 2, 1, { cols: 2, channels: 3 });
  assert.deepEqual([grid.width, grid.height], [4, 2]);
  assert.deepEqual([...grid.data.subarray(12)], [255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0], 'the empty cell is black');
});
