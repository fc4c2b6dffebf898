/**
 * The predictor for the test rollout (no gradients) with its 3×3×3 gate convolutions split by output
 * frame. A packed conv's filter is block-banded in (t_in, t_out): output frame t only reads input
 * frames t−1..t+1, so 2 of its 9 blocks multiply the temporal zero padding. Here each gate conv is
 * three convs, one per output frame over its window of input frames (7/9 of the MACs), on inputs
 * concatenated time-major — channel (t, part, c) — so that every window is a contiguous channel
 * range; the 1×1×1 convs, block-diagonal in time, are one matmul over N·H·W·3 rows (1/3 of the MACs).
 * Same function as predictorStep (predictor.ts) up to float rounding; plain ops, no custom gradients.
 * Worth it at wide latents only (see docs/performance.md): `prepareSplitLayer` is used from
 * SPLIT_MIN_CHANNELS channels per latent half.
 */
import * as tf from '@tensorflow/tfjs';
import { attend, cellStep, zigzagStep, type Conv3dParams, type LayerParams, type PredictorState, type PreparedLayer } from './predictor.js';
import { conv3dPacked } from './conv3d-packed.js';

/** Latent half widths C from which the rollout uses split layers (measured: 1.3× per gate conv at C = 32, none at C = 8). */
export const SPLIT_MIN_CHANNELS = 16;

