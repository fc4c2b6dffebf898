/**
 * Pixels of a decoded frame → the model's gray W×H frame, as `crevnet predict` makes it with ffmpeg
 * (src/video/decode.ts: crop | pad | stretch from src/video/fit.ts, `scale=…:flags=area`, `format=gray`):
 * luma from RGB, area averaging when shrinking (linear interpolation when enlarging), black bars when
 * padding. Pure functions on typed arrays.
 */
import { fitPlan, type FitMode, type FitPlan } from '../src/video/fit.js';

/**
 * RGBA → 8-bit luma with the BT.601 weights. The decoder turned Y'CbCr into RGB; for gray video
 * (Cb = Cr = 128) R = G = B = the full-range Y that ffmpeg's `format=gray` gives.
 */
export function lumaFromRgba(rgba: Uint8ClampedArray | Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += 4) {
    out[i] = Math.round(0.299 * rgba[j]! + 0.587 * rgba[j + 1]! + 0.114 * rgba[j + 2]!);
  }
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
  const stride = 2;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst).fill(2);
  const weights = new Float64Array(dst * 2);
  for (let o = 0; o < dst; o++) {
    const x = Math.min(src - 1, Math.max(0, (o + 0.5) * ratio - 0.5));
    const s0 = Math.min(src - 2, Math.floor(x));
    if (s0 < 0) {
      start[o] = 0;
      count[o] = 1;
      weights[o * 2] = 1;
      continue;
    }
    const f = x - s0;
    start[o] = s0;
    weights[o * 2] = 1 - f;
    weights[o * 2 + 1] = f;
  }
  return { start, count, weights, stride };
}

/** Resample a gray sw×sh image to dw×dh (area average down, linear up), rounding once at the end. */
export function resizeGray(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  if (src.length !== sw * sh) throw new RangeError(`resizeGray: ${src.length} pixels, expected ${sw}x${sh}`);
  if (sw === dw && sh === dh) return src.slice();
  const fx = axisFilter(sw, dw);
  const fy = axisFilter(sh, dh);
  // horizontal pass into floats, then vertical
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
  const out = new Uint8Array(dw * dh);
  for (let o = 0; o < dh; o++) {
    const s0 = fy.start[o]!;
    for (let x = 0; x < dw; x++) {
      let acc = 0;
      for (let k = 0; k < fy.count[o]!; k++) acc += tmp[(s0 + k) * dw + x]! * fy.weights[o * fy.stride + k]!;
      out[o * dw + x] = Math.min(255, Math.max(0, Math.round(acc)));
    }
  }
  return out;
}

/** The scaled picture placed into a black W×H frame at the plan's offset (pad); a copy otherwise. */
export function placeOnBlack(img: Uint8Array, plan: FitPlan, W: number, H: number): Uint8Array {
  const { width: w, height: h } = plan.scaled;
  if (w === W && h === H) return img;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < h; y++) out.set(img.subarray(y * w, (y + 1) * w), (plan.offset.y + y) * W + plan.offset.x);
  return out;
}

/**
 * The size the browser should draw the plan's crop at before resizeGray: the crop itself (exact pixels)
 * unless it is more than `maxFactor` times the scaled size, then a reduced size, so a 4K frame is never
 * read back at full size.
 */
export function readSize(plan: FitPlan, maxFactor = 8): { width: number; height: number } {
  const width = Math.min(plan.crop.width, plan.scaled.width * maxFactor);
  const height = Math.min(plan.crop.height, plan.scaled.height * maxFactor);
  return { width, height };
}

/** RGBA pixels of the crop drawn at readSize → the model's W×H gray frame. */
export function fitFrame(rgba: Uint8ClampedArray | Uint8Array, readW: number, readH: number, plan: FitPlan, W: number, H: number): Uint8Array {
  const gray = lumaFromRgba(rgba, readW * readH);
  return placeOnBlack(resizeGray(gray, readW, readH, plan.scaled.width, plan.scaled.height), plan, W, H);
}

export { fitPlan, type FitMode, type FitPlan };
