/**
 * Frame metrics exactly as OpenSTL computes them:
 *   MSE, MAE: summed over a frame's pixels, averaged over frames, prediction NOT clipped;
 *   then the prediction is clipped to [0, 1] for SSIM and PSNR;
 *   SSIM: scikit-image 0.19 `structural_similarity` defaults (7×7 uniform window, sample covariance
 *         N/(N−1), K1 = 0.01, K2 = 0.03), i.e. the mean over all fully-inside 7×7 windows; data range
 *         R = 2 ("ssim", OpenSTL's convention for float input) and R = 1 ("ssimStrict");
 *   PSNR: per frame −10·log10(mean_pixels (P_c − G)²), +Infinity for an exact frame, averaged over frames.
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
const C1_R2 = (K1 * 2) ** 2;
const C2_R2 = (K2 * 2) ** 2;
const C1_R1 = K1 ** 2;
const C2_R1 = K2 ** 2;

/**
 * All metrics of one frame, OpenSTL order: MSE/MAE on the raw prediction, then the prediction is
 * clipped to [0, 1] for SSIM (R = 2 and R = 1) and PSNR. `truth` is expected in [0, 1].
 */
export function frameScores(pred: ArrayLike<number>, truth: ArrayLike<number>, height: number, width: number): FrameScores {
  checkFrame(pred, truth, height, width, SSIM_WINDOW);
  const n = height * width;
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
  ssimCore(pc, gc, height, width, C1_R2, C2_R2, C1_R1, C2_R1, pairOut);
  const m = sec / n;
  return { mse: se, mae: ae, ssim: pairOut[0]!, ssimStrict: pairOut[1]!, psnr: m === 0 ? Infinity : -10 * Math.log10(m) };
}

const SCORE_KEYS = ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const satisfies readonly (keyof FrameScores)[];

/**
 * Accumulates per-time-step means over batches of time-major [horizon, batch, H, W] frames.
 * Overall numbers are the mean over all frames (= mean of the per-step means when every step
 * saw the same number of sequences). A PSNR of +Infinity (an exact frame) propagates to the mean.
 */
export class MetricsAccumulator {
  readonly horizon: number;
  readonly height: number;
  readonly width: number;
  private readonly sums: Record<keyof FrameScores, Float64Array>;
  /** every frame's scores, [step][sequence], kept for paired comparisons (src/eval/paired.ts) */
  private readonly scores: Record<keyof FrameScores, number[][]>;
  private sequences = 0;

  constructor(horizon: number, height: number, width: number) {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < SSIM_WINDOW || width < SSIM_WINDOW) {
      throw new RangeError(`frames must be at least ${SSIM_WINDOW}×${SSIM_WINDOW} for SSIM, got ${height}×${width}`);
    }
    this.horizon = horizon;
    this.height = height;
    this.width = width;
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

  /** pred, truth: time-major [horizon, batch, H, W] in [0,1] scale (pred may leave [0,1]). */
  add(pred: FloatArray, truth: FloatArray, batch: number): void {
    const hw = this.height * this.width;
    const need = this.horizon * batch * hw;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (pred.length !== need || truth.length !== need) {
      throw new RangeError(
        `MetricsAccumulator.add: expected ${need} elements ([${this.horizon}, ${batch}, ${this.height}, ${this.width}]), got ${pred.length} and ${truth.length}`,
      );
    }
    for (let t = 0; t < this.horizon; t++) {
      for (let b = 0; b < batch; b++) {
        const o = (t * batch + b) * hw;
        const s = frameScores(pred.subarray(o, o + hw), truth.subarray(o, o + hw), this.height, this.width);
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
