/**
 * Microbenchmarks of the model's building blocks at the `small` config's real shapes
 * (batch 4 → 3B = 12 folded frames): 3×3×3 conv as conv2d over temporal taps in several variants,
 * forward and forward+backward; per-op overhead of tiny element-wise ops; concat/slice by axis.
 *
 * Layout conventions (see docs/architecture.md, Packed layout): a clip is time-major [3,B,H,W,C], folded to
 * [3B,H,W,C]; a 3-D kernel is [3(τ),3,3,Cin,Cout] and y[t] = Σ_τ conv2d(x[t+τ−1], W[τ]).
 */
import * as tf from '@tensorflow/tfjs';
import { timeMs, type TimingOptions } from './timing.js';
import { backendName } from '../runtime/backend.js';

export type ConvVariant = 'A' | 'B' | 'B1' | 'C' | 'Cnative' | 'D';
const T = 3;

/** Spatial handling shared by all variants: stride 1 → 'same'; stride 2 → explicit pad 1/1 + 'valid' (PyTorch parity). */
function spatial(x: tf.Tensor4D, stride: 1 | 2, k: number): { x: tf.Tensor4D; pad: 'same' | 'valid' } {
  if (stride === 1 || k === 1) return { x, pad: 'same' };
  return { x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), pad: 'valid' };
}

/** Variant A: per-frame, 7 conv2d calls. */
export function conv3A(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const k = w.shape[1];
  const { x: xs, pad } = spatial(x, stride, k);
  const frames = tf.split(xs, T, 0) as tf.Tensor4D[];
  const taps = tf.unstack(w, 0) as tf.Tensor4D[];
  const out: tf.Tensor4D[] = [];
  for (let t = 0; t < T; t++) {
    const terms: tf.Tensor4D[] = [];
    for (let tau = 0; tau < 3; tau++) {
      const s = t + tau - 1;
      if (s < 0 || s >= T) continue;
      terms.push(tf.conv2d(frames[s]!, taps[tau]!, stride, pad) as tf.Tensor4D);
    }
    out.push(terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Tensor4D));
  }
  return tf.concat(out, 0);
}

/** y = Z1 + shift_down(Z0) + shift_up(Z2) on a time-major [3,B,...] view of the folded output. */
function shiftSum(z0: tf.Tensor4D, z1: tf.Tensor4D, z2: tf.Tensor4D): tf.Tensor4D {
  const [n, h, wd, c] = z1.shape;
  const b = n / T;
  const zero = tf.zeros([b, h, wd, c]) as tf.Tensor4D;
  const down = tf.concat([zero, z0.slice([0, 0, 0, 0], [2 * b, h, wd, c])], 0);
  const up = tf.concat([z2.slice([b, 0, 0, 0], [2 * b, h, wd, c]), zero], 0);
  return tf.addN([z1, down, up]) as tf.Tensor4D;
}

/** Variant B: 3 conv2d on the folded input, then shifted sums over the time axis. */
export function conv3B(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const { x: xs, pad } = spatial(x, stride, w.shape[1]);
  const taps = tf.unstack(w, 0) as tf.Tensor4D[];
  const z = taps.map((wt) => tf.conv2d(xs, wt, stride, pad));
  return shiftSum(z[0]!, z[1]!, z[2]!);
}

/** Variant B1: one conv2d with the 3 taps concatenated on output channels, split, then shifted sums. */
export function conv3B1(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const { x: xs, pad } = spatial(x, stride, w.shape[1]);
  const [, kh, kw, cin, cout] = w.shape;
  // [3,kh,kw,Cin,Cout] → [kh,kw,Cin,3,Cout] → [kh,kw,Cin,3Cout]
  const wcat = w.transpose([1, 2, 3, 0, 4]).reshape([kh, kw, cin, 3 * cout]) as tf.Tensor4D;
  const z = tf.conv2d(xs, wcat, stride, pad);
  const [z0, z1, z2] = tf.split(z, 3, 3) as tf.Tensor4D[];
  return shiftSum(z0!, z1!, z2!);
}

