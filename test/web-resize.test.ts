/**
 * web/resize.ts: the browser app turns decoded pixels into the model's frames as ffmpeg does for
 * `crevnet predict` (area scaling, limited → full range, luma from RGB with the decoder's matrix).
 * The ffmpeg comparisons run the project's ffmpeg on the same pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ffmpegBinary } from '../src/runtime/ffmpeg-paths.js';
import { placeInFrame } from '../src/video/fit.js';
import { fitLuma, fitPlan, lumaFromRgba, lumaToBytes, resample } from '../web/resize.js';
import { skipNoFfmpeg } from './video-helpers.js';

/** ffmpeg on one raw frame: gray (full range) in, `scale=W:H:flags=area` (+ the given filters), gray out. */
function ffmpegGray(pixels: Uint8Array, w: number, h: number, filters: string, pixFmt = 'gray'): Uint8Array {
  return execFileSync(
    ffmpegBinary().path,
    ['-v', 'error', '-nostdin', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${w}x${h}`, '-i', '-', '-vf', filters, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    { input: pixels, maxBuffer: 1 << 26 },
  );
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A smooth picture with some edges: what a video frame looks like to the scaler. */
function picture(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 90 * Math.sin(x / 7) * Math.cos(y / 11) + ((x >> 4) + (y >> 4)) % 2 * 30;
      out[y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

test('resample: identity, exact box averages when shrinking by whole factors, weights that sum to one', () => {
  const src = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160]);
  assert.deepEqual([...resample(src, 4, 4, 4, 4)], [...src]);
  assert.deepEqual([...resample(src, 4, 4, 2, 2)], [(10 + 20 + 50 + 60) / 4, (30 + 40 + 70 + 80) / 4, (90 + 100 + 130 + 140) / 4, (110 + 120 + 150 + 160) / 4]);
  const flat = new Uint8Array(37 * 23).fill(77);
  for (const [w, h] of [[10, 9], [64, 64], [5, 40]] as const) {
    for (const v of resample(flat, 37, 23, w, h)) assert.ok(Math.abs(v - 77) < 1e-9, `${w}x${h}: ${v}`);
  }
});

test('lumaToBytes: limited → full range equals swscale fixed-point conversion for every 8-bit value', () => {
  const y = Float64Array.from({ length: 256 }, (_, i) => i);
  const got = lumaToBytes(y, true);
  for (let i = 0; i < 256; i++) {
    // libswscale lumRangeToJpeg on the 15-bit intermediate, then the 8-bit output stage's rounding
    const v = (Math.min(i * 128, 30189) * 19077 - 39057361) >> 14;
    assert.equal(got[i], Math.max(0, Math.min(255, (v + 64) >> 7)), `Y = ${i}`);
  }
  assert.deepEqual([...lumaToBytes(Float64Array.from([-3, 0.49, 254.5, 300]), false)], [0, 0, 255, 255]);
});

test('lumaFromRgba: with the decoder\'s matrix the chroma cancels and the luma comes back', () => {
  // RGB made from Y'CbCr with each matrix, as a video decoder does
  for (const [matrix, kr, kb] of [['bt601', 0.299, 0.114], ['bt709', 0.2126, 0.0722]] as const) {
    const kg = 1 - kr - kb;
    const rgba: number[] = [];
    const ys = [20, 100, 180, 230];
    for (const [i, y] of ys.entries()) {
      const cb = [-40, 25, 10, -15][i]!;
      const cr = [30, -20, 15, 5][i]!;
      const r = y + 2 * (1 - kr) * cr;
      const b = y + 2 * (1 - kb) * cb;
      const g = (y - kr * r - kb * b) / kg;
      rgba.push(r, g, b, 255);
    }
    const luma = lumaFromRgba(rgba, ys.length, matrix);
    ys.forEach((y, i) => assert.ok(Math.abs(luma[i]! - y) < 1e-9, `${matrix}: ${luma[i]} vs ${y}`));
  }
});

test('against ffmpeg: area scaling down and up, crop and pad, within 1/255 of `scale=…:flags=area`', { skip: skipNoFfmpeg }, () => {
  const [w, h] = [200, 150];
  const src = picture(w, h);
  for (const [W, H, fit] of [[64, 64, 'crop'], [64, 64, 'pad'], [64, 64, 'stretch'], [48, 40, 'stretch']] as const) {
    const plan = fitPlan(w, h, W, H, fit);
    const c = plan.crop;
    const crop = new Uint8Array(c.width * c.height);
    for (let y = 0; y < c.height; y++) crop.set(src.subarray((c.y + y) * w + c.x, (c.y + y) * w + c.x + c.width), y * c.width);
    const ours = fitLuma(crop, c.width, c.height, plan, W, H, false);
    // padded as the CLI pads (src/video/decode.ts): ffmpeg's own pad filter is not black on gray frames
    const ref = placeInFrame(ffmpegGray(src, w, h, `crop=${c.width}:${c.height}:${c.x}:${c.y}:exact=1,scale=${plan.scaled.width}:${plan.scaled.height}:flags=area`), plan, W, H);
    assert.ok(maxDiff(ours, ref) <= 1, `${w}x${h} → ${W}x${H} ${fit}: max |diff| ${maxDiff(ours, ref)}`);
  }
  // enlarging a small video (ffmpeg's area filter interpolates linearly then)
  const small = picture(48, 40);
  const up = fitLuma(small, 48, 40, fitPlan(48, 40, 64, 64, 'stretch'), 64, 64, false);
  const refUp = ffmpegGray(small, 48, 40, 'scale=64:64:flags=area');
  assert.ok(maxDiff(up, refUp) <= 2, `48x40 → 64x64: max |diff| ${maxDiff(up, refUp)}`);
});

test('against ffmpeg: a limited-range Y plane gives the gray frame `format=gray` gives', { skip: skipNoFfmpeg }, () => {
  const [w, h] = [64, 48];
  const y = picture(w, h).map((v) => 16 + Math.round((v * 219) / 255));
  // a yuv420p frame with neutral chroma: Y as above, Cb = Cr = 128
  const yuv = new Uint8Array(w * h * 1.5).fill(128);
  yuv.set(y);
  const ref = ffmpegGray(yuv, w, h, 'scale=64:48:flags=area,format=gray', 'yuv420p');
  const ours = fitLuma(y, w, h, fitPlan(w, h, w, h, 'stretch'), w, h, true);
  assert.equal(maxDiff(ours, ref), 0);
});
