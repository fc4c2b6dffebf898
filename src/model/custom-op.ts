/**
 * Typed wrapper around tf.customGrad: `fn(inputs, save)` → { value, gradFunc(dy, saved) → one grad per input }.
 * The gradient function runs inside its own tf.tidy: tfjs calls customGrad gradient functions outside
 * any per-node scope, so their intermediates would otherwise live until the whole backward pass ends
 * (a large part of a training step's peak memory).
 */
import * as tf from '@tensorflow/tfjs';

export type CustomOpBody<T extends tf.Tensor> = (
  inputs: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] };

export function customOp<T extends tf.Tensor>(fn: CustomOpBody<T>): (...inputs: tf.Tensor[]) => T {
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const r = fn(args.slice(0, -1) as tf.Tensor[], save);
    return { value: r.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.tidy(() => r.gradFunc(dy as T, saved)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: tf.Tensor[]) => op(...inputs) as T;
}
