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

/*
 * Colour frames against scikit-image 0.19.3 (Debian bookworm python3-skimage 0.19.3-8): the vectors below are 8×9×3
 * uint8 frames ([H, W, C], channels last) made by an LCG (x ← (1103515245·x + 12345) mod 2^31, value x >> 23;
 * seeds 1 = truth, 2 = pred; pred2 = truth + ((LCG seed 3) mod 41 − 20), clipped to 0…255), divided by 255.
 * Reference values, computed with numpy 1.24.2 and skimage 0.19.3 (/usr/bin/python3 of Debian 12):
 *   pc = np.clip(p, 0, 1)
 *   mse = np.sum((p - g) ** 2); mae = np.sum(np.abs(p - g))            # over pixels and channels, raw prediction
 *   ssim = structural_similarity(pc, g, channel_axis=-1, data_range=2)  # ssimStrict: data_range=1
 *   psnr = -10 * np.log10(np.mean((pc - g) ** 2))
 * "raw" is pred2 · 1.5 − 0.25 (values outside [0, 1]: MSE/MAE use them, SSIM/PSNR the clipped frame).
 */
const SK_TRUTH = [
  131, 44, 79, 136, 242, 43, 179, 57, 126, 31, 21, 99, 70, 94, 251, 137, 196, 165, 196, 199, 210, 38, 160, 80, 88, 234, 133,
  102, 155, 201, 238, 222, 221, 172, 194, 148, 99, 91, 51, 211, 106, 118, 250, 32, 54, 245, 188, 104, 199, 194, 244, 7, 81, 193,
  62, 150, 11, 244, 81, 15, 113, 234, 146, 30, 145, 64, 126, 60, 122, 103, 223, 109, 91, 97, 11, 41, 133, 178, 24, 102, 197,
  62, 87, 58, 76, 77, 227, 9, 166, 102, 173, 187, 240, 59, 214, 247, 199, 110, 172, 207, 40, 71, 34, 221, 192, 53, 35, 75,
  205, 56, 144, 183, 50, 253, 64, 110, 193, 220, 229, 250, 101, 110, 32, 117, 60, 252, 167, 154, 61, 116, 202, 20, 121, 39, 62,
  241, 157, 252, 122, 204, 190, 97, 122, 134, 25, 152, 88, 36, 199, 182, 114, 180, 24, 246, 141, 189, 148, 163, 200, 48, 77, 72,
  175, 74, 144, 107, 78, 113, 144, 124, 155, 106, 33, 65, 9, 250, 29, 96, 165, 89, 141, 91, 144, 121, 41, 157, 44, 142, 74,
  223, 213, 216, 229, 152, 138, 43, 167, 176, 67, 27, 208, 48, 108, 90, 214, 35, 67, 45, 122, 97, 129, 128, 90, 134, 30, 133,
];
const SK_PRED = [
  7, 178, 79, 100, 201, 211, 234, 217, 158, 254, 203, 244, 97, 112, 82, 71, 139, 126, 17, 5, 5, 13, 140, 233, 182, 129, 152,
  24, 121, 101, 216, 245, 177, 192, 69, 155, 67, 80, 55, 2, 29, 159, 252, 107, 9, 54, 89, 53, 2, 208, 2, 168, 206, 229,
  120, 205, 250, 90, 68, 248, 20, 194, 15, 10, 61, 244, 128, 24, 218, 91, 112, 122, 152, 209, 75, 227, 122, 95, 59, 164, 50,
  189, 247, 160, 105, 233, 184, 21, 69, 163, 91, 201, 214, 57, 9, 198, 165, 108, 124, 30, 39, 199, 68, 238, 53, 73, 15, 35,
  92, 178, 105, 38, 47, 78, 230, 251, 75, 150, 59, 247, 91, 124, 49, 161, 192, 191, 244, 200, 26, 30, 170, 134, 121, 188, 222,
  36, 83, 146, 154, 140, 13, 78, 201, 102, 70, 102, 190, 93, 160, 194, 100, 199, 56, 222, 18, 41, 140, 160, 114, 199, 4, 217,
  118, 194, 217, 187, 223, 247, 138, 17, 51, 21, 161, 171, 188, 38, 251, 189, 102, 5, 75, 155, 19, 235, 13, 153, 68, 167, 172,
  125, 158, 144, 5, 67, 65, 220, 7, 158, 96, 93, 168, 2, 27, 78, 232, 151, 24, 66, 13, 232, 188, 201, 232, 164, 155, 230,
];
const SK_PRED2 = [
  126, 38, 98, 139, 255, 23, 191, 76, 132, 26, 6, 88, 51, 81, 236, 123, 176, 149, 189, 205, 204, 57, 177, 67, 88, 237, 120,
  119, 140, 183, 249, 213, 210, 159, 210, 166, 114, 99, 50, 198, 89, 133, 238, 29, 48, 255, 168, 86, 199, 192, 240, 20, 94, 181,
  56, 134, 19, 251, 75, 14, 112, 244, 142, 10, 153, 48, 113, 80, 120, 121, 203, 100, 78, 101, 7, 54, 142, 170, 16, 103, 213,
  61, 94, 44, 68, 66, 226, 21, 169, 101, 163, 178, 244, 53, 213, 253, 188, 114, 187, 215, 58, 81, 34, 210, 178, 44, 20, 60,
  215, 39, 149, 189, 33, 255, 61, 102, 182, 239, 231, 255, 81, 105, 37, 97, 66, 240, 171, 134, 42, 133, 198, 3, 140, 59, 44,
  225, 146, 255, 124, 219, 179, 95, 126, 142, 38, 142, 104, 43, 218, 164, 99, 173, 10, 255, 150, 196, 137, 176, 208, 40, 81, 77,
  175, 71, 158, 98, 87, 95, 133, 106, 174, 115, 46, 66, 18, 231, 22, 103, 184, 82, 130, 84, 150, 112, 57, 163, 34, 150, 68,
  230, 214, 228, 246, 165, 121, 42, 167, 172, 48, 43, 193, 34, 127, 96, 197, 27, 78, 31, 139, 106, 109, 125, 107, 145, 34, 143,
];
const SK_REFERENCE = {
  pred: { mse: 35.211349480968856, mae: 69.81176470588235, ssim: 0.06545655577937383, ssimStrict: 0.05006976460270598, psnr: 7.877710813517661 },
  pred2: { mse: 0.47610918877354863, mae: 8.858823529411763, ssim: 0.9850863319016819, ssimStrict: 0.9848055851947507, psnr: 26.567471878340797 },
  raw: { mse: 5.00881968473664, mae: 27.639215686274508, ssim: 0.9413234005846015, ssimStrict: 0.9405371151284684, psnr: 19.058852331706476 },
};

