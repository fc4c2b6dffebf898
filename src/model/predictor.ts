/**
 * Reversible ST-ConvLSTM predictor (see docs/architecture.md, Predictor: zig-zag ST-ConvLSTM) on
 * packed latent halves [B,h,w,3C] (packed.ts; time folded into channels). Hidden = memory = input
 * width C.
 *
 * Cell (3×3×3 convs with bias; the three gates of a group are one fused conv, outputs [i,f,g]):
 *   [i,f,g]    = W_1 * [x,h,c]        c' = σ(f)⊙c + σ(i)⊙tanh(g)
 *   [i2,f2,g2] = W_2 * [x,m,c']       m' = σ(f2)⊙m + σ(i2)⊙tanh(g2)
 *   o = σ(W_o * [x,h,c',m'])          h' = o ⊙ tanh(W_11 *[c',m'])   (W_11: 1×1×1)
 * Layer loop per time step (m zig-zags l → l+1, and layer L−1 → layer 0 at the next step):
 *   (h_l,c_l,m) ← cell_l(z1, h_l, c_l, m);  A = σ(W_a h_l + b_a);  z2 ← z2 + A⊙(h_l − z2);  swap(z1,z2)
 * L must be even so the halves come back in input order.
 */
import * as tf from '@tensorflow/tfjs';
import { conv3dPacked, packedConv, type PackedConv } from './conv3d.js';
import { customOp } from './custom-op.js';
import { concatChannels, rawConcatChannels, rawSplitChannels } from './ops.js';

