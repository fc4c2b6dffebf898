/**
 * 3×3×3 convolutions over T = 3 frames written as 2-D convolutions (architecture.md §11). This is the
 * one place that knows how; no tf.conv3d (wrong gradients and slow on wasm 4.22.0).
 *
 * Weights are held in the canonical PyTorch-permuted form w[kd,kh,kw,Cin,Cout] (= [3,3,3,Cin,Cout]);
 * PyTorch [Cout,Cin,kd,kh,kw] → permute(2,3,4,1,0). Temporal padding is 'same' (zero frames at
 * t = −1 and t = 3); spatial padding is 1 on each side, stride (1,1,1) or (1,2,2) (PyTorch parity).
 *
 * Model path — packed layout (packed.ts, [N,H,W,3C], channel = t·C + c): `packedConv` builds ONE
 * block-banded [3,3,3Cin,3Cout] filter per weight (block (t_in,t_out) = W[t_in − t_out + 1], 2 of 9
 * blocks zero — the same MACs as a conv3d that multiplies the zero padding) once per loss/predict
 * call, and `conv3dPacked` is a single conv2d (variant C of §11 without any layout transposes).
 *
 * Time-major folded API (`conv3d`, [3B,H,W,C], row t·B + b), variants selectable for benchmarks
 * (default 'banded', the fastest on wasm at the small config's shapes; `crevnet model --bench-conv3d`):
 *  - 'im2col' (D): temporal im2col X'[t] = [x[t−1], x[t], x[t+1]] on channels and one conv2d.
 *  - 'taps' (B): Z_τ = conv2d(x, W[τ]) on the folded input, y[t] = Z_1[t] + Z_0[t−1] + Z_2[t+1].
 *  - 'banded' (C): pack (transpose), banded conv2d, unpack.
 * Every conv2d here has a custom gradient: dx is a forward conv2d of dy with the flipped, transposed
 * kernel (stride 2: dy dilated with zeros first) because wasm's Conv2DBackpropInput is a scalar loop
 * (~8× slower than XNNPACK's forward conv); dW is the Conv2DBackpropFilter kernel (runtime/kernels.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';
import { pack, transposeMerged, unpack } from './packed.js';
import { sumToChannels } from './ops.js';

export type Conv3dVariant = 'im2col' | 'taps' | 'banded';
export const CONV3D_VARIANTS: readonly Conv3dVariant[] = ['im2col', 'taps', 'banded'];

let variant: Conv3dVariant = 'banded';

/** Select the implementation used by the time-major `conv3d` (all are numerically equivalent). */
export function setConv3dVariant(v: Conv3dVariant): void {
  if (!CONV3D_VARIANTS.includes(v)) throw new Error(`unknown conv3d variant "${v}"`);
  variant = v;
}
export function getConv3dVariant(): Conv3dVariant {
  return variant;
}

type Pad = 'same' | [[number, number], [number, number], [number, number], [number, number]];
const PAD1: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
/** spatial padding of a 3×3 conv: stride 1 → 'same' (= 1/1), stride 2 → explicit 1/1 (PyTorch parity) */
function spatialPad(stride: 1 | 2): Pad {
  return stride === 1 ? 'same' : PAD1;
}

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

