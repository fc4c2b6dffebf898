/**
 * A differentiable SSIM loss term: Σ over frames of (1 − SSIM), with the evaluation metric's SSIM
 * (src/eval/ssim.ts: 7×7 uniform window, sample covariance N/(N−1), K1 = 0.01, K2 = 0.03, data
 * range R = 2, the mean over all fully-inside windows).
 *
 * Why: SSIM is the score the quality bar is measured in, and it rates a faint blur where the digit
 * may be quite differently from MSE and L1 (which both prefer black where the model is unsure).
 * Unlike the metric, the prediction is not clipped to [0, 1] here, so the gradient also reaches
 * values outside that range.
 */
import * as tf from '@tensorflow/tfjs';
import { K1, K2, SSIM_WINDOW } from './ssim-constants.js';

const R = 2;
const C1 = (K1 * R) ** 2;
const C2 = (K2 * R) ** 2;
const NP = SSIM_WINDOW * SSIM_WINDOW;
const COV_NORM = NP / (NP - 1);

/** [N,H,W,C] → [N·C,H,W,1] (free when C = 1). */
function channelsToBatch(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (c === 1) return x;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]);
}

/**
 * Σ over all frames (and channels) of (1 − SSIM(y, target)) as a scalar; y and target have the same
 * shape [..., H, W, C] with H, W ≥ 7.
 */
export function sumSsimLoss(y: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const shape = y.shape;
    if (shape.length < 3 || shape.join() !== target.shape.join()) {
      throw new RangeError(`ssim loss: prediction and truth need the same shape [..., H, W, C], got [${shape.join(',')}] and [${target.shape.join(',')}]`);
    }
    const [h, w, c] = shape.slice(-3) as [number, number, number];
    if (h < SSIM_WINDOW || w < SSIM_WINDOW) throw new RangeError(`ssim loss: frames must be at least ${SSIM_WINDOW}×${SSIM_WINDOW}, got ${h}×${w}`);
    const x = channelsToBatch(tf.reshape(y, [-1, h, w, c]) as tf.Tensor4D);
    const t = channelsToBatch(tf.reshape(target, [-1, h, w, c]) as tf.Tensor4D);
    const frames = x.shape[0];
    // Window means of x, t, x², t², x·t in one pass: the five maps stacked on the batch axis, and the
    // 7×7 uniform window as a 1×7 then a 7×1 'valid' convolution.
    const maps = tf.concat([x, t, tf.square(x), tf.square(t), tf.mul(x, t)], 0) as tf.Tensor4D;
    const row = tf.fill([1, SSIM_WINDOW, 1, 1], 1 / SSIM_WINDOW) as tf.Tensor4D;
    const col = tf.fill([SSIM_WINDOW, 1, 1, 1], 1 / SSIM_WINDOW) as tf.Tensor4D;
    const means = tf.conv2d(tf.conv2d(maps, row, 1, 'valid'), col, 1, 'valid');
    const [mx, mt, mxx, mtt, mxt] = tf.split(means, 5, 0) as tf.Tensor4D[];
    const mxmt = tf.mul(mx!, mt!);
    const mx2 = tf.square(mx!);
    const mt2 = tf.square(mt!);
    const vx = tf.mul(tf.sub(mxx!, mx2), COV_NORM);
    const vt = tf.mul(tf.sub(mtt!, mt2), COV_NORM);
    const vxt = tf.mul(tf.sub(mxt!, mxmt), COV_NORM);
    const num = tf.mul(tf.add(tf.mul(mxmt, 2), C1), tf.add(tf.mul(vxt, 2), C2));
    const den = tf.mul(tf.add(tf.add(mx2, mt2), C1), tf.add(tf.add(vx, vt), C2));
    const windows = (h - SSIM_WINDOW + 1) * (w - SSIM_WINDOW + 1);
    // Σ_f (1 − mean_windows S_f) = frames − ΣS / windows
    return tf.sub(frames, tf.div(tf.sum(tf.div(num, den)), windows)) as tf.Scalar;
  });
}
