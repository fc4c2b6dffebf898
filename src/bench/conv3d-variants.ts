/**
 * The time-major folded conv3d API (`conv3d`, [3B,H,W,C], row t·B + b) and its implementation variants,
 * selectable per call for benchmarks and parity tests (the model uses src/model/conv3d-packed.ts). Default
 * 'banded', the fastest on wasm at the small config's shapes (`crevnet model --bench-conv3d`):
 *  - 'im2col' (D): temporal im2col X'[t] = [x[t−1], x[t], x[t+1]] on channels and one conv2d.
 *  - 'taps' (B): Z_τ = conv2d(x, W[τ]) on the folded input, y[t] = Z_1[t] + Z_0[t−1] + Z_2[t+1].
 *  - 'banded' (C): pack (transpose), banded conv2d, unpack.
 */
import * as tf from '@tensorflow/tfjs';
import { backpropFilter, conv2dFast, dilate2, spatialPad } from '../model/conv2d-fast.js';
import { conv3dPacked, packedConv } from '../model/conv3d-packed.js';
import { customOp } from '../model/custom-op.js';
import { pack, unpack } from '../model/packed.js';
import { sumToChannels } from '../model/ops.js';

export type Conv3dVariant = 'im2col' | 'taps' | 'banded';
export const CONV3D_VARIANTS: readonly Conv3dVariant[] = ['im2col', 'taps', 'banded'];

/** Frames t−1 (zero at t = 0) for a folded [3B,…] tensor with batch B. */
export function shiftPrev(x: tf.Tensor4D, batch: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    return tf.concat([tf.zeros([batch, h, w, c]), x.slice([0, 0, 0, 0], [n - batch, h, w, c])], 0);
  });
}

/** Frames t+1 (zero at t = 2). */
export function shiftNext(x: tf.Tensor4D, batch: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    return tf.concat([x.slice([batch, 0, 0, 0], [n - batch, h, w, c]), tf.zeros([batch, h, w, c])], 0);
  });
}

/** X'[t] = [x[t−1], x[t], x[t+1]] on channels (zero frames outside 0..2): [3B,H,W,C] → [3B,H,W,3C]. */
export function temporalIm2col(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (n % 3 !== 0) throw new Error(`conv3d: folded batch ${n} is not a multiple of T = 3`);
  const b = n / 3;
  return tf.tidy(() => {
    const xp = tf.pad(x, [[b, b], [0, 0], [0, 0], [0, 0]]);
    return tf.concat([xp.slice([0, 0, 0, 0], [n, h, w, c]), x, xp.slice([2 * b, 0, 0, 0], [n, h, w, c])], 3);
  });
}

// ---------------------------------------------------------------------------------------------
// Variant D: temporal im2col + one conv2d, custom gradient.

/** w[kd,kh,kw,ci,co] → f[kh,kw,(kd,ci),co] for the im2col input channel order (τ outer, ci inner). */
export function im2colFilter(w: tf.Tensor5D): tf.Tensor4D {
  const [kd, kh, kw, ci, co] = w.shape;
  return tf.tidy(() => w.transpose([1, 2, 0, 3, 4]).reshape([kh, kw, kd * ci, co]));
}

/** f[kh,kw,(kd,ci),co] → kernel of the adjoint conv: flipped in kd,kh,kw, ci↔co: [kh,kw,(kd,co),ci]. */
function adjointIm2colFilter(f: tf.Tensor4D, ci: number, co: number): tf.Tensor4D {
  return tf.tidy(() =>
    f
      .reshape([3, 3, 3, ci, co])
      .reverse([0, 1, 2])
      .transpose([0, 1, 2, 4, 3])
      .reshape([3, 3, 3 * co, ci]),
  );
}

function im2colForward(x: tf.Tensor4D, f: tf.Tensor4D, bias: tf.Tensor1D | null, stride: 1 | 2): { X: tf.Tensor4D; y: tf.Tensor4D } {
  const X = temporalIm2col(x);
  const pad = spatialPad(stride);
  const y = bias
    ? tf.fused.conv2d({ x: X, filter: f, strides: stride, pad, bias })
    : tf.conv2d(X, f, stride, pad);
  return { X, y };
}

