/**
 * Reversible 3-D autoencoder (see docs/architecture.md, Reversible autoencoder): E = ψ → split →
 * blocks; D = E⁻¹ with the same weights, blocks in reverse, merge halves, ψ⁻¹.
 *
 * Input/output clips are time-major [3, N, H, W, C] (N = G·B: G independent calls folded into the
 * batch, group-major, each with its own BatchNorm statistics); the latent halves are packed
 * [N, h, w, 3·c] (packed.ts). The initial ψ + split and the final merge + ψ⁻¹ are one transpose each.
 *
 * encode/decode are pure functions of (input, prepared blocks, running stats, norm context);
 * reversible-grad.ts wraps them in one tf.customGrad with the prepared filters as explicit inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { blockForward, blockInverse, type FoldedBlock, type PreparedBlock, type BlockRunning, type BlockSpec } from './block.js';
import type { NormContext } from './norm.js';
import { concatRows, reshape, transpose } from './ops.js';

export interface PreparedAutoencoder<B extends PreparedBlock | FoldedBlock = PreparedBlock> {
  specs: readonly BlockSpec[];
  /** per block; folded blocks (inference with eval-mode BatchNorm) work in eval mode only */
  blocks: readonly B[];
  running?: readonly (BlockRunning | undefined)[];
}

/** Training blocks or folded inference blocks. */
export type AnyPreparedAutoencoder = PreparedAutoencoder<PreparedBlock | FoldedBlock>;

/**
 * ψ then split, straight from time-major clips [3,N,H,W,C] to packed halves [N,H/2,W/2,3·2C]:
 * x1 = rows with dh = 0 (per-frame channels (dw,c)), x2 = dh = 1.
 */
export function splitInput(x: tf.Tensor5D): [tf.Tensor4D, tf.Tensor4D] {
  const [t, n, h, w, c] = x.shape;
  if (t !== 3) throw new Error(`encode: clips must have T = 3 frames, got ${t}`);
  // [t, n, i, dh, j, dw, c] → [dh, n, i, j, t, dw, c]
  const z = transpose(reshape(x, [3, n, h / 2, 2, w / 2, 2, c]), [3, 1, 2, 4, 0, 5, 6]);
  const halves = tf.split(reshape(z, [2, n * (h / 2) * (w / 2) * 6 * c]), 2, 0);
  return halves.map((s) => reshape(s, [n, h / 2, w / 2, 6 * c])) as [tf.Tensor4D, tf.Tensor4D];
}

/** Inverse of splitInput: packed halves → time-major clips [3,N,H,W,C]. */
export function mergeOutput(x1: tf.Tensor4D, x2: tf.Tensor4D): tf.Tensor5D {
  const [n, h, w, c6] = x1.shape;
  const c = c6 / 6;
  const z = reshape(concatRows([x1, x2]), [2, n, h, w, 3, 2, c]);
  // [dh, n, i, j, t, dw, c] → [t, n, i, dh, j, dw, c]
  return reshape<tf.Tensor5D>(transpose(z, [4, 1, 2, 0, 3, 5, 6]), [3, n, 2 * h, 2 * w, c]);
}

/** Run blocks [from, to) forward on packed halves. */
export function encodeHalves(w: AnyPreparedAutoencoder, x1: tf.Tensor4D, x2: tf.Tensor4D, ctx: NormContext, from = 0, to = w.specs.length): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    let h: [tf.Tensor4D, tf.Tensor4D] = [x1, x2];
    for (let k = from; k < to; k++) h = blockForward(w.specs[k]!, w.blocks[k]!, w.running?.[k], h[0], h[1], ctx);
    return h;
  });
}

/** Run blocks [from, to) inverse, last first. */
export function decodeHalves(w: AnyPreparedAutoencoder, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext, from = 0, to = w.specs.length): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    let h: [tf.Tensor4D, tf.Tensor4D] = [z1, z2];
    for (let k = to - 1; k >= from; k--) h = blockInverse(w.specs[k]!, w.blocks[k]!, w.running?.[k], h[0], h[1], ctx);
    return h;
  });
}

/** E: time-major clips [3,N,H,W,C] → packed latent halves [N,h,w,3c] each. */
export function encode(w: AnyPreparedAutoencoder, x: tf.Tensor5D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [x1, x2] = splitInput(x);
    return encodeHalves(w, x1, x2, ctx);
  });
}

/** D = E⁻¹: packed latent halves → time-major clips [3,N,H,W,C]. */
export function decode(w: AnyPreparedAutoencoder, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext): tf.Tensor5D {
  return tf.tidy(() => {
    const [x1, x2] = decodeHalves(w, z1, z2, ctx);
    return mergeOutput(x1, x2);
  });
}
