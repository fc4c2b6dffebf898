/**
 * ψ: invertible space-to-depth (factor 2, per frame); see docs/architecture.md, ψ: invertible
 * space-to-depth.
 *
 *   ψ(x)[n, i, j, (2·dh + dw)·C + c] = x[n, 2i+dh, 2j+dw, c]        [N,H,W,C] → [N,H/2,W/2,4C]
 *
 * TensorFlow's space_to_depth channel order (block offset outer, channel inner), built from reshape +
 * transpose only so it is differentiable (tfjs has no SpaceToDepth and no depthToSpace gradient).
 * ψ is a permutation: its vector-Jacobian product is ψ⁻¹ and vice versa.
 *
 * `psi`/`psiInverse` act on folded frames [N,H,W,C]; `psiPacked`/`psiPackedInverse` on the packed
 * clip layout [N,H,W,3C] (packed.ts), applying ψ to each of the 3 frames: [N,H/2,W/2,3·4C].
 */
import * as tf from '@tensorflow/tfjs';
import { reshape, transpose } from './ops.js';

export function psi(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`psi: height and width must be even, got ${h}×${w}`);
  return reshape(transpose(reshape(x, [n, h / 2, 2, w / 2, 2 * c]), [0, 1, 3, 2, 4]), [n, h / 2, w / 2, 4 * c]);
}

export function psiInverse(z: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c4] = z.shape;
  if (c4 % 4 !== 0) throw new Error(`psiInverse: channels must be a multiple of 4, got ${c4}`);
  const c = c4 / 4;
  return reshape(transpose(reshape(z, [n, h, w, 2, 2 * c]), [0, 1, 3, 2, 4]), [n, 2 * h, 2 * w, c]);
}

/** ψ per frame on packed clips [N,H,W,3C] → [N,H/2,W/2,3·4C] (per frame channel order (dh,dw,c)). */
export function psiPacked(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c3] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`psi: height and width must be even, got ${h}×${w}`);
  const c = c3 / 3;
  return reshape(transpose(reshape(x, [n, h / 2, 2, w / 2, 2, 3, c]), [0, 1, 3, 5, 2, 4, 6]), [n, h / 2, w / 2, 12 * c]);
}

export function psiPackedInverse(z: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c12] = z.shape;
  if (c12 % 12 !== 0) throw new Error(`psiInverse: packed channels must be a multiple of 12, got ${c12}`);
  const c = c12 / 12;
  return reshape(transpose(reshape(z, [n, h, w, 3, 2, 2, c]), [0, 1, 4, 2, 5, 3, 6]), [n, 2 * h, 2 * w, 3 * c]);
}

/** ψ_s on packed clips: ψ for stride 2, identity for stride 1 (returns the same tensor object). */
export function psiStride(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  return stride === 2 ? psiPacked(x) : x;
}

export function psiStrideInverse(x: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D {
  return stride === 2 ? psiPackedInverse(x) : x;
}
