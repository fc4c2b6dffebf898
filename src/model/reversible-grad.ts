/**
 * Memory-saving reversible backprop for the autoencoder (see docs/architecture.md, Reversible backprop).
 *
 * E (and D = E⁻¹) is ONE tf.customGrad op over the whole block stack, with every trainable weight
 * (the prepared packed conv filters of block.ts, norm γ/β) as an explicit input: ops inside a
 * customGrad forward are not taped, so weights captured by closure would get no gradient. The
 * weights are also saved for the backward pass: the prepared filters are intermediates of the
 * caller's tidy and are gone by then. The forward runs the blocks one at a time, each
 * in its own tidy, disposing the previous activation, and saves only the stack's output. The backward
 * walks the blocks in reverse and, per block, rebuilds the block's input from its output with the
 * inverse (decoder: forward) formula and takes the local VJP of the residual F:
 *
 *   encoder block, (a, b) = (ψ_s(x2), ψ_s(x1) + F(x2)), cotangents (da, db):
 *     x2 = ψ_s⁻¹(a),  x1 = ψ_s⁻¹(b − F(x2)),  (g, dW) = VJP_F(x2; db),
 *     dx1 = ψ_s⁻¹(db),  dx2 = ψ_s⁻¹(da) + g
 *   decoder block, (x1, x2) = (ψ_s⁻¹(b − F(ψ_s⁻¹ a)), ψ_s⁻¹(a)), cotangents (dx1, dx2):
 *     a = ψ_s(x2),  b = ψ_s(x1) + F(x2),  (g, dW) = VJP_F(x2; −ψ_s(dx1)),
 *     db = ψ_s(dx1),  da = ψ_s(dx2 + g)
 *
 * Normalisation in the recomputation uses the batch statistics of the rebuilt x2 (equal to the
 * forward's up to float error) in mode 'recompute', which never touches the running statistics; the
 * forward pass keeps the caller's context (train mode: running-stat updates exactly as plain autodiff).
 *
 * The local VJP uses tf.valueAndGrads inside gradFunc. During an outer tf.grads/variableGrads that
 * inner call replaces and then nulls the engine's active tape (tfjs 4.22.0), which crashes the outer
 * call ("Cannot read properties of null (reading 'forEach')"); `withOwnTape` saves and restores the
 * engine's tape state around it (tfjs is pinned; test/model-reversible-grad.test.ts guards this).
 */
import * as tf from '@tensorflow/tfjs';
import { mergeOutput, splitInput, type PreparedAutoencoder } from './autoencoder.js';
import { residual, type PreparedBlock, type BlockSpec } from './block.js';
import type { NormContext } from './norm.js';
import { psiStride, psiStrideInverse } from './psi.js';
import { customOp } from './custom-op.js';

interface EngineTapeState {
  activeTape: unknown;
  gradientDepth: number;
}

/** Run `fn` (which calls tf.grads & co.) without disturbing an enclosing gradient computation. */
function withOwnTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: EngineTapeState }).state;
  const tape = state.activeTape;
  const depth = state.gradientDepth;
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return fn();
  } finally {
    state.activeTape = tape;
    state.gradientDepth = depth;
  }
}

/**
 * Trainable tensors of one block's prepared kernels in a fixed order (norm γ/β and the packed conv
 * filters; encoder convs have no bias), and the inverse mapping (the conv strides come from the spec).
 */
function flattenParams(p: PreparedBlock): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  if (p.norm0) out.push(p.norm0.gamma, p.norm0.beta);
  out.push(p.conv1.f, p.norm1.gamma, p.norm1.beta, p.conv2.f, p.norm2.gamma, p.norm2.beta, p.conv3.f);
  return out;
}

function unflattenParams(spec: BlockSpec, hasNorm0: boolean, t: tf.Tensor[]): PreparedBlock {
  let i = 0;
  const next = <T extends tf.Tensor>() => t[i++] as T;
  const norm0 = hasNorm0 ? { gamma: next<tf.Tensor1D>(), beta: next<tf.Tensor1D>() } : undefined;
  const p: PreparedBlock = {
    conv1: { f: next<tf.Tensor4D>(), stride: spec.stride },
    norm1: { gamma: next<tf.Tensor1D>(), beta: next<tf.Tensor1D>() },
    conv2: { f: next<tf.Tensor4D>(), stride: 1 },
    norm2: { gamma: next<tf.Tensor1D>(), beta: next<tf.Tensor1D>() },
    conv3: { f: next<tf.Tensor4D>(), stride: 1 },
  };
  if (norm0) p.norm0 = norm0;
  return p;
}

interface Layout {
  counts: number[];
  offsets: number[];
  flat: tf.Tensor[];
}