test('colour frames (C = 3): MSE/MAE over pixels and channels, SSIM = skimage 0.19 channel_axis=-1 to 1e-6, PSNR over all values', () => {
  const g = Float64Array.from(SK_TRUTH, (v) => v / 255);
  const cases: [keyof typeof SK_REFERENCE, Float64Array][] = [
    ['pred', Float64Array.from(SK_PRED, (v) => v / 255)],
    ['pred2', Float64Array.from(SK_PRED2, (v) => v / 255)],
    ['raw', Float64Array.from(SK_PRED2, (v) => (v / 255) * 1.5 - 0.25)],
  ];
  for (const [name, p] of cases) {
    const got = frameScores(p, g, 8, 9, 3);
    const want = SK_REFERENCE[name];
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
      assert.ok(Math.abs(got[k] - want[k]) <= 1e-6, `${name} ${k}: ${got[k]} vs skimage ${want[k]}`);
    }
  }
  // the same frames through the accumulator (time-major [1, 1, H, W, C]) give the same numbers
  const acc = new MetricsAccumulator(1, 8, 9, 3);
  acc.add(Float32Array.from(SK_PRED2, (v) => v / 255), Float32Array.from(SK_TRUTH, (v) => v / 255), 1);
  assert.ok(Math.abs(acc.result().ssim - SK_REFERENCE.pred2.ssim) < 1e-6);
  // a channel is a channel: SSIM of a colour frame is the mean of its three gray planes' SSIM
  const plane = (a: Float64Array, c: number) => a.filter((_, i) => i % 3 === c);
  const p2 = Float64Array.from(SK_PRED2, (v) => v / 255);
  const mean = [0, 1, 2].reduce((s, c) => s + frameScores(plane(p2, c), plane(g, c), 8, 9).ssim, 0) / 3;
  assert.ok(Math.abs(mean - SK_REFERENCE.pred2.ssim) < 1e-12);
  assert.throws(() => new MetricsAccumulator(1, 8, 9, 3).add(new Float32Array(8 * 9), new Float32Array(8 * 9), 1), RangeError);
});