/** Block-banded filter [kh,kw,3Cin,3Cout]: block (t_in,t_out) = W[t_in − t_out + 1] if |t_in − t_out| ≤ 1 else 0. */
export function bandedFilter(w: tf.Tensor5D): tf.Tensor4D {
  const [, kh, kw, cin, cout] = w.shape;
  const taps = tf.unstack(w, 0) as tf.Tensor4D[];
  const zero = tf.zeros([kh, kw, cin, cout]) as tf.Tensor4D;
  const rows: tf.Tensor4D[] = [];
  for (let ti = 0; ti < T; ti++) {
    const blocks: tf.Tensor4D[] = [];
    for (let to = 0; to < T; to++) {
      const tau = ti - to + 1;
      blocks.push(tau >= 0 && tau <= 2 ? taps[tau]! : zero);
    }
    rows.push(tf.concat(blocks, 3));
  }
  return tf.concat(rows, 2);
}

/** Variant C in the time-in-channels layout: x [B,H,W,3Cin] → [B,h,w,3Cout], no transposes. */
export function conv3Cnative(xc: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const { x: xs, pad } = spatial(xc, stride, w.shape[1]);
  return tf.conv2d(xs, bandedFilter(w), stride, pad);
}

/**
 * Variant C: move time into channels, one banded conv2d, move it back. The transposes are written
 * as 3-D ([3, B·H·W, C] ↔ [B·H·W, 3, C]): the same permutation as a 5-D transpose is ~17× slower on wasm.
 */
export function conv3C(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const [n, h, wd, cin] = x.shape;
  const b = n / T;
  const xc = x.reshape([T, b * h * wd, cin]).transpose([1, 0, 2]).reshape([b, h, wd, T * cin]) as tf.Tensor4D;
  const y = conv3Cnative(xc, w, stride);
  const [, ho, wo] = y.shape;
  const cout = w.shape[4];
  return y.reshape([b * ho * wo, T, cout]).transpose([1, 0, 2]).reshape([T * b, ho, wo, cout]) as tf.Tensor4D;
}

/** Variant D: temporal im2col on channels, [x(t−1), x(t), x(t+1)], then one conv2d with W stacked on Cin. */
export function conv3D(x: tf.Tensor4D, w: tf.Tensor5D, stride: 1 | 2): tf.Tensor4D {
  const [n, h, wd, cin] = x.shape;
  const b = n / T;
  const zero = tf.zeros([b, h, wd, cin]) as tf.Tensor4D;
  const prev = tf.concat([zero, x.slice([0, 0, 0, 0], [2 * b, h, wd, cin])], 0);
  const next = tf.concat([x.slice([b, 0, 0, 0], [2 * b, h, wd, cin]), zero], 0);
  const xcat = tf.concat([prev, x, next], 3);
  const [, kh, kw, , cout] = w.shape;
  const wst = w.transpose([1, 2, 0, 3, 4]).reshape([kh, kw, 3 * cin, cout]) as tf.Tensor4D;
  const { x: xs, pad } = spatial(xcat, stride, kh);
  return tf.conv2d(xs, wst, stride, pad);
}

export const CONV_VARIANTS: Record<ConvVariant, (x: tf.Tensor4D, w: tf.Tensor5D, s: 1 | 2) => tf.Tensor4D> = {
  A: conv3A,
  B: conv3B,
  B1: conv3B1,
  C: conv3C,
  Cnative: conv3Cnative,
  D: conv3D,
};

export interface ConvShape {
  label: string;
  h: number;
  cin: number;
  cout: number;
  stride: 1 | 2;
  k: 3 | 1;
}