/** One 3×3×3 conv of P input parts → G output groups, as three per-output-frame convs. */
export interface SplitConv {
  /** output frame t: [3, 3, |window(t)|·P·C, G·Cg], rows (t_in, part, c) over t_in ∈ window(t), columns (group, c) */
  filters: [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  /** [G·Cg] */
  bias: tf.Tensor1D;
  /** channels per input frame: P·C */
  frameChannels: number;
}

export interface SplitLayer {
  split: true;
  g1: SplitConv;
  g2: SplitConv;
  o: SplitConv;
  /** 1×1×1 convs as matmuls over (n, h, w, t) rows */
  w11: { w: tf.Tensor2D; b: tf.Tensor1D };
  att: { w: tf.Tensor2D; b: tf.Tensor1D };
}

export type InferenceLayer = PreparedLayer | SplitLayer;

function splitConv(q: Conv3dParams, scale?: tf.Tensor1D): SplitConv {
  const w = scale ? tf.mul(q.w, scale) : q.w;
  const taps = tf.unstack(w, 0) as tf.Tensor4D[]; // τ = 0, 1, 2: input frame t + τ − 1
  // window of output frame t in input-frame order: t = 0 reads frames 0, 1 (τ = 1, 2); t = 1 reads 0, 1, 2; t = 2 reads 1, 2 (τ = 0, 1)
  const filters = [tf.concat([taps[1]!, taps[2]!], 2), tf.concat(taps, 2), tf.concat([taps[0]!, taps[1]!], 2)] as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  return { filters, bias: (scale ? tf.mul(q.b, scale) : q.b.clone()) as tf.Tensor1D, frameChannels: q.w.shape[3] };
}

/** A layer's convs for the split rollout (tensors; build inside a tidy, dispose with splitLayerTensors). */
export function prepareSplitLayer(p: LayerParams): SplitLayer {
  return tf.tidy(() => {
    const c = p.att.b.shape[0];
    // tanh(u) = 2σ(2u) − 1 as in prepareLayer: the g-gate columns scaled by 2, one σ for all gates
    const gScale = tf.concat([tf.ones([2 * c]), tf.fill([c], 2)]) as tf.Tensor1D;
    return {
      split: true,
      g1: splitConv(p.cell.g1, gScale),
      g2: splitConv(p.cell.g2, gScale),
      o: splitConv(p.cell.o),
      w11: { w: tf.mul(p.cell.w11.w, 2) as tf.Tensor2D, b: tf.mul(p.cell.w11.b, 2) as tf.Tensor1D },
      att: { w: p.att.w.clone(), b: p.att.b.clone() },
    } as unknown as tf.TensorContainer;
  }) as unknown as SplitLayer;
}

export function splitLayerTensors(k: SplitLayer): tf.Tensor[] {
  return [...[k.g1, k.g2, k.o].flatMap((s): tf.Tensor[] => [...s.filters, s.bias]), k.w11.w, k.w11.b, k.att.w, k.att.b];
}

/** Packed parts [N,H,W,3C] each → [N,H,W,(t, part, c)] (time-major channels). */
function concatTime(parts: readonly tf.Tensor4D[]): tf.Tensor4D {
  const [n, h, w, c3] = parts[0]!.shape;
  const c = c3 / 3;
  return tf.concat([...parts], 0).reshape([parts.length, n * h * w, 3, c]).transpose([1, 2, 0, 3]).reshape([n, h, w, 3 * parts.length * c]) as tf.Tensor4D;
}

/** The three per-frame convs on time-major x → [3(t), N·H·W, G·Cg] stacked by output frame. */
function splitConvStack(x: tf.Tensor4D, k: SplitConv): tf.Tensor {
  const [n, h, w] = x.shape;
  const f = k.frameChannels;
  const window = (from: number, frames: number) => (frames === 3 ? x : tf.slice(x, [0, 0, 0, from * f], [n, h, w, frames * f]));
  const ys = [window(0, 2), window(0, 3), window(1, 2)].map((xi, t) => tf.fused.conv2d({ x: xi, filter: k.filters[t]!, strides: 1, pad: 'same', bias: k.bias }));
  return tf.concat(ys, 0).reshape([3, n * h * w, -1]);
}

/** Stacked [3(t), NHW, G·C] → G packed tensors [N,H,W,(t, c)]. */
function unstackGroups(s: tf.Tensor, groups: number, like: readonly number[]): tf.Tensor4D[] {
  const [, rows, gc] = s.shape as [number, number, number];
  const c = gc / groups;
  const g = s.reshape([3, rows, groups, c]).transpose([2, 1, 0, 3]);
  return tf.unstack(g.reshape([groups, rows * 3 * c]), 0).map((t) => t.reshape(like as [number, number, number, number]) as tf.Tensor4D);
}

/** A 1×1×1 conv on packed [N,H,W,(t, c_in)] as one matmul over (n, h, w, t) rows. */
function pointwise(x: tf.Tensor4D, k: { w: tf.Tensor2D; b: tf.Tensor1D }): tf.Tensor4D {
  const [n, h, w, ck] = x.shape;
  const cin = k.w.shape[0];
  const y = tf.fused.matMul({ a: x.reshape([(n * h * w * ck) / cin, cin]), b: k.w, bias: k.b });
  return y.reshape([n, h, w, (ck / cin) * k.w.shape[1]]) as tf.Tensor4D;
}

/** The LSTM update from σ of the fused gates: s' = σ(f)⊙s + σ(i)⊙(2σ(2g) − 1). */
function lstm(gates: tf.Tensor, s: tf.Tensor4D): tf.Tensor4D {
  const [si, sf, sg] = unstackGroups(tf.sigmoid(gates), 3, s.shape);
  return tf.add(tf.mul(sf!, s), tf.mul(si!, tf.sub(tf.mul(sg!, 2), 1)));
}

/** One cell step of a split layer: (h', c', m'), as cellStep. */
export function splitCellStep(k: SplitLayer, x: tf.Tensor4D, h: tf.Tensor4D, c: tf.Tensor4D, m: tf.Tensor4D): { h: tf.Tensor4D; c: tf.Tensor4D; m: tf.Tensor4D } {
  return tf.tidy(() => {
    const c2 = lstm(splitConvStack(concatTime([x, h, c]), k.g1), c);
    const m2 = lstm(splitConvStack(concatTime([x, m, c2]), k.g2), m);
    const [go] = unstackGroups(splitConvStack(concatTime([x, h, c2, m2]), k.o), 1, h.shape);
    const gw = pointwise(concatTime([c2, m2]), k.w11);
    const h2 = tf.mul(tf.sigmoid(go!), tf.sub(tf.mul(tf.sigmoid(gw), 2), 1)) as tf.Tensor4D;
    return { h: h2, c: c2, m: m2 };
  });
}

/** predictorStep (predictor.ts) over layers prepared for inference: split layers or the training layers. */
export function predictorStepInference(
  layers: readonly InferenceLayer[],
  z1: tf.Tensor4D,
  z2: tf.Tensor4D,
  state: PredictorState,
): { z1: tf.Tensor4D; z2: tf.Tensor4D; state: PredictorState } {
  return zigzagStep(layers, z1, z2, state, (k, x, h, c, m, other) => {
    if (!('split' in k)) {
      const r = cellStep(k, x, h, c, m);
      return { ...r, out: attend(conv3dPacked(r.h, k.att), r.h, other) };
    }
    const r = splitCellStep(k, x, h, c, m);
    const ga = pointwise(r.h, k.att);
    return { ...r, out: tf.add(other, tf.mul(tf.sigmoid(ga), tf.sub(r.h, other))) as tf.Tensor4D };
  });
}