function layout(w: PreparedAutoencoder): Layout {
  const counts: number[] = [];
  const offsets: number[] = [];
  const flat: tf.Tensor[] = [];
  for (const p of w.blocks) {
    const f = flattenParams(p);
    offsets.push(flat.length);
    counts.push(f.length);
    flat.push(...f);
  }
  return { counts, offsets, flat };
}

function blockParamsFrom(w: PreparedAutoencoder, lay: Layout, k: number, weights: tf.Tensor[]): PreparedBlock {
  return unflattenParams(w.specs[k]!, w.blocks[k]!.norm0 !== undefined, weights.slice(lay.offsets[k]!, lay.offsets[k]! + lay.counts[k]!));
}

function recomputeContext(ctx: NormContext): NormContext {
  const r: NormContext = { mode: ctx.mode === 'eval' ? 'eval' : 'recompute', kind: ctx.kind };
  if (ctx.groups !== undefined) r.groups = ctx.groups;
  return r;
}

/** F(x2) and its VJP with cotangent `dy`: returns [F(x2), dF/dx2ᵀ·dy, dF/dWᵀ·dy...]. */
function residualVjp(w: PreparedAutoencoder, k: number, params: tf.Tensor[], hasNorm0: boolean, x2: tf.Tensor4D, dy: tf.Tensor4D, ctx: NormContext): { value: tf.Tensor4D; grads: tf.Tensor[] } {
  const spec = w.specs[k]!;
  const f = (xi: tf.Tensor, ...pi: tf.Tensor[]) => residual(spec, unflattenParams(spec, hasNorm0, pi), undefined, xi as tf.Tensor4D, ctx);
  return withOwnTape(() => {
    const r = tf.valueAndGrads(f)([x2, ...params], dy);
    return { value: r.value as tf.Tensor4D, grads: r.grads };
  });
}

/** Dispose `old` tensors that are not (identity ψ_s for stride 1 passes tensors through) in `keep`. */
function disposeExcept(old: tf.Tensor[], keep: tf.Tensor[]): void {
  for (const t of old) if (!keep.includes(t)) t.dispose();
}

function splitRows(v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const [n2, h, wd, c] = v.shape;
  const n = n2 / 2;
  return [v.slice([0, 0, 0, 0], [n, h, wd, c]), v.slice([n, 0, 0, 0], [n, h, wd, c])];
}

/**
 * E with reversible backprop: halves (after ψ + split) [N,h,w,c] → latent halves. Same value as
 * encodeHalves; the backward pass recomputes activations instead of keeping them.
 */
export function reversibleEncodeHalves(w: PreparedAutoencoder, x1: tf.Tensor4D, x2: tf.Tensor4D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
  const lay = layout(w);
  const nBlocks = w.specs.length;
  const rctx = recomputeContext(ctx);
  const op = customOp<tf.Tensor4D>((inputs, save) => {
    const [in1, in2, ...weights] = inputs as [tf.Tensor4D, tf.Tensor4D, ...tf.Tensor[]];
    let h: [tf.Tensor4D, tf.Tensor4D] = [in1, in2];
    for (let k = 0; k < nBlocks; k++) {
      const p = blockParamsFrom(w, lay, k, weights);
      const spec = w.specs[k]!;
      const prev = h;
      h = tf.tidy(() => {
        const fx = residual(spec, p, w.running?.[k], prev[1], ctx);
        return [psiStride(prev[1], spec.stride), tf.add(psiStride(prev[0], spec.stride), fx)] as [tf.Tensor4D, tf.Tensor4D];
      });
      disposeExcept(prev, [...h, in1, in2]);
    }
    const value = tf.concat(h, 0);
    disposeExcept(h, [in1, in2]);
    // the weights are saved too: they may be intermediates of the caller (prepared packed filters)
    // that are disposed before the backward pass runs
    save([value, ...weights]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const savedWeights = saved.slice(1);
        const dW: tf.Tensor[] = new Array(weights.length);
        let out = splitRows(saved[0] as tf.Tensor4D);
        let d = splitRows(dy);
        for (let k = nBlocks - 1; k >= 0; k--) {
          const spec = w.specs[k]!;
          const params = savedWeights.slice(lay.offsets[k]!, lay.offsets[k]! + lay.counts[k]!);
          const hasNorm0 = w.blocks[k]!.norm0 !== undefined;
          const [a, b] = out;
          const [da, db] = d;
          const r = tf.tidy(() => {
            const x2 = psiStrideInverse(a, spec.stride);
            const { value: fx, grads } = residualVjp(w, k, params, hasNorm0, x2, db, rctx);
            const [g, ...gw] = grads as [tf.Tensor4D, ...tf.Tensor[]];
            const x1 = psiStrideInverse(tf.sub(b, fx), spec.stride);
            const dx1 = psiStrideInverse(db, spec.stride);
            const dx2 = tf.add(psiStrideInverse(da, spec.stride), g) as tf.Tensor4D;
            return { x1, x2, dx1, dx2, gw };
          });
          r.gw.forEach((g, i) => (dW[lay.offsets[k]! + i] = g));
          disposeExcept([...out, ...d], [r.x1, r.x2, r.dx1, r.dx2]);
          out = [r.x1, r.x2];
          d = [r.dx1, r.dx2];
        }
        disposeExcept(out, d);
        return [d[0], d[1], ...dW];
      },
    };
  });
  const v = op(x1, x2, ...lay.flat);
  return tf.tidy(() => splitRows(v));
}