/** The small config's conv shapes (per half, folded N = 3B). */
export const SMALL_CONV_SHAPES: ConvShape[] = [
  { label: 'enc b1-2 2→1 @32²', h: 32, cin: 2, cout: 1, stride: 1, k: 3 },
  { label: 'enc b1-2 1→1 @32²', h: 32, cin: 1, cout: 1, stride: 1, k: 3 },
  { label: 'enc b1-2 1→2 @32²', h: 32, cin: 1, cout: 2, stride: 1, k: 3 },
  { label: 'enc b3 2→4 s2 32²→16²', h: 32, cin: 2, cout: 4, stride: 2, k: 3 },
  { label: 'enc b3-4 4→4 @16²', h: 16, cin: 4, cout: 4, stride: 1, k: 3 },
  { label: 'enc b3-4 4→8 @16²', h: 16, cin: 4, cout: 8, stride: 1, k: 3 },
  { label: 'enc b4 8→4 @16²', h: 16, cin: 8, cout: 4, stride: 1, k: 3 },
  { label: 'pred gates 24→24 @16²', h: 16, cin: 24, cout: 24, stride: 1, k: 3 },
  { label: 'pred out-gate 32→8 @16²', h: 16, cin: 32, cout: 8, stride: 1, k: 3 },
];

export interface ConvRow {
  shape: string;
  variant: ConvVariant;
  forwardMs: number;
  forwardBackwardMs: number;
}

export interface MicroResult {
  backend: string;
  batch: number;
  conv: ConvRow[];
  conv1x1: { shape: string; forwardMs: number; forwardBackwardMs: number }[];
  elementwise: { op: string; elements: number; msPerOp: number }[];
  layout: { op: string; ms: number }[];
  /** the GEMM ceiling of this thread: large convolutions and a matmul, multiply-accumulates per second */
  ceiling: { op: string; macs: number; ms: number; gmacPerSecond: number }[];
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

export function benchConv(shape: ConvShape, variant: ConvVariant, batch: number, o: TimingOptions): ConvRow {
  const n = T * batch;
  const x = rand([n, shape.h, shape.h, shape.cin], 1) as tf.Tensor4D;
  const xc = tf.tidy(() => x.reshape([T, batch, shape.h, shape.h, shape.cin]).transpose([1, 2, 3, 0, 4]).reshape([batch, shape.h, shape.h, T * shape.cin])) as tf.Tensor4D;
  const w = rand([3, shape.k, shape.k, shape.cin, shape.cout], 2) as tf.Tensor5D;
  const input = variant === 'Cnative' ? xc : x;
  const f = CONV_VARIANTS[variant];
  const y0 = tf.tidy(() => f(input, w, shape.stride));
  const dy = tf.onesLike(y0);
  y0.dispose();
  const forwardMs = timeMs(() => f(input, w, shape.stride), o);
  const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => f(xi as tf.Tensor4D, wi as tf.Tensor5D, shape.stride));
  const forwardBackwardMs = timeMs(() => g([input, w], dy), o);
  tf.dispose([x, xc, w, dy]);
  return { shape: shape.label, variant, forwardMs, forwardBackwardMs };
}

/** Check all variants agree with variant B (forward) on one shape; returns the max abs difference. */
export function variantAgreement(shape: ConvShape, batch: number): number {
  return tf.tidy(() => {
    const n = T * batch;
    const x = rand([n, shape.h, shape.h, shape.cin], 3) as tf.Tensor4D;
    const w = rand([3, 3, 3, shape.cin, shape.cout], 4) as tf.Tensor5D;
    const ref = conv3B(x, w, shape.stride);
    let worst = 0;
    for (const v of ['A', 'B1', 'C', 'D'] as const) {
      const y = CONV_VARIANTS[v](x, w, shape.stride);
      worst = Math.max(worst, y.sub(ref).abs().max().dataSync()[0]!);
    }
    return worst;
  });
}

function perOp(op: string, elements: number, fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, count: number, o: TimingOptions) {
  const a = rand([elements], 5);
  const b = rand([elements], 6);
  const ms = timeMs(() => {
    let acc = a;
    for (let i = 0; i < count; i++) acc = fn(acc, b);
    return acc;
  }, o);
  tf.dispose([a, b]);
  return { op, elements, msPerOp: ms / count };
}

export interface MicroOptions extends TimingOptions {
  batch?: number;
  variants?: ConvVariant[];
  shapes?: ConvShape[];
}

