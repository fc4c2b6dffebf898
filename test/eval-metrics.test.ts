/** Frame metrics (src/eval/metrics.ts, src/eval/ssim.ts): scikit-image's SSIM unit vectors, MSE/MAE/PSNR, clipping, per-step accumulation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameScores, mae, MetricsAccumulator, mse, psnr, ssim, ssimMulti } from '../src/eval/metrics.js';
import { Rng } from '../src/data/rng.js';

const N64 = 64;
const frame = (f: (r: number, c: number) => number, h = N64, w = N64) => Float64Array.from({ length: h * w }, (_, i) => f(Math.floor(i / w), i % w));

/** Direct SSIM (skimage 0.19 defaults): every fully-inside 7×7 window summed from scratch, float64. */
function ssimDirect(x: ArrayLike<number>, y: ArrayLike<number>, h: number, w: number, R: number): number {
  const C1 = (0.01 * R) ** 2;
  const C2 = (0.03 * R) ** 2;
  let total = 0;
  let count = 0;
  for (let i = 0; i + 7 <= h; i++) {
    for (let j = 0; j + 7 <= w; j++) {
      let mx = 0, my = 0;
      for (let a = 0; a < 7; a++) for (let b = 0; b < 7; b++) { mx += x[(i + a) * w + j + b]!; my += y[(i + a) * w + j + b]!; }
      mx /= 49; my /= 49;
      let vx = 0, vy = 0, cxy = 0;
      for (let a = 0; a < 7; a++) for (let b = 0; b < 7; b++) {
        const dx = x[(i + a) * w + j + b]! - mx;
        const dy = y[(i + a) * w + j + b]! - my;
        vx += dx * dx; vy += dy * dy; cxy += dx * dy;
      }
      vx /= 48; vy /= 48; cxy /= 48; // sample (co)variance
      total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      count++;
    }
  }
  return total / count;
}

function randomFrame(rng: Rng, h: number, w: number, lo = 0, hi = 1): Float64Array {
  return Float64Array.from({ length: h * w }, () => lo + (hi - lo) * rng.next());
}

// unit-test vectors: scikit-image 0.19 / OpenSTL values computed in float64 on 64×64 frames
const G1 = frame((r, c) => (r >= 20 && r < 40 && c >= 20 && c < 40 ? 1 : 0));
const P1 = frame((r, c) => (r >= 20 && r < 40 && c >= 23 && c < 43 ? 1 : 0));
const G2 = frame((r, c) => ((64 * r + c) % 256) / 255);
const VECTORS = [
  { name: 'shifted square', P: P1, G: G1, mse: 120, mae: 120, ssim: 0.888931, ssimStrict: 0.88823, psnr: 15.331787 },
  { name: '0.9·G + 0.05', P: G2.map((g) => 0.9 * g + 0.05), G: G2, mse: 3.440105, mae: 102.801569, ssim: 0.994476, ssimStrict: 0.994373, psnr: 30.757883 },
  { name: 'G + 0.2 (clipping matters)', P: G2.map((g) => g + 0.2), G: G2, mse: 163.84, mae: 819.2, ssim: 0.937128, ssimStrict: 0.936829, psnr: 14.607998 },
];

for (const v of VECTORS) {
  test(`unit-test vector: ${v.name}`, () => {
    const s = frameScores(v.P, v.G, 64, 64);
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
      assert.ok(Math.abs(s[k] - v[k]) < 1e-5, `${k}: got ${s[k]}, expected ${v[k]}`);
    }
    // the same through the float32 path of the accumulator (inputs rounded to float32)
    const acc = new MetricsAccumulator(1, 64, 64);
    acc.add(Float32Array.from(v.P), Float32Array.from(v.G), 1);
    const r = acc.result();
    assert.equal(r.frames, 1);
    assert.ok(Math.abs(r.ssim - v.ssim) < 1e-5 && Math.abs(r.psnr - v.psnr) < 1e-4 && Math.abs(r.mse - v.mse) < 1e-3);
  });
}

test('frame functions: mse/mae are sums over pixels, psnr/ssim without clipping, R=2 default', () => {
  assert.equal(mse([0.5, 1], [0, 0]), 1.25);
  assert.equal(mae([-0.5, 1], [0, 0]), 1.5);
  assert.ok(Math.abs(psnr([0.1, 0.1], [0, 0]) - 20) < 1e-12);
  assert.equal(psnr([0.3, 0.2], [0.3, 0.2]), Infinity);
  assert.equal(ssim(P1, G1, 64, 64), frameScores(P1, G1, 64, 64).ssim);
  assert.equal(ssim(P1, G1, 64, 64, 1), frameScores(P1, G1, 64, 64).ssimStrict);
  assert.throws(() => ssim(new Float64Array(36), new Float64Array(36), 6, 6), RangeError);
});

