/** src/video/fit.ts: the crop | pad | stretch geometry and the padding, shared by the CLI's decoder and the browser app. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPlan, placeInFrame } from '../src/video/fit.js';

test('stretch, and any mode with the same aspect ratio, scales the whole frame', () => {
  const whole = { crop: { x: 0, y: 0, width: 1920, height: 1080 }, scaled: { width: 64, height: 64 }, offset: { x: 0, y: 0 } };
  assert.deepEqual(fitPlan(1920, 1080, 64, 64, 'stretch'), whole);
  for (const fit of ['crop', 'pad', 'stretch'] as const) {
    assert.deepEqual(fitPlan(128, 96, 64, 48, fit), { crop: { x: 0, y: 0, width: 128, height: 96 }, scaled: { width: 64, height: 48 }, offset: { x: 0, y: 0 } });
  }
});

test('crop cuts the centred part with the target aspect ratio (odd offsets kept, not rounded to a chroma grid)', () => {
  assert.deepEqual(fitPlan(1920, 1080, 64, 64, 'crop').crop, { x: 420, y: 0, width: 1080, height: 1080 });
  assert.deepEqual(fitPlan(200, 150, 64, 64, 'crop').crop, { x: 25, y: 0, width: 150, height: 150 });
  assert.deepEqual(fitPlan(1080, 1920, 64, 32, 'crop').crop, { x: 0, y: 690, width: 1080, height: 540 });
  assert.deepEqual(fitPlan(200, 150, 64, 64, 'crop').scaled, { width: 64, height: 64 });
});

test('pad scales to fit inside and centres the picture', () => {
  const p = fitPlan(1920, 1080, 64, 64, 'pad');
  assert.deepEqual(p.scaled, { width: 64, height: 36 });
  assert.deepEqual(p.offset, { x: 0, y: 14 });
  assert.deepEqual(p.crop, { x: 0, y: 0, width: 1920, height: 1080 });
  const tall = fitPlan(30, 100, 64, 64, 'pad');
  assert.deepEqual(tall.scaled, { width: 19, height: 64 });
  assert.deepEqual(tall.offset, { x: 22, y: 0 });
});

test('placeInFrame: the picture at the offset, true black (0) around it; a full-size picture is returned as is', () => {
  const p = fitPlan(4, 2, 4, 4, 'pad');
  assert.deepEqual(p.scaled, { width: 4, height: 2 });
  const img = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...placeInFrame(img, p, 4, 4)], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
  const full = fitPlan(4, 4, 4, 4, 'pad');
  const same = new Uint8Array(16).fill(9);
  assert.equal(placeInFrame(same, full, 4, 4), same);
});
