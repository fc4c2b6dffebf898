/**
 * SSIM exactly as scikit-image 0.19 `structural_similarity` with its defaults on float input: 7×7
 * uniform window, sample covariance N/(N−1), K1 = 0.01, K2 = 0.03; the mean over all fully-inside
 * windows (what skimage's 3-pixel border crop leaves). float64, running window sums.
 */
import { K1, K2, SSIM_WINDOW } from '../model/ssim-constants.js';

/** Both frames hold at least height×width values and the frame is at least minSide on each side. */
export function checkFrame(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, minSide = 1): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < minSide || width < minSide) {
    throw new RangeError(`frame must be at least ${minSide}×${minSide}, got ${height}×${width}`);
  }
  const n = height * width;
  if (a.length < n || b.length < n) throw new RangeError(`frame arrays need ${n} elements, got ${a.length} and ${b.length}`);
}

// Scratch buffers, reused across calls (single-threaded JS).
let colBuf = new Float64Array(0);
let xBuf = new Float64Array(0);
let yBuf = new Float64Array(0);
/** Output pair of ssimCore for the callers that do not need their own. */
export const pairOut = new Float64Array(2);

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
export function ssimCore(
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