test('SSIM(x, x) = 1, SSIM is symmetric, and PSNR is +Infinity for exact frames', () => {
  const rng = new Rng(4);
  for (const [h, w] of [[64, 64], [7, 7], [9, 20]] as const) {
    const x = randomFrame(rng, h, w);
    const y = randomFrame(rng, h, w);
    assert.ok(Math.abs(ssim(x, x, h, w) - 1) < 1e-12);
    assert.ok(Math.abs(ssim(x, x, h, w, 1) - 1) < 1e-12);
    assert.ok(Math.abs(ssim(x, y, h, w) - ssim(y, x, h, w)) < 1e-12);
    const s = frameScores(x, x, h, w);
    assert.equal(s.psnr, Infinity);
    assert.equal(s.mse, 0);
    assert.ok(s.ssim < 1 + 1e-12 && s.ssim > 1 - 1e-12);
  }
});

test('sliding-window SSIM equals a brute-force per-window SSIM in float64 on random frames', () => {
  const rng = new Rng(9);
  for (const [h, w] of [[64, 64], [7, 7], [7, 12], [31, 8], [40, 53]] as const) {
    for (const [lo, hi] of [[0, 1], [-0.5, 1.5]] as const) {
      const x = randomFrame(rng, h, w, lo, hi);
      const y = randomFrame(rng, h, w);
      // sparse, Moving-MNIST-like frames too
      const xs = x.map((v) => (v < 0.7 ? 0 : v));
      for (const R of [2, 1]) {
        assert.ok(Math.abs(ssim(x, y, h, w, R) - ssimDirect(x, y, h, w, R)) < 1e-10, `${h}×${w} R=${R}`);
        assert.ok(Math.abs(ssim(xs, y, h, w, R) - ssimDirect(xs, y, h, w, R)) < 1e-10, `${h}×${w} sparse R=${R}`);
      }
      const [a, b, c] = ssimMulti(x, y, h, w, [2, 1, 0.5]) as [number, number, number];
      assert.ok(Math.abs(a - ssimDirect(x, y, h, w, 2)) < 1e-10 && Math.abs(b - ssimDirect(x, y, h, w, 1)) < 1e-10);
      assert.ok(Math.abs(c - ssimDirect(x, y, h, w, 0.5)) < 1e-10);
    }
  }
});

test('frameScores clips the prediction for SSIM/PSNR only', () => {
  const rng = new Rng(2);
  const g = randomFrame(rng, 16, 16);
  const p = randomFrame(rng, 16, 16, -0.5, 1.5);
  const pc = p.map((v) => Math.min(Math.max(v, 0), 1));
  const s = frameScores(p, g, 16, 16);
  assert.ok(Math.abs(s.mse - mse(p, g)) < 1e-12);
  assert.ok(Math.abs(s.mae - mae(p, g)) < 1e-12);
  assert.ok(Math.abs(s.ssim - ssimDirect(pc, g, 16, 16, 2)) < 1e-10);
  assert.ok(Math.abs(s.ssimStrict - ssimDirect(pc, g, 16, 16, 1)) < 1e-10);
  assert.ok(Math.abs(s.psnr - psnr(pc, g)) < 1e-10);
  assert.ok(s.mse > mse(pc, g), 'MSE is not clipped');
});

test('MetricsAccumulator: per-step means over batches of time-major [horizon, B, H, W]', () => {
  const [Hz, H, W] = [3, 8, 9];
  const hw = H * W;
  const rng = new Rng(5);
  const seqs = 5;
  // sequence-major reference frames
  const P = Array.from({ length: seqs }, () => Array.from({ length: Hz }, () => randomFrame(rng, H, W, -0.2, 1.2)));
  const G = Array.from({ length: seqs }, () => Array.from({ length: Hz }, () => randomFrame(rng, H, W)));
  G[1]![2] = Float64Array.from(P[1]![2]!.map((v) => Math.min(Math.max(v, 0), 1))); // exact after clipping → PSNR inf
  const acc = new MetricsAccumulator(Hz, H, W);
  for (const [i0, b] of [[0, 2], [2, 3]] as const) {
    const p = new Float32Array(Hz * b * hw);
    const g = new Float32Array(Hz * b * hw);
    for (let t = 0; t < Hz; t++) for (let k = 0; k < b; k++) {
      p.set(P[i0 + k]![t]!, (t * b + k) * hw);
      g.set(G[i0 + k]![t]!, (t * b + k) * hw);
    }
    acc.add(p, g, b);
  }
  const r = acc.result();
  assert.equal(r.frames, seqs * Hz);
  assert.equal(acc.count, seqs);
  for (let t = 0; t < Hz; t++) {
    const scores = P.map((_, i) => frameScores(Float32Array.from(P[i]![t]!), Float32Array.from(G[i]![t]!), H, W));
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
      const mean = scores.reduce((a, s) => a + s[k], 0) / seqs;
      if (mean === Infinity) assert.equal(r.perFrame[k][t], Infinity);
      else assert.ok(Math.abs(r.perFrame[k][t]! - mean) < 1e-9, `${k}[${t}]`);
    }
  }
  const overall = r.perFrame.ssim.reduce((a, b) => a + b, 0) / Hz;
  assert.ok(Math.abs(r.ssim - overall) < 1e-12);
  assert.equal(r.psnr, Infinity, 'an exact frame makes the mean PSNR infinite, as in OpenSTL');
  assert.ok(Number.isFinite(r.perFrame.psnr[0]!));
  assert.throws(() => acc.add(new Float32Array(10), new Float32Array(10), 1), RangeError);
});
