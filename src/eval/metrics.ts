/**
 * Frame metrics exactly as OpenSTL computes them (conventions in docs/results.md):
 *   MSE, MAE: summed over a frame's pixels (and channels), averaged over frames, prediction NOT clipped;
 *   then the prediction is clipped to [0, 1] for SSIM and PSNR;
 *   SSIM: scikit-image 0.19 `structural_similarity` defaults (7×7 uniform window, sample covariance
 *         N/(N−1), K1 = 0.01, K2 = 0.03), i.e. the mean over all fully-inside 7×7 windows; data range
 *         R = 2 ("ssim", OpenSTL's convention for float input) and R = 1 ("ssimStrict"); for colour frames
 *         as `structural_similarity(..., channel_axis=-1)`: the mean over channels of each channel's SSIM;
 *   PSNR: per frame −10·log10(mean over pixels and channels of (P_c − G)²), +Infinity for an exact frame,
 *         averaged over frames.
 * Frames are row-major [H, W, C] with the channels interleaved (the model's layout).
 * All arithmetic is float64; window sums use running column sums (equivalent to summed-area tables).
 */

export type FloatArray = Float32Array | Float64Array;

export interface FrameScores {
  mse: number;
  mae: number;
  ssim: number;
  ssimStrict: number;
  psnr: number;
}

export interface MetricsReport {
  /** number of frames averaged */
  frames: number;
  mse: number;
  mae: number;
  ssim: number;
  ssimStrict: number;
  psnr: number;
  /** per time step (index = step of the horizon), mean over sequences */
  perFrame: { mse: number[]; mae: number[]; ssim: number[]; ssimStrict: number[]; psnr: number[] };
}

import { K1, K2, SSIM_WINDOW } from '../model/ssim-constants.js';
import { checkFrame, pairOut, ssimCore } from './ssim.js';
export { SSIM_WINDOW };
export { ssim, ssimMulti } from './ssim.js';

/** Σ (p − g)² over one frame of `n` pixels (no clipping). */
export function mse(pred: ArrayLike<number>, truth: ArrayLike<number>, n = Math.min(pred.length, truth.length)): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = pred[i]! - truth[i]!;
    s += d * d;
  }
  return s;
}

/** Σ |p − g| over one frame of `n` pixels (no clipping). */
export function mae(pred: ArrayLike<number>, truth: ArrayLike<number>, n = Math.min(pred.length, truth.length)): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(pred[i]! - truth[i]!);
  return s;
}

/** −10·log10(mean (p − g)²) for one frame, +Infinity when equal; no clipping (frameScores clips). */
export function psnr(pred: ArrayLike<number>, truth: ArrayLike<number>, n = Math.min(pred.length, truth.length)): number {
  const m = mse(pred, truth, n) / n;
  return m === 0 ? Infinity : -10 * Math.log10(m);
}