export interface Conv3dParams {
  /** [3,3,3,Cin,Cout] */
  w: tf.Tensor5D;
  b: tf.Tensor1D;
}
export interface Conv1x1Params {
  /** [Cin,Cout] */
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface CellParams {
  /** [x,h,c] (3C) → [i,f,g] (3C) */
  g1: Conv3dParams;
  /** [x,m,c'] (3C) → [i2,f2,g2] (3C) */
  g2: Conv3dParams;
  /** [x,h,c',m'] (4C) → o (C) */
  o: Conv3dParams;
  /** [c',m'] (2C) → C, 1×1×1 */
  w11: Conv1x1Params;
}

export interface LayerParams {
  cell: CellParams;
  /** attention gate, C → C, 1×1×1 */
  att: Conv1x1Params;
}

/** A layer's convolutions prepared for the packed layout (once per loss/predict call). */
export interface PreparedLayer {
  g1: PackedConv;
  g2: PackedConv;
  o: PackedConv;
  w11: PackedConv;
  att: PackedConv;
}

/**
 * Pack a layer's convolutions. tanh(u) = 2σ(2u) − 1, so the g-gate columns of W_1/W_2 and W_11 are
 * scaled by 2 here and the cell applies one σ to all fused gates (wasm's Tanh is ~5× slower than
 * its Sigmoid); gradients flow back through the scaling.
 */
export function prepareLayer(p: LayerParams, opts: { adjoint?: boolean } = {}): PreparedLayer {
  const adjoint = opts.adjoint ?? true;
  return tf.tidy(() => {
    const c = p.att.b.shape[0];
    const gScale = tf.concat([tf.ones([2 * c]), tf.fill([c], 2)]);
    const gates = (q: Conv3dParams) => packedConv(tf.mul(q.w, gScale), { bias: tf.mul(q.b, gScale) as tf.Tensor1D, parts: 3, outGroups: 3, adjoint });
    return {
      g1: gates(p.cell.g1),
      g2: gates(p.cell.g2),
      o: packedConv(p.cell.o.w, { bias: p.cell.o.b, parts: 4, adjoint }),
      w11: packedConv(tf.mul(p.cell.w11.w, 2), { bias: tf.mul(p.cell.w11.b, 2) as tf.Tensor1D, parts: 2, adjoint }),
      att: packedConv(p.att.w, { bias: p.att.b, adjoint }),
    } as unknown as tf.TensorContainer;
  }) as unknown as PreparedLayer;
}

export interface PredictorState {
  h: tf.Tensor4D[];
  c: tf.Tensor4D[];
  m: tf.Tensor4D;
}

/** Parameter shapes of one layer in checkpoint order. */
export function layerParamShapes(c: number): { name: string; shape: number[] }[] {
  return [
    { name: 'g1/kernel', shape: [3, 3, 3, 3 * c, 3 * c] },
    { name: 'g1/bias', shape: [3 * c] },
    { name: 'g2/kernel', shape: [3, 3, 3, 3 * c, 3 * c] },
    { name: 'g2/bias', shape: [3 * c] },
    { name: 'o/kernel', shape: [3, 3, 3, 4 * c, c] },
    { name: 'o/bias', shape: [c] },
    { name: 'w11/kernel', shape: [2 * c, c] },
    { name: 'w11/bias', shape: [c] },
    { name: 'att/kernel', shape: [c, c] },
    { name: 'att/bias', shape: [c] },
  ];
}

/** 597C² + 9C */
export function layerParamCount(c: number): number {
  return layerParamShapes(c).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}

/** Convolution MACs per latent position per step (597C²). */
export function layerMacsPerPosition(c: number): number {
  return 27 * (3 * c * 3 * c * 2 + 4 * c * c) + 2 * c * c + c * c;
}

/** All-zero state for `layers` layers shaped like the latent half z (runtime batch). */
export function zeroState(layers: number, like: tf.Tensor4D): PredictorState {
  const z = tf.zerosLike(like);
  return { h: Array.from({ length: layers }, () => z), c: Array.from({ length: layers }, () => z), m: z };
}

export function disposeState(s: PredictorState | undefined): void {
  if (s) tf.dispose([...s.h, ...s.c, s.m]);
}

/**
 * LSTM state update from fused gate pre-activations G = [i, f, 2g] (three packed blocks):
 * s' = σ(f)⊙s + σ(i)⊙tanh(g), with tanh(g) = 2σ(2g) − 1 so one σ covers all gates.
 */
export function lstmUpdate(gates: tf.Tensor4D, state: tf.Tensor4D): tf.Tensor4D {
  return customOp<tf.Tensor4D>(([g, s], save) => {
    const S = tf.sigmoid(g!);
    const [si, sf, sg] = rawSplitChannels(S as tf.Tensor4D, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    save([S, s!]);
    return {
      value: tf.add(tf.mul(sf, s!), tf.mul(si, tf.sub(tf.mul(sg, 2), 1))),
      gradFunc: (d, saved) => {
        const [sS, ss] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [gi, gf, gg] = rawSplitChannels(sS, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const dS = rawConcatChannels([tf.mul(d, tf.sub(tf.mul(gg, 2), 1)), tf.mul(d, ss), tf.mul(tf.mul(d, gi), 2)]);
        return [tf.mul(dS, tf.mul(sS, tf.sub(1, sS))), tf.mul(d, gf)];
      },
    };
  })(gates, state);
}

/** h' = σ(G_o) ⊙ tanh(u) from G_w = 2u: σ(G_o)⊙(2σ(G_w) − 1). */
export function outputGate(go: tf.Tensor4D, gw: tf.Tensor4D): tf.Tensor4D {
  return customOp<tf.Tensor4D>(([a, b], save) => {
    const so = tf.sigmoid(a!);
    const sw = tf.sigmoid(b!);
    save([so, sw]);
    return {
      value: tf.mul(so, tf.sub(tf.mul(sw, 2), 1)),
      gradFunc: (d, saved) => {
        const [o, w] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dgo = tf.mul(tf.mul(d, tf.sub(tf.mul(w, 2), 1)), tf.mul(o, tf.sub(1, o)));
        const dgw = tf.mul(tf.mul(d, tf.mul(o, 2)), tf.mul(w, tf.sub(1, w)));
        return [dgo, dgw];
      },
    };
  })(go, gw);
}

/** Attention gate: z2' = (1 − A)⊙z2 + A⊙h = z2 + A⊙(h − z2), A = σ(G_a). */
export function attend(ga: tf.Tensor4D, h: tf.Tensor4D, z2: tf.Tensor4D): tf.Tensor4D {
  return customOp<tf.Tensor4D>(([g, hi, zi], save) => {
    const a = tf.sigmoid(g!);
    const diff = tf.sub(hi!, zi!);
    save([a, diff]);
    return {
      value: tf.add(zi!, tf.mul(a, diff)),
      gradFunc: (d, saved) => {
        const [sa, sd] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dh = tf.mul(d, sa);
        return [tf.mul(tf.mul(d, sd), tf.mul(sa, tf.sub(1, sa))), dh, tf.sub(d, dh)];
      },
    };
  })(ga, h, z2);
}

/** One ST-ConvLSTM cell step: returns (h', c', m'). */
export function cellStep(k: PreparedLayer, x: tf.Tensor4D, h: tf.Tensor4D, c: tf.Tensor4D, m: tf.Tensor4D): { h: tf.Tensor4D; c: tf.Tensor4D; m: tf.Tensor4D } {
  return tf.tidy(() => {
    const c2 = lstmUpdate(conv3dPacked(concatChannels([x, h, c]), k.g1), c);
    const m2 = lstmUpdate(conv3dPacked(concatChannels([x, m, c2]), k.g2), m);
    const h2 = outputGate(conv3dPacked(concatChannels([x, h, c2, m2]), k.o), conv3dPacked(concatChannels([c2, m2]), k.w11));
    return { h: h2, c: c2, m: m2 };
  });
}

/** One layer's part of a time step: its cell's (h', c', m') and the gated update of the other half. */
export type LayerStep<L> = (
  k: L,
  x: tf.Tensor4D,
  h: tf.Tensor4D,
  c: tf.Tensor4D,
  m: tf.Tensor4D,
  other: tf.Tensor4D,
) => { h: tf.Tensor4D; c: tf.Tensor4D; m: tf.Tensor4D; out: tf.Tensor4D };

/**
 * The zig-zag time step shared by training and inference layers: each layer reads one half, updates the
 * other, and the halves swap; the memory m passes from layer to layer (inputs are not disposed).
 */
export function zigzagStep<L>(
  layers: readonly L[],
  z1: tf.Tensor4D,
  z2: tf.Tensor4D,
  state: PredictorState,
  step: LayerStep<L>,
): { z1: tf.Tensor4D; z2: tf.Tensor4D; state: PredictorState } {
  if (layers.length % 2 !== 0) throw new Error(`predictor: the number of layers must be even (got ${layers.length})`);
  return tf.tidy(() => {
    let a = z1;
    let b = z2;
    let m = state.m;
    const h: tf.Tensor4D[] = [];
    const c: tf.Tensor4D[] = [];
    layers.forEach((k, l) => {
      const r = step(k, a, state.h[l]!, state.c[l]!, m, b);
      h.push(r.h);
      c.push(r.c);
      m = r.m;
      b = a;
      a = r.out;
    });
    return { z1: a, z2: b, state: { h, c, m } };
  });
}

/** One time step through all layers; returns the new halves and state (inputs are not disposed). */
export function predictorStep(
  layers: readonly PreparedLayer[],
  z1: tf.Tensor4D,
  z2: tf.Tensor4D,
  state: PredictorState,
): { z1: tf.Tensor4D; z2: tf.Tensor4D; state: PredictorState } {
  return zigzagStep(layers, z1, z2, state, (k, x, h, c, m, other) => {
    const r = cellStep(k, x, h, c, m);
    return { ...r, out: attend(conv3dPacked(r.h, k.att), r.h, other) };
  });
}