export function runMicro(o: MicroOptions = {}): MicroResult {
  const batch = o.batch ?? 4;
  const timing = { warmup: o.warmup ?? 2, repeats: o.repeats ?? 5 };
  const variants = o.variants ?? (['A', 'B', 'B1', 'C', 'Cnative', 'D'] as ConvVariant[]);
  const conv: ConvRow[] = [];
  for (const s of o.shapes ?? SMALL_CONV_SHAPES) for (const v of variants) conv.push(benchConv(s, v, batch, timing));

  const n = T * batch;
  const conv1x1: MicroResult['conv1x1'] = [];
  for (const [cin, cout] of [[16, 8], [8, 8]] as const) {
    const x = rand([n, 16, 16, cin], 7) as tf.Tensor4D;
    const w = rand([1, 1, cin, cout], 8) as tf.Tensor4D;
    const bias = rand([cout], 9) as tf.Tensor1D;
    const fwd = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same').add(bi);
    const dy = tf.ones([n, 16, 16, cout]);
    const g = tf.grads(fwd);
    conv1x1.push({
      shape: `1×1 ${cin}→${cout} +bias @16² (N=${n})`,
      forwardMs: timeMs(() => fwd(x, w, bias), timing),
      forwardBackwardMs: timeMs(() => g([x, w, bias], dy), timing),
    });
    const gf = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: wi as tf.Tensor4D, strides: 1, pad: 'same', bias: bi }));
    conv1x1.push({
      shape: `1×1 ${cin}→${cout} fused bias @16² (N=${n})`,
      forwardMs: timeMs(() => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias }), timing),
      forwardBackwardMs: timeMs(() => gf([x, w, bias], dy), timing),
    });
    tf.dispose([x, w, bias, dy]);
  }

  const elementwise: MicroResult['elementwise'] = [];
  const pred = n * 16 * 16 * 8; // one predictor state [12,16,16,8]
  for (const elements of [1, pred, n * 64 * 64]) {
    elementwise.push(perOp('add', elements, (a, b) => a.add(b), 50, timing));
    elementwise.push(perOp('mul', elements, (a, b) => a.mul(b), 50, timing));
    elementwise.push(perOp('sigmoid', elements, (a) => a.sigmoid(), 50, timing));
    elementwise.push(perOp('tanh', elements, (a) => a.tanh(), 50, timing));
    elementwise.push(perOp('relu', elements, (a) => a.relu(), 50, timing));
  }

  const layout: MicroResult['layout'] = [];
  const s5 = rand([3, batch, 16, 16, 8], 10) as tf.Tensor5D;
  const f4 = rand([n, 16, 16, 24], 11) as tf.Tensor4D;
  const f4c = rand([n, 16, 16, 8], 12) as tf.Tensor4D;
  const p0 = rand([batch, 16, 16, 8], 13) as tf.Tensor4D;
  const q20 = rand([20, batch, 64, 64, 1], 14) as tf.Tensor5D;
  const b20 = rand([batch, 20, 64, 64, 1], 15) as tf.Tensor5D;
  const L = (op: string, fn: () => tf.TensorContainer) => layout.push({ op, ms: timeMs(fn, timing) });
  L('slice axis0 [3,4,16,16,8] → t=1', () => s5.slice([1, 0, 0, 0, 0], [1, batch, 16, 16, 8]));
  L('slice axis1 [3,4,16,16,8] → b=1', () => s5.slice([0, 1, 0, 0, 0], [3, 1, 16, 16, 8]));
  L('slice channels [12,16,16,24] → 8..16', () => f4.slice([0, 0, 0, 8], [n, 16, 16, 8]));
  L('split channels [12,16,16,24] → 3', () => tf.split(f4, 3, 3));
  L('concat axis0 3×[4,16,16,8]', () => tf.concat([p0, p0, p0], 0));
  L('concat channels 3×[12,16,16,8]', () => tf.concat([f4c, f4c, f4c], 3));
  L('clip slice axis0 [20,4,64,64,1] → 3 frames', () => q20.slice([5, 0, 0, 0, 0], [3, batch, 64, 64, 1]));
  L('clip slice axis1 [4,20,64,64,1] → 3 frames', () => b20.slice([0, 5, 0, 0, 0], [batch, 3, 64, 64, 1]));
  L('unstack axis0 [20,4,64,64,1]', () => tf.unstack(q20, 0));
  L('unstack axis1 [4,20,64,64,1]', () => tf.unstack(b20, 1));
  L('transpose 5-D [3,4,16,16,8] → [4,16,16,3,8]', () => s5.transpose([1, 2, 3, 0, 4]));
  L('same as 3-D [3,1024,8] → [1024,3,8]', () => s5.reshape([3, batch * 256, 8]).transpose([1, 0, 2]));
  L('zeros [12,16,16,8]', () => tf.zeros([n, 16, 16, 8]));
  tf.dispose([s5, f4, f4c, p0, q20, b20]);

  return { backend: backendName(), batch, conv, conv1x1, elementwise, layout, ceiling: gemmCeiling(timing) };
}