/** D = E⁻¹ with reversible backprop: latent halves → halves before the first block ([N,h,w,c] each). */
export function reversibleDecodeHalves(w: PreparedAutoencoder, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
  const lay = layout(w);
  const nBlocks = w.specs.length;
  const rctx = recomputeContext(ctx);
  const op = customOp<tf.Tensor4D>((inputs, save) => {
    const [in1, in2, ...weights] = inputs as [tf.Tensor4D, tf.Tensor4D, ...tf.Tensor[]];
    let h: [tf.Tensor4D, tf.Tensor4D] = [in1, in2];
    for (let k = nBlocks - 1; k >= 0; k--) {
      const p = blockParamsFrom(w, lay, k, weights);
      const spec = w.specs[k]!;
      const prev = h;
      h = tf.tidy(() => {
        const x2 = psiStrideInverse(prev[0], spec.stride);
        const fx = residual(spec, p, w.running?.[k], x2, ctx);
        return [psiStrideInverse(tf.sub(prev[1], fx), spec.stride), x2] as [tf.Tensor4D, tf.Tensor4D];
      });
      disposeExcept(prev, [...h, in1, in2]);
    }
    const value = tf.concat(h, 0);
    disposeExcept(h, [in1, in2]);
    // the weights are saved too: they may be intermediates of the caller (prepared packed filters)
    // that are disposed before the backward pass runs
    save([value, ...weights]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const savedWeights = saved.slice(1);
        const dW: tf.Tensor[] = new Array(weights.length);
        let out = splitRows(saved[0] as tf.Tensor4D);
        let d = splitRows(dy);
        for (let k = 0; k < nBlocks; k++) {
          const spec = w.specs[k]!;
          const params = savedWeights.slice(lay.offsets[k]!, lay.offsets[k]! + lay.counts[k]!);
          const hasNorm0 = w.blocks[k]!.norm0 !== undefined;
          const [x1, x2] = out;
          const [dx1, dx2] = d;
          const r = tf.tidy(() => {
            const q = tf.neg(psiStride(dx1, spec.stride)) as tf.Tensor4D;
            const { value: fx, grads } = residualVjp(w, k, params, hasNorm0, x2, q, rctx);
            const [g, ...gw] = grads as [tf.Tensor4D, ...tf.Tensor[]];
            const a = psiStride(x2, spec.stride);
            const b = tf.add(psiStride(x1, spec.stride), fx) as tf.Tensor4D;
            const db = psiStride(dx1, spec.stride);
            const da = psiStride(tf.add(dx2, g) as tf.Tensor4D, spec.stride);
            return { a, b, da, db, gw };
          });
          r.gw.forEach((g, i) => (dW[lay.offsets[k]! + i] = g));
          disposeExcept([...out, ...d], [r.a, r.b, r.da, r.db]);
          out = [r.a, r.b];
          d = [r.da, r.db];
        }
        disposeExcept(out, d);
        return [d[0], d[1], ...dW];
      },
    };
  });
  const v = op(z1, z2, ...lay.flat);
  return tf.tidy(() => splitRows(v));
}

/** E (ψ, split, blocks) with reversible backprop; the signature of autoencoder.encode. */
export function reversibleEncode(w: PreparedAutoencoder, x: tf.Tensor5D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [x1, x2] = splitInput(x);
    return reversibleEncodeHalves(w, x1, x2, ctx);
  });
}

/** D (blocks inverse, concat halves, ψ⁻¹) with reversible backprop; the signature of autoencoder.decode. */
export function reversibleDecode(w: PreparedAutoencoder, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext): tf.Tensor5D {
  return tf.tidy(() => {
    const [x1, x2] = reversibleDecodeHalves(w, z1, z2, ctx);
    return mergeOutput(x1, x2);
  });
}
