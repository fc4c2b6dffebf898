/**
 * 3×3×3 (and 1×1×1) convs on the packed layout (packed.ts, [N,H,W,3C], channel = t·C + c): the model
 * path. `packedConv` builds ONE block-banded [3,3,3Cin,3Cout] filter per weight (block (t_in,t_out) =
 * W[t_in − t_out + 1], 2 of 9 blocks zero — the same MACs as a conv3d that multiplies the zero padding)
 * once per loss/predict call, and `conv3dPacked` is a single conv2d without any layout transposes
 * (see docs/architecture.md, Packed layout).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dFast, fastPad, flipTranspose2d, type WeightGradSink } from './conv2d-fast.js';
import { transposeMerged } from './packed.js';

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
export function packedConv(w: tf.Tensor, opts: { bias?: tf.Tensor1D; parts?: number; outGroups?: number; stride?: 1 | 2; adjoint?: boolean } = {}): PackedConv {
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
    const out: PackedConv = { f: banded as tf.Tensor4D, stride };
    // the adjoint kernel is only needed for input gradients (training)
    if (opts.adjoint ?? true) out.fAdj = flipTranspose2d(banded as tf.Tensor4D);
    if (opts.bias) {
      // rank-1 concat, not tile+reshape: wasm's FusedConv2D reads the bias rank from the data
      // record, which keeps the shape of the kernel that produced it (the tile's rank 3)
      const b = opts.bias;
      out.bias = tf.concat(Array.from({ length: groups }, (_, g) => b.slice(g * cg, cg)).flatMap((s) => [s, s, s]), 0);
    }
    return out as unknown as tf.TensorContainer;
  }) as unknown as PackedConv;
}

/**
 * conv3dPacked for inference: the plain (fused) conv2d kernel without a gradient wrapper, optionally
 * with the ReLU fused into it (a folded BatchNorm's shift is the bias).
 */
export function conv3dPackedInference(x: tf.Tensor4D, k: PackedConv, relu = false): tf.Tensor4D {
  if (x.shape[3] !== k.f.shape[2]) throw new Error(`conv3dPacked: input has ${x.shape[3]} packed channels, filter expects ${k.f.shape[2]}`);
  const pad = fastPad(k.f.shape[0], k.stride);
  if (!k.bias && !relu) return tf.conv2d(x, k.f, k.stride, pad);
  return tf.fused.conv2d({ x, filter: k.f, strides: k.stride, pad, ...(k.bias ? { bias: k.bias } : {}), ...(relu ? { activation: 'relu' as const } : {}) });
}

/** 3×3×3 (or 1×1×1) conv on packed input [N,H,W,3Cin] (or its parts) → packed [N,H/s,W/s,3Cout]. */
export function conv3dPacked(x: tf.Tensor4D, k: PackedConv): tf.Tensor4D {
  if (x.shape[3] !== k.f.shape[2]) throw new Error(`conv3dPacked: input has ${x.shape[3]} packed channels, filter expects ${k.f.shape[2]}`);
  return conv2dFast(x, k.f, k.stride, k.bias, k.fAdj, k.sink);
}
