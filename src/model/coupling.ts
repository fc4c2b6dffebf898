/**
 * Additive couplings, each inverse beside its forward. Exact for any F, G (no Lipschitz or
 * invertibility condition): the inverse re-evaluates F/G on the same tensor the forward saw.
 *
 *   NICE coupling:  y1 = x1 + F(x2),  y2 = x2                 inverse: x2 = y2, x1 = y1 − F(y2)
 *   RevNet block:   y1 = x1 + F(x2),  y2 = x2 + G(y1)         inverse: x2 = y2 − G(y1), x1 = y1 − F(x2)
 *
 * The Jacobian of the NICE coupling is unit triangular, so its determinant is 1 (volume preserving).
 */
import * as tf from '@tensorflow/tfjs';
import { add, sub } from './ops.js';

export type Residual<T extends tf.Tensor = tf.Tensor> = (x: T) => T;

export function couplingForward<T extends tf.Tensor>(x1: T, x2: T, F: Residual<T>): [T, T] {
  const y1 = tf.tidy(() => add(x1, F(x2)));
  return [y1, x2];
}

export function couplingInverse<T extends tf.Tensor>(y1: T, y2: T, F: Residual<T>): [T, T] {
  const x1 = tf.tidy(() => sub(y1, F(y2)));
  return [x1, y2];
}

export function revnetForward<T extends tf.Tensor>(x1: T, x2: T, F: Residual<T>, G: Residual<T>): [T, T] {
  return tf.tidy(() => {
    const [y1] = couplingForward(x1, x2, F);
    const [y2] = couplingForward(x2, y1, G);
    return [y1, y2] as [T, T];
  });
}

export function revnetInverse<T extends tf.Tensor>(y1: T, y2: T, F: Residual<T>, G: Residual<T>): [T, T] {
  return tf.tidy(() => {
    const [x2] = couplingInverse(y2, y1, G);
    const [x1] = couplingInverse(y1, x2, F);
    return [x1, x2] as [T, T];
  });
}
