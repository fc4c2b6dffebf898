/**
 * Pixels of a decoded frame → the model's gray W×H frame, as `crevnet predict` makes it with ffmpeg
 * (src/video/decode.ts: the crop | pad | stretch geometry of src/video/fit.ts, `scale=…:flags=area`,
 * `format=gray`): luma, area averaging when shrinking (linear interpolation when enlarging), the
 * limited → full range conversion ffmpeg applies, black bars when padding. Pure functions.
 */
import { fitPlan, placeInFrame, type FitMode, type FitPlan } from '../src/video/fit.js';

/** Luma weights of the matrix the decoder used to turn Y'CbCr into RGB. */
export type Matrix = 'bt601' | 'bt709';
const WEIGHTS: Record<Matrix, [number, number, number]> = {
  bt601: [0.299, 0.587, 0.114],
  bt709: [0.2126, 0.7152, 0.0722],
};

/**
 * RGBA (full range, as a canvas holds it) → luma, unrounded. With the decoder's own matrix the chroma
 * cancels out and this is the full-range Y that ffmpeg's `format=gray` gives (up to RGB clipping).
 */
export function lumaFromRgba(rgba: ArrayLike<number>, pixels: number, matrix: Matrix = 'bt601'): Float64Array {
  const [wr, wg, wb] = WEIGHTS[matrix];
  const out = new Float64Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += 4) out[i] = wr * rgba[j]! + wg * rgba[j + 1]! + wb * rgba[j + 2]!;
  return out;
}

/** One axis of a separable resampling: for each output index, source indices and weights summing to 1. */
interface AxisFilter {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  stride: number;
}

function axisFilter(src: number, dst: number): AxisFilter {
  const ratio = src / dst;
  if (ratio >= 1) {
    // shrinking: the output pixel averages the source interval it covers, partial pixels by their share
    const stride = Math.ceil(ratio) + 1;
    const start = new Int32Array(dst);
    const count = new Int32Array(dst);
    const weights = new Float64Array(dst * stride);
    for (let o = 0; o < dst; o++) {
      const a = o * ratio;
      const b = Math.min(src, (o + 1) * ratio);
      const s0 = Math.floor(a);
      let n = 0;
      for (let s = s0; s < b && n < stride; s++, n++) weights[o * stride + n] = (Math.min(s + 1, b) - Math.max(s, a)) / ratio;
      start[o] = s0;
      count[o] = n;
    }
    return { start, count, weights, stride };
  }
  // enlarging: linear interpolation between the two nearest source centres
  const start = new Int32Array(dst);
  const count = new Int32Array(dst).fill(2);
  const weights = new Float64Array(dst * 2);
  for (let o = 0; o < dst; o++) {
    const x = Math.min(src - 1, Math.max(0, (o + 0.5) * ratio - 0.5));
    const s0 = Math.min(src - 2, Math.floor(x));
    if (s0 < 0) {
      count[o] = 1;
      weights[o * 2] = 1;
      continue;
    }
    start[o] = s0;
    weights[o * 2] = 1 - (x - s0);
    weights[o * 2 + 1] = x - s0;
  }
  return { start, count, weights, stride: 2 };
}

/** Resample a one-channel sw×sh image to dw×dh (area average down, linear up), without rounding. */
export function resample(src: ArrayLike<number>, sw: number, sh: number, dw: number, dh: number): Float64Array {
  if (src.length !== sw * sh) throw new RangeError(`resample: ${src.length} pixels, expected ${sw}x${sh}`);
  if (sw === dw && sh === dh) return Float64Array.from(src);
  const fx = axisFilter(sw, dw);
  const fy = axisFilter(sh, dh);
  const tmp = new Float64Array(dw * sh);
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let o = 0; o < dw; o++) {
      let acc = 0;
      const s0 = fx.start[o]!;
      for (let k = 0; k < fx.count[o]!; k++) acc += src[row + s0 + k]! * fx.weights[o * fx.stride + k]!;
      tmp[y * dw + o] = acc;
    }
  }
  const out = new Float64Array(dw * dh);
  for (let o = 0; o < dh; o++) {
    const s0 = fy.start[o]!;
    for (let x = 0; x < dw; x++) {
      let acc = 0;
      for (let k = 0; k < fy.count[o]!; k++) acc += tmp[(s0 + k) * dw + x]! * fy.weights[o * fy.stride + k]!;
      out[o * dw + x] = acc;
    }
  }
  return out;
}

/**
 * Luma values → bytes. `limited`: the values are limited-range Y (16…235), converted to full range as
 * ffmpeg's `format=gray` does (for whole values this equals swscale's fixed-point conversion exactly).
 */
export function lumaToBytes(luma: Float64Array, limited: boolean): Uint8Array {
  const out = new Uint8Array(luma.length);
  for (let i = 0; i < luma.length; i++) {
    const v = limited ? ((luma[i]! - 16) * 255) / 219 : luma[i]!;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
  }
  return out;
}

/**
 * The size to draw the plan's crop at on a canvas before resampling (the RGB path): the crop itself
 * (exact pixels) unless it is more than `maxFactor` times the scaled size, then a reduced size, so a 4K
 * frame is never read back at full size.
 */
export function readSize(plan: FitPlan, maxFactor = 8): { width: number; height: number } {
  return {
    width: Math.min(plan.crop.width, plan.scaled.width * maxFactor),
    height: Math.min(plan.crop.height, plan.scaled.height * maxFactor),
  };
}

/** The crop's luma (rw×rh) → the model's W×H gray frame: resample to the fitted size, to bytes, pad. */
export function fitLuma(luma: ArrayLike<number>, rw: number, rh: number, plan: FitPlan, W: number, H: number, limited: boolean): Uint8Array {
  const scaled = lumaToBytes(resample(luma, rw, rh, plan.scaled.width, plan.scaled.height), limited);
  return placeInFrame(scaled, plan, W, H);
}

export { fitPlan, type FitMode, type FitPlan };