function im2colGrads(dy: tf.Tensor4D, X: tf.Tensor4D, f: tf.Tensor4D, stride: 1 | 2): [tf.Tensor4D, tf.Tensor4D] {
  const ci = f.shape[2] / 3;
  const co = f.shape[3];
  const dx = tf.tidy(() => {
    const d = stride === 2 ? dilate2(dy) : dy;
    return tf.conv2d(temporalIm2col(d), adjointIm2colFilter(f, ci, co), 1, 'same');
  });
  const df = backpropFilter(X, dy, f.shape, stride, spatialPad(stride));
  return [dx, df];
}

function conv3dIm2col(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2, bias?: tf.Tensor1D): tf.Tensor4D {
  const f = im2colFilter(w);
  try {
    const op = customOp<tf.Tensor4D>(([xi, fi, bi], save) => {
      const { X, y } = im2colForward(xi as tf.Tensor4D, fi as tf.Tensor4D, (bi as tf.Tensor1D | undefined) ?? null, stride);
      save([X, fi!]);
      return {
        value: y,
        gradFunc: (d, saved) => {
          const [dx, df] = im2colGrads(d, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, stride);
          return bi ? [dx, df, sumToChannels(d)] : [dx, df];
        },
      };
    });
    return bias ? op(x, f, bias) : op(x, f);
  } finally {
    f.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Variants B and C (autodiff around conv2dFast).

function tap(w: tf.Tensor5D, t: number): tf.Tensor4D {
  const [, kh, kw, ci, co] = w.shape;
  return w.slice([t, 0, 0, 0, 0], [1, kh, kw, ci, co]).reshape([kh, kw, ci, co]);
}

function conv3dTaps(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const b = x.shape[0] / 3;
  const z = [0, 1, 2].map((t) => conv2dFast(x, tap(w, t), stride));
  return tf.addN([shiftPrev(z[0]!, b), z[1]!, shiftNext(z[2]!, b)]) as tf.Tensor4D;
}

function conv3dBanded(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2, bias?: tf.Tensor1D): tf.Tensor4D {
  const opts: { stride: 1 | 2; bias?: tf.Tensor1D } = { stride };
  if (bias) opts.bias = bias;
  const y = conv3dPacked(pack(x), packedConv(w, opts));
  const [n, ho, wo, c3] = y.shape;
  return unpack(y).reshape([3 * n, ho, wo, c3 / 3]);
}

// ---------------------------------------------------------------------------------------------

/**
 * 3×3×3 convolution, T = 3, temporal 'same' zero padding, stride (1,s,s), spatial padding 1.
 * x: [3B,H,W,Cin] time-major folded; w: [3,3,3,Cin,Cout]; optional bias [Cout].
 * Returns [3B,H/s,W/s,Cout].
 */
export function conv3d(x: tf.Tensor4D, w: tf.Tensor5D, opts: { stride?: 1 | 2; bias?: tf.Tensor1D; variant?: Conv3dVariant } = {}): tf.Tensor4D {
  const stride = opts.stride ?? 1;
  const [kd, kh, kw, ci, co] = w.shape;
  if (kd !== 3 || kh !== 3 || kw !== 3) throw new Error(`conv3d: kernel must be 3×3×3, got ${w.shape}`);
  if (x.shape[3] !== ci) throw new Error(`conv3d: input has ${x.shape[3]} channels, kernel expects ${ci}`);
  if (x.shape[0] % 3 !== 0) throw new Error(`conv3d: folded batch ${x.shape[0]} is not a multiple of T = 3`);
  if (stride === 2 && (x.shape[1] % 2 !== 0 || x.shape[2] % 2 !== 0)) throw new Error(`conv3d: stride 2 needs even H, W`);
  if (opts.bias && opts.bias.shape[0] !== co) throw new Error(`conv3d: bias has ${opts.bias.shape[0]} entries, expected ${co}`);
  const v = opts.variant ?? 'banded';
  if (v === 'im2col') return conv3dIm2col(x, w, stride, opts.bias);
  return tf.tidy(() => {
    if (v === 'banded') return conv3dBanded(x, w, stride, opts.bias);
    const y = conv3dTaps(x, w, stride);
    return opts.bias ? tf.add<tf.Tensor4D>(y, opts.bias) : y;
  });
}
