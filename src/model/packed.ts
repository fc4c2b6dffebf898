/**
 * The packed clip layout used inside the model: time folded into channels.
 *
 *   time-major clip [3, N, H, W, C]   ⇄   packed [N, H, W, 3·C]   (channel index = t·C + c)
 *
 * A 3×3×3 conv with temporal 'same' padding is then ONE conv2d with a block-banded filter
 * (conv3d.ts), BatchNorm statistics are a free reshape away ([N·H·W·3, C]), and a 1×1×1 conv is a
 * block-diagonal 1×1 conv2d. Only the boundaries (encoder input, decoder output) transpose.
 *
 * wasm (tfjs 4.22.0) has fast C++ Transpose/Pad/elementwise kernels but does channel-axis Concat,
 * Slice and Split in JS loops over rows (≈10–30× slower), so channel concat/split go through an
 * axis-0 concat/split (contiguous) plus one transpose (ops.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { reshape, transpose } from './ops.js';

export { concatChannels, splitChannels, transpose as transposeMerged } from './ops.js';

/** time-major clip(s) [3, N, H, W, C] → packed [N, H, W, 3C]. */
export function pack(x: tf.Tensor): tf.Tensor4D {
  const [t, n, h, w, c] = x.rank === 5 ? (x.shape as number[]) : [3, x.shape[0]! / 3, ...x.shape.slice(1)];
  if (t !== 3) throw new Error(`pack: expected T = 3, got ${t}`);
  return reshape(transpose(reshape(x, [3, n!, h!, w!, c!]), [1, 2, 3, 0, 4]), [n!, h!, w!, 3 * c!]);
}

/** packed [N, H, W, 3C] → time-major [3, N, H, W, C]. */
export function unpack(x: tf.Tensor4D): tf.Tensor5D {
  const [n, h, w, c3] = x.shape;
  return transpose(reshape<tf.Tensor5D>(x, [n, h, w, 3, c3 / 3]), [3, 0, 1, 2, 4]);
}
