/**
 * Clips of a time-major sequence [T,B,H,W,C] for CrevNet: clip X_j = frames j..j+2 (a slice of axis 0),
 * several clips batched for one encoder call, the test-time loop's next input, and the shape checks
 * of what callers pass in.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import type { ModelConfig } from './config.js';
import { concatRows } from './ops.js';

/** Rows [start, start+count) of a tensor, untaped use only (StridedSlice is C++ on wasm; Slice copies the whole input first). */
export function sliceRows(x: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  return tf.stridedSlice(x, [start, 0, 0, 0], [start + count, h, w, c], [1, 1, 1, 1]) as tf.Tensor4D;
}

/**
 * Clips X_start..X_{start+count−1} of a time-major sequence as one time-major batch
 * [3, count·B, H, W, C] (row g·B + b = sample b of clip start+g): three contiguous slices.
 */
export function clipBatch(seq: tf.Tensor5D, start: number, count: number): tf.Tensor5D {
  const [, b, h, w, c] = seq.shape;
  return tf.tidy(() => {
    if (count === 1) return seq.slice([start, 0, 0, 0, 0], [3, b, h, w, c]);
    const frames = [0, 1, 2].map((t) => seq.slice([start + t, 0, 0, 0, 0], [count, b, h, w, c]));
    return tf.concat(frames, 0).reshape<tf.Tensor5D>([3, count * b, h, w, c]);
  });
}

/**
 * Next encoder input of the test-time loop after decoding Y (time-major clip for frames i..i+2):
 * known frames are written back into slots 0/1 for i = K−2 and i = K−1 (see docs/architecture.md,
 * Rollout).
 */
export function nextInput(y: tf.Tensor5D, i: number, k: number, known: tf.Tensor5D): tf.Tensor5D {
  const [, b, h, w, c] = y.shape;
  if (i === k - 2) return concatRows<tf.Tensor5D>([known.slice([k - 2, 0, 0, 0, 0], [2, b, h, w, c]), tf.split(y, [2, 1], 0)[1] as tf.Tensor5D]);
  if (i === k - 1) return concatRows<tf.Tensor5D>([known.slice([k - 1, 0, 0, 0, 0], [1, b, h, w, c]), tf.split(y, [1, 2], 0)[1] as tf.Tensor5D]);
  return y;
}

/** UserError unless `clip` is time-major [3,B,H,W,C] in the config's frame size. */
export function checkClip(config: ModelConfig, clip: tf.Tensor): void {
  const [h, w, c] = config.imageSize;
  const s = clip.shape;
  if (clip.rank !== 5 || s[0] !== 3 || s[2] !== h || s[3] !== w || s[4] !== c) {
    throw new UserError(`clip must be time-major [3,B,${h},${w},${c}], got [${s.join(',')}]`);
  }
}

/** UserError unless `seq` is time-major [T,B,H,W,C] in the config's frame size with T ≥ minT, B ≥ 1; returns [T, B]. */
export function checkSequence(config: ModelConfig, seq: tf.Tensor, what: string, minT: number): [number, number] {
  const [h, w, c] = config.imageSize;
  if (seq.rank !== 5) throw new UserError(`${what} must be time-major [T,B,${h},${w},${c}], got rank ${seq.rank}`);
  const [t, b, sh, sw, sc] = seq.shape as [number, number, number, number, number];
  if (sh !== h || sw !== w || sc !== c) throw new UserError(`${what} frames must be ${h}×${w}×${c} for config "${config.name}", got ${sh}×${sw}×${sc}`);
  if (t < minT) throw new UserError(`${what} needs at least ${minT} frames, got ${t}`);
  if (b < 1) throw new UserError(`${what} has an empty batch`);
  return [t, b];
}