/** min(max(v, 0), 1) elementwise into a new (or given) Float64Array. */
export function clip01(src: ArrayLike<number>, out = new Float64Array(src.length)): Float64Array {
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

let clipBuf = new Float64Array(0);
let truthBuf = new Float64Array(0);
let planeP = new Float64Array(0);
let planeG = new Float64Array(0);
const channelPair = new Float64Array(2);
const C1_R2 = (K1 * 2) ** 2;
const C2_R2 = (K2 * 2) ** 2;
const C1_R1 = K1 ** 2;
const C2_R1 = K2 ** 2;

/**
 * All metrics of one frame ([H, W, C], channels interleaved), OpenSTL order: MSE/MAE on the raw prediction, then
 * the prediction is clipped to [0, 1] for SSIM (R = 2 and R = 1; the mean over channels) and PSNR. `truth` is
 * expected in [0, 1].
 */
export function frameScores(pred: ArrayLike<number>, truth: ArrayLike<number>, height: number, width: number, channels = 1): FrameScores {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  checkFrame(pred, truth, height, width * channels, SSIM_WINDOW);
  if (width < SSIM_WINDOW) throw new RangeError(`frame must be at least ${SSIM_WINDOW}×${SSIM_WINDOW}, got ${height}×${width}`);
  const n = height * width * channels;
  if (clipBuf.length < n) {
    clipBuf = new Float64Array(n);
    truthBuf = new Float64Array(n);
  }
  const pc = clipBuf;
  const gc = truthBuf;
  let se = 0;
  let ae = 0;
  let sec = 0;
  for (let i = 0; i < n; i++) {
    const p = +pred[i]!;
    const g = +truth[i]!;
    gc[i] = g;
    const d = p - g;
    se += d * d;
    ae += Math.abs(d);
    const q = p < 0 ? 0 : p > 1 ? 1 : p;
    pc[i] = q;
    const dc = q - g;
    sec += dc * dc;
  }
  let ssimR2: number;
  let ssimR1: number;
  if (channels === 1) {
    ssimCore(pc, gc, height, width, C1_R2, C2_R2, C1_R1, C2_R1, pairOut);
    ssimR2 = pairOut[0]!;
    ssimR1 = pairOut[1]!;
  } else {
    const hw = height * width;
    if (planeP.length < hw) {
      planeP = new Float64Array(hw);
      planeG = new Float64Array(hw);
    }
    ssimR2 = 0;
    ssimR1 = 0;
    for (let c = 0; c < channels; c++) {
      for (let i = 0, j = c; i < hw; i++, j += channels) {
        planeP[i] = pc[j]!;
        planeG[i] = gc[j]!;
      }
      ssimCore(planeP, planeG, height, width, C1_R2, C2_R2, C1_R1, C2_R1, channelPair);
      ssimR2 += channelPair[0]!;
      ssimR1 += channelPair[1]!;
    }
    ssimR2 /= channels;
    ssimR1 /= channels;
  }
  const m = sec / n;
  return { mse: se, mae: ae, ssim: ssimR2, ssimStrict: ssimR1, psnr: m === 0 ? Infinity : -10 * Math.log10(m) };
}

const SCORE_KEYS = ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const satisfies readonly (keyof FrameScores)[];

/**
 * Accumulates per-time-step means over batches of time-major [horizon, batch, H, W, C] frames.
 * Overall numbers are the mean over all frames (= mean of the per-step means when every step
 * saw the same number of sequences). A PSNR of +Infinity (an exact frame) propagates to the mean.
 */
export class MetricsAccumulator {
  readonly horizon: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  private readonly sums: Record<keyof FrameScores, Float64Array>;
  /** every frame's scores, [step][sequence], kept for paired comparisons (src/eval/paired.ts) */
  private readonly scores: Record<keyof FrameScores, number[][]>;
  private sequences = 0;

  constructor(horizon: number, height: number, width: number, channels = 1) {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < SSIM_WINDOW || width < SSIM_WINDOW) {
      throw new RangeError(`frames must be at least ${SSIM_WINDOW}×${SSIM_WINDOW} for SSIM, got ${height}×${width}`);
    }
    if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
    this.horizon = horizon;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.sums = {
      mse: new Float64Array(horizon),
      mae: new Float64Array(horizon),
      ssim: new Float64Array(horizon),
      ssimStrict: new Float64Array(horizon),
      psnr: new Float64Array(horizon),
    };
    const steps = () => Array.from({ length: horizon }, () => [] as number[]);
    this.scores = { mse: steps(), mae: steps(), ssim: steps(), ssimStrict: steps(), psnr: steps() };
  }

  /** Sequences added so far. */
  get count(): number {
    return this.sequences;
  }

  /** pred, truth: time-major [horizon, batch, H, W, C] in [0,1] scale (pred may leave [0,1]). */
  add(pred: FloatArray, truth: FloatArray, batch: number): void {
    const hw = this.height * this.width * this.channels;
    const need = this.horizon * batch * hw;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (pred.length !== need || truth.length !== need) {
      throw new RangeError(
        `MetricsAccumulator.add: expected ${need} elements ([${this.horizon}, ${batch}, ${this.height}, ${this.width}, ${this.channels}]), got ${pred.length} and ${truth.length}`,
      );
    }
    for (let t = 0; t < this.horizon; t++) {
      for (let b = 0; b < batch; b++) {
        const o = (t * batch + b) * hw;
        const s = frameScores(pred.subarray(o, o + hw), truth.subarray(o, o + hw), this.height, this.width, this.channels);
        for (const k of SCORE_KEYS) {
          this.sums[k][t] += s[k];
          this.scores[k][t]!.push(s[k]);
        }
      }
    }
    this.sequences += batch;
  }

  /** One metric's score of every frame added, [step][sequence] in the order sequences were added. */
  sequenceScores(metric: keyof FrameScores): readonly (readonly number[])[] {
    return this.scores[metric];
  }

  result(): MetricsReport {
    const n = this.sequences;
    const per = (k: keyof FrameScores) => Array.from(this.sums[k], (s) => (n > 0 ? s / n : NaN));
    const all = (k: keyof FrameScores) => {
      let s = 0;
      for (const v of this.sums[k]) s += v;
      return n > 0 ? s / (n * this.horizon) : NaN;
    };
    return {
      frames: n * this.horizon,
      mse: all('mse'),
      mae: all('mae'),
      ssim: all('ssim'),
      ssimStrict: all('ssimStrict'),
      psnr: all('psnr'),
      perFrame: { mse: per('mse'), mae: per('mae'), ssim: per('ssim'), ssimStrict: per('ssimStrict'), psnr: per('psnr') },
    };
  }
}