/**
 * Multiply-accumulates per second of one thread on the shapes that dominate the models (a predictor gate
 * conv of `medium` at batch 8 and of `small` at batch 16) and on a large matmul: what a convolution-bound
 * figure can reach on this backend (docs/performance.md, Ceiling).
 */
export function gemmCeiling(o: TimingOptions = {}): MicroResult['ceiling'] {
  const out: MicroResult['ceiling'] = [];
  const add = (op: string, macs: number, make: () => { run: () => tf.Tensor; inputs: tf.Tensor[] }) => {
    const { run, inputs } = make();
    const ms = timeMs(run, o);
    tf.dispose(inputs);
    out.push({ op, macs, ms, gmacPerSecond: macs / ms / 1e6 });
  };
  for (const [n, h, c] of [[8, 8, 288], [16, 16, 72]] as const) {
    add(`conv2d 3×3 [${n},${h},${h},${c}] → ${c}`, n * h * h * 9 * c * c, () => {
      const x = rand([n, h, h, c], 16) as tf.Tensor4D;
      const f = rand([3, 3, c, c], 17) as tf.Tensor4D;
      return { run: () => tf.conv2d(x, f, 1, 'same'), inputs: [x, f] };
    });
  }
  add('matMul [512,1024]×[1024,512]', 512 * 1024 * 512, () => {
    const a = rand([512, 1024], 18);
    const b = rand([1024, 512], 19);
    return { run: () => tf.matMul(a, b), inputs: [a, b] };
  });
  return out;
}

export function formatMicro(r: MicroResult): string {
  const lines: string[] = [];
  lines.push(`backend ${r.backend}, batch ${r.batch} (folded N = ${3 * r.batch})`);
  lines.push('', '3×3×3 conv as conv2d taps: forward ms / forward+backward ms (median)');
  const shapes = [...new Set(r.conv.map((c) => c.shape))];
  const variants = [...new Set(r.conv.map((c) => c.variant))];
  lines.push(['shape'.padEnd(28), ...variants.map((v) => v.padStart(15))].join(''));
  for (const s of shapes) {
    const cells = variants.map((v) => {
      const c = r.conv.find((x) => x.shape === s && x.variant === v);
      return (c ? `${c.forwardMs.toFixed(2)}/${c.forwardBackwardMs.toFixed(2)}` : '-').padStart(15);
    });
    lines.push([s.padEnd(28), ...cells].join(''));
  }
  lines.push('', '1×1 convs: forward / forward+backward ms');
  for (const c of r.conv1x1) lines.push(`${c.shape.padEnd(36)} ${c.forwardMs.toFixed(3)} / ${c.forwardBackwardMs.toFixed(3)}`);
  lines.push('', 'element-wise ops: ms per op (chain of 50)');
  for (const e of r.elementwise) lines.push(`${e.op.padEnd(8)} ${String(e.elements).padStart(7)} elems  ${e.msPerOp.toFixed(4)}`);
  lines.push('', 'layout ops: ms');
  for (const l of r.layout) lines.push(`${l.op.padEnd(46)} ${l.ms.toFixed(3)}`);
  lines.push('', 'GEMM ceiling of one thread: ms, GMAC/s');
  for (const c of r.ceiling) lines.push(`${c.op.padEnd(36)} ${c.ms.toFixed(2).padStart(8)} ${c.gmacPerSecond.toFixed(2).padStart(7)}`);
  return lines.join('\n');
}