/** Insert zeros between rows and columns: [N,h,w,C] → [N,2h,2w,C], value at even positions. */
function dilate2(dy: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = dy.shape;
  return tf.tidy(() =>
    dy
      .reshape([n, h, 1, w, 1, c])
      .pad([[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
      .reshape([n, 2 * h, 2 * w, c]),
  );
}

function backpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], stride: 1 | 2, pad: Pad): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [stride, stride],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

// ---------------------------------------------------------------------------------------------
// 2-D conv with a fast input gradient (used by variants B and C).

/**
 * f[kh,kw,ci,co] → f'[kh,kw,co,ci] rotated by 180° in (kh,kw): the taps of the [kh·kw, ci·co] view in
 * reverse order (an axis-0 split + concat: wasm's Reverse and GatherV2 kernels are ~10× slower), then
 * ci ↔ co.
 */
function flipTranspose2d(f: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = f.shape;
  const taps = kh * kw;
  return tf.tidy(() => {
    const rows = taps === 1 ? f.reshape([1, ci, co]) : tf.concat(tf.split(f.reshape([taps, ci, co]), taps, 0).reverse(), 0);
    return rows.transpose([0, 2, 1]).reshape([kh, kw, co, ci]);
  });
}

/** Padding of conv2dFast for a k×k kernel and stride. */
function fastPad(k: number, stride: 1 | 2): Pad {
  return k === 1 ? 'same' : spatialPad(stride);
}

/**
 * conv2d with a 3×3 or 1×1 kernel (3×3: stride 1 'same' or stride 2 with explicit 1/1 padding;
 * 1×1: stride 1), optional bias. Gradients: dx = conv2d(dy [dilated for stride 2], flipped kernel),
 * df = Conv2DBackpropFilter, db = Σ dy. With a `sink` (deferWeightGrads) the weight and bias
 * gradients of this use are not computed here: (x, dy) is handed to the sink, which computes them
 * once for all uses of the conv, and zeros are returned for f and the bias.
 */
export function conv2dFast(x: tf.Tensor4D, f: tf.Tensor4D, stride: 1 | 2 = 1, bias?: tf.Tensor1D, fAdjoint?: tf.Tensor4D, sink?: WeightGradSink): tf.Tensor4D {
  const k = f.shape[0];
  if (f.shape[1] !== k || (k !== 3 && k !== 1)) throw new Error(`conv2dFast: kernel must be 3×3 or 1×1, got ${f.shape}`);
  if (k === 1 && stride !== 1) throw new Error('conv2dFast: 1×1 kernels need stride 1');
  if (sink && (sink.stride !== stride || !tf.util.arraysEqual(sink.filterShape, f.shape))) throw new Error('conv2dFast: the weight-gradient sink belongs to another conv');
  const pad: Pad = fastPad(k, stride);
  const op = customOp<tf.Tensor4D>(([xi, fi, bi], save) => {
    const x4 = xi as tf.Tensor4D;
    const f4 = fi as tf.Tensor4D;
    // the adjoint kernel (flipped, in/out swapped) for dx; precomputed by packedConv when given
    save([x4, fAdjoint ?? flipTranspose2d(f4)]);
    const value = bi ? tf.fused.conv2d({ x: x4, filter: f4, strides: stride, pad, bias: bi }) : tf.conv2d(x4, f4, stride, pad);
    return {
      value,
      gradFunc: (d, saved) => {
        const [xs, fa] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.tidy(() => tf.conv2d(stride === 2 ? dilate2(d) : d, fa, 1, 'same'));
        if (sink) {
          sink.add(xs, d);
          return bi ? [dx, tf.zeros(f.shape), tf.zeros(bi.shape)] : [dx, tf.zeros(f.shape)];
        }
        const df = backpropFilter(xs, d, f.shape, stride, pad);
        return bi ? [dx, df, sumToChannels(d)] : [dx, df];
      },
    };
  });
  return bias ? op(x, f, bias) : op(x, f);
}

/**
 * Collects the (input, output gradient) pairs of every use of one conv during a backward pass, so that
 * its weight and bias gradients are computed ONCE over all uses concatenated on the batch axis (one
 * large weight-gradient kernel instead of one per time step; the sum over uses is the same).
 * Created by `deferWeightGrads`; the tensors it holds belong to the backward pass (saved inputs,
 * accumulated gradients) and are only referenced until the gradient is computed.
 */
export class WeightGradSink {
  private xs: tf.Tensor4D[] = [];
  private dys: tf.Tensor4D[] = [];

  constructor(
    readonly filterShape: [number, number, number, number],
    readonly stride: 1 | 2,
  ) {}

  add(x: tf.Tensor4D, dy: tf.Tensor4D): void {
    this.xs.push(x);
    this.dys.push(dy);
  }

  get uses(): number {
    return this.xs.length;
  }

  /** [df, db?] summed over all recorded uses (zeros when there were none); clears the record. */
  gradients(withBias: boolean): tf.Tensor[] {
    const xs = this.xs;
    const dys = this.dys;
    this.xs = [];
    this.dys = [];
    const [k, , , cout] = this.filterShape;
    if (xs.length === 0) return withBias ? [tf.zeros(this.filterShape), tf.zeros([cout])] : [tf.zeros(this.filterShape)];
    return tf.tidy(() => {
      // newest use first in the record (backward order); concatenate in forward order
      const x = xs.length === 1 ? xs[0]! : tf.concat([...xs].reverse(), 0);
      const dy = dys.length === 1 ? dys[0]! : tf.concat([...dys].reverse(), 0);
      let df: tf.Tensor4D;
      if (k === 1) {
        // 1×1: a plain matMul x^T·dy (explicit transpose: wasm's transposed-operand matMul is a scalar loop)
        const cin = x.shape[3];
        const rows = x.size / cin;
        df = tf.matMul(x.reshape([rows, cin]).transpose(), dy.reshape([rows, cout])).reshape(this.filterShape);
      } else {
        df = backpropFilter(x, dy, this.filterShape, this.stride, fastPad(k, this.stride));
      }
      // bias: Σ dy over (N,H,W) (measured on par with the ones-vector matMul of sumToChannels here)
      return withBias ? [df, tf.sum(dy, [0, 1, 2])] : [df];
    });
  }
}

/**
 * The conv with deferred weight gradients: its filter (and bias) pass through one identity op whose
 * gradient is computed from all uses recorded by the returned conv's sink. Call inside the tape (e.g.
 * at the start of a loss) once per conv, then use the returned conv for every use; the identity op
 * precedes all uses on the tape, so its gradient runs after every use has recorded (x, dy).
 */
export function deferWeightGrads(k: PackedConv): PackedConv {
  const sink = new WeightGradSink(k.f.shape, k.stride);
  const withBias = k.bias !== undefined;
  const op = customOp<tf.Tensor4D>(([f]) => ({
    value: f!.reshape(f!.shape) as tf.Tensor4D,
    // dy: the sum of what the uses returned for the filter (zeros from uses with this sink; real
    // gradients from any use that computed its own, e.g. a reversible-backprop stack)
    gradFunc: (dy) => {
      const [df, ...db] = sink.gradients(withBias);
      return [tf.add(dy, df!), ...db];
    },
  }));
  const out: PackedConv = { f: k.bias ? op(k.f, k.bias) : op(k.f), stride: k.stride, sink };
  if (k.bias) out.bias = k.bias;
  if (k.fAdj) out.fAdj = k.fAdj;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Packed layout (the model path).

/** A conv ready for the packed layout: block-banded (3×3×3) or block-diagonal (1×1×1) filter. */
export interface PackedConv {
  /** [k,k,P·3·C, 3·Cout], rows (part, t_in, c), columns (group, t_out, c_g) */
  f: tf.Tensor4D;
  /** [3·Cout] in the column order of f */
  bias?: tf.Tensor1D;
  /** adjoint kernel for the input gradient: f rotated 180° in (kh,kw), in/out swapped */
  fAdj?: tf.Tensor4D;
  stride: 1 | 2;
  /** deferred weight gradients (deferWeightGrads): uses record (x, dy) here instead of computing df */
  sink?: WeightGradSink;
}

/** rows (t_in, t_out) → temporal tap τ (3×3×3: τ = t_in − t_out + 1; 1×1×1: t_in = t_out) */
function tapSelection(k: 1 | 3): tf.Tensor2D {
  const taps = k === 3 ? 3 : 1;
  const s = new Float32Array(9 * taps);
  for (let ti = 0; ti < 3; ti++) {
    for (let to = 0; to < 3; to++) {
      const tau = k === 3 ? ti - to + 1 : ti === to ? 0 : -1;
      if (tau >= 0 && tau < taps) s[(ti * 3 + to) * taps + tau] = 1;
    }
  }
  return tf.tensor2d(s, [9, taps]);
}

/**
 * Prepare a conv for the packed layout (once per loss/predict call; gradients flow back to w).
 * w: [3,3,3,P·C,Cout] (3×3×3) or [P·C,Cout] (1×1×1); `parts` P input parts concatenated on channels
 * (concatChannels order), `outGroups` splits Cout into groups placed outermost in the output channels
 * so each group is one contiguous packed block (e.g. the i,f,g gates).
 */
export function packedConv(w: tf.Tensor, opts: { bias?: tf.Tensor1D; parts?: number; outGroups?: number; stride?: 1 | 2 } = {}): PackedConv {
  const parts = opts.parts ?? 1;
  const groups = opts.outGroups ?? 1;
  const stride = opts.stride ?? 1;
  const k: 1 | 3 = w.rank === 5 ? 3 : 1;
  if (w.rank !== 5 && w.rank !== 2) throw new Error(`packedConv: weight must be [3,3,3,Cin,Cout] or [Cin,Cout], got [${w.shape}]`);
  const cinAll = w.shape[w.rank - 2]!;
  const cout = w.shape[w.rank - 1]!;
  if (cinAll % parts !== 0 || cout % groups !== 0) throw new Error(`packedConv: ${cinAll}→${cout} does not split into ${parts} parts / ${groups} groups`);
  if (k === 1 && stride !== 1) throw new Error('packedConv: 1×1×1 convs need stride 1');
  const c = cinAll / parts;
  const cg = cout / groups;
  const taps = k === 3 ? 3 : 1;
  const ks = k * k;
  return tf.tidy(() => {
    // [taps, ks·P·C·Cout] → [(t_in,t_out), …] by the tap selection
    const sel = tf.matMul(tapSelection(k), w.reshape([taps, ks * cinAll * cout]));
    // dims: t_in, t_out, khw, P, C, G, Cg → khw, P, t_in, C, G, t_out, Cg
    const banded = transposeMerged(sel.reshape([3, 3, ks, parts, c, groups, cg]), [2, 3, 0, 4, 5, 1, 6]).reshape([k, k, parts * 3 * c, 3 * cout]);
    const out: PackedConv = { f: banded as tf.Tensor4D, stride, fAdj: flipTranspose2d(banded as tf.Tensor4D) };
    if (opts.bias) {
      // rank-1 concat, not tile+reshape: wasm's FusedConv2D reads the bias rank from the data
      // record, which keeps the shape of the kernel that produced it (the tile's rank 3)
      const b = opts.bias;
      out.bias = tf.concat(Array.from({ length: groups }, (_, g) => b.slice(g * cg, cg)).flatMap((s) => [s, s, s]), 0);
    }
    return out as unknown as tf.TensorContainer;
  }) as unknown as PackedConv;
}

/** 3×3×3 (or 1×1×1) conv on packed input [N,H,W,3Cin] (or its parts) → packed [N,H/s,W/s,3Cout]. */
export function conv3dPacked(x: tf.Tensor4D, k: PackedConv): tf.Tensor4D {
  if (x.shape[3] !== k.f.shape[2]) throw new Error(`conv3dPacked: input has ${x.shape[3]} packed channels, filter expects ${k.f.shape[2]}`);
  return conv2dFast(x, k.f, k.stride, k.bias, k.fAdj, k.sink);
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
  const v = opts.variant ?? variant;
  if (v === 'im2col') return conv3dIm2col(x, w, stride, opts.bias);
  return tf.tidy(() => {
    if (v === 'banded') return conv3dBanded(x, w, stride, opts.bias);
    const y = conv3dTaps(x, w, stride);
    return opts.bias ? tf.add<tf.Tensor4D>(y, opts.bias) : y;
  });
}

/** 1×1×1 convolution (a per-position linear map): x [N,H,W,Cin], w [Cin,Cout], optional bias [Cout]. */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor4D {
  const [n, h, wd, ci] = x.shape;
  const co = w.shape[1];
  if (w.shape[0] !== ci) throw new Error(`conv1x1: input has ${ci} channels, kernel expects ${w.shape[0]}`);
  return tf.tidy(() => {
    const y = tf.matMul(x.reshape([n * h * wd, ci]), w);
    return (bias ? tf.add(y, bias) : y).reshape([n, h, wd, co]);
  });
}
