/**
 * Frame metrics exactly as OpenSTL computes them (data-and-metrics.md §5):
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

export const SSIM_WINDOW = 7;
const K1 = 0.01;
const K2 = 0.03;

function checkFrame(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, minSide = 1): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < minSide || width < minSide) {
    throw new RangeError(`frame must be at least ${minSide}×${minSide}, got ${height}×${width}`);
  }
  const n = height * width;
  if (a.length < n || b.length < n) throw new RangeError(`frame arrays need ${n} elements, got ${a.length} and ${b.length}`);
}

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

// Scratch buffers, reused across calls (single-threaded JS).
let colBuf = new Float64Array(0);
let xBuf = new Float64Array(0);
let yBuf = new Float64Array(0);
const pairOut = new Float64Array(2);

function asFloat64(src: ArrayLike<number>, n: number, which: 'x' | 'y'): Float64Array {
  if (src instanceof Float64Array) return src;
  let buf = which === 'x' ? xBuf : yBuf;
  if (buf.length < n) {
    buf = new Float64Array(n);
    if (which === 'x') xBuf = buf;
    else yBuf = buf;
  }
  for (let i = 0; i < n; i++) buf[i] = src[i]!;
  return buf;
}

/**
 * Core: mean SSIM over all fully-inside 7×7 windows for two (C1, C2) pairs at once, written to
 * out[0], out[1]. Column sums over 7 rows are slid down the image; row sums of 7 column sums are
 * slid along each output row. Monomorphic on Float64Array for speed.
 */
function ssimCore(
  x: Float64Array,
  y: Float64Array,
  height: number,
  width: number,
  c1a: number,
  c2a: number,
  c1b: number,
  c2b: number,
  out: Float64Array,
): void {
  const W = SSIM_WINDOW;
  const NP = W * W;
  const invN = 1 / NP;
  const covNorm = NP / (NP - 1);
  let acc0 = 0;
  let acc1 = 0;

  // Column sums over the current 7 rows for x, y, x², y², xy (5 interleaved planes).
  if (colBuf.length < 5 * width) colBuf = new Float64Array(5 * width);
  const col = colBuf;
  col.fill(0, 0, 5 * width);
  for (let r = 0; r < W; r++) {
    const o = r * width;
    for (let c = 0; c < width; c++) {
      const a = x[o + c]!;
      const b = y[o + c]!;
      const k = 5 * c;
      col[k] += a;
      col[k + 1] += b;
      col[k + 2] += a * a;
      col[k + 3] += b * b;
      col[k + 4] += a * b;
    }
  }
  const outRows = height - W + 1;
  const outCols = width - W + 1;
  for (let i = 0; i < outRows; i++) {
    if (i > 0) {
      // slide the column window down one row: drop row i−1, add row i+6
      const od = (i - 1) * width;
      const oa = (i + W - 1) * width;
      for (let c = 0; c < width; c++) {
        const a0 = x[od + c]!;
        const b0 = y[od + c]!;
        const a1 = x[oa + c]!;
        const b1 = y[oa + c]!;
        const k = 5 * c;
        col[k] += a1 - a0;
        col[k + 1] += b1 - b0;
        col[k + 2] += a1 * a1 - a0 * a0;
        col[k + 3] += b1 * b1 - b0 * b0;
        col[k + 4] += a1 * b1 - a0 * b0;
      }
    }
    // Window sums along the row: sum of 7 column sums, then slid one column at a time.
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let k = 0, e = 5 * W; k < e; k += 5) {
      sx += col[k]!;
      sy += col[k + 1]!;
      sxx += col[k + 2]!;
      syy += col[k + 3]!;
      sxy += col[k + 4]!;
    }
    for (let j = 0; ; j++) {
      const ux = sx * invN;
      const uy = sy * invN;
      const vx = covNorm * (sxx * invN - ux * ux);
      const vy = covNorm * (syy * invN - uy * uy);
      const vxy = covNorm * (sxy * invN - ux * uy);
      const l1 = 2 * ux * uy;
      const l2 = ux * ux + uy * uy;
      const s1 = 2 * vxy;
      const s2 = vx + vy;
      acc0 += ((l1 + c1a) * (s1 + c2a)) / ((l2 + c1a) * (s2 + c2a));
      acc1 += ((l1 + c1b) * (s1 + c2b)) / ((l2 + c1b) * (s2 + c2b));
      if (j + 1 >= outCols) break;
      const ko = 5 * j;
      const ki = 5 * (j + W);
      sx += col[ki]! - col[ko]!;
      sy += col[ki + 1]! - col[ko + 1]!;
      sxx += col[ki + 2]! - col[ko + 2]!;
      syy += col[ki + 3]! - col[ko + 3]!;
      sxy += col[ki + 4]! - col[ko + 4]!;
    }
  }
  const count = outRows * outCols;
  out[0] = acc0 / count;
  out[1] = acc1 / count;
}

/**
 * SSIM for each data range in `ranges` (one pass of window sums per two ranges).
 * Images are row-major height×width (height, width ≥ 7); no clipping here.
 */
export function ssimMulti(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  height: number,
  width: number,
  ranges: readonly number[],
): number[] {
  checkFrame(x, y, height, width, SSIM_WINDOW);
  const n = height * width;
  const xf = asFloat64(x, n, 'x');
  const yf = asFloat64(y, n, 'y');
  const res: number[] = [];
  for (let q = 0; q < ranges.length; q += 2) {
    const ra = ranges[q]!;
    const rb = ranges[Math.min(q + 1, ranges.length - 1)]!;
    ssimCore(xf, yf, height, width, (K1 * ra) ** 2, (K2 * ra) ** 2, (K1 * rb) ** 2, (K2 * rb) ** 2, pairOut);
    res.push(pairOut[0]!);
    if (q + 1 < ranges.length) res.push(pairOut[1]!);
  }
  return res;
}

/**
 * SSIM of two height×width frames with data range `dataRange` (default 2, OpenSTL / skimage ≤0.19
 * on float input; 1 is the strict convention). No clipping; callers clip the prediction first.
 */
export function ssim(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  height: number,
  width: number,
  dataRange = 2,
): number {
  return ssimMulti(pred, truth, height, width, [dataRange])[0]!;
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
        this.sums.mse[t] += s.mse;
        this.sums.mae[t] += s.mae;
        this.sums.ssim[t] += s.ssim;
        this.sums.ssimStrict[t] += s.ssimStrict;
        this.sums.psnr[t] += s.psnr;
      }
    }
    this.sequences += batch;
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
