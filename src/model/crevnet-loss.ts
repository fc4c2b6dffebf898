/**
 * CrevNet's training loss over a time-major sequence: teacher forcing (the paper) or the test-time
 * rollout as the training graph. Clips whose encoder input is known in advance are encoded in ONE
 * batched pass, and decoder outputs that are not fed back are decoded in one batched pass; each
 * group keeps its own BatchNorm statistics and the running-stat updates are applied in the reference
 * order (E₁, D₁, E₂, D₂, …), so the numbers equal separate calls per clip.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { checkSequence, clipBatch, nextInput } from './clips.js';
import { customOp } from './custom-op.js';
import { deferWeightGrads } from './deferred-weight-grads.js';
import { prepareModel, normContext, runDecode, runEncode, type ModelParams } from './crevnet-prepared.js';
import { RunningStatsCollector } from './norm.js';
import { concatRows, sumSquaredError, sumSquaredPlusAbsError } from './ops.js';
import { sumSsimLoss } from './ssim-loss.js';
import { predictorStep, zeroState, type PreparedLayer, type PredictorState } from './predictor.js';

export type LossMode = 'teacher' | 'rollout';

export interface LossOptions {
  /** 'teacher' (paper, default) or 'rollout' (test-time loop as the training graph) */
  mode?: LossMode;
  /** known frames K for 'rollout' (default config.train.context, clamped to T) */
  context?: number;
  /**
   * compute each predictor weight's gradient once over all clip steps (default true) instead of once
   * per step; the same gradient up to float summation order (false = the per-use reference path)
   */
  deferWeightGrads?: boolean;
  /** weight of an added L1 term, Σ mean|X̂ − X| (default 0 = the paper's pure MSE) */
  l1?: number;
  /** weight of an added SSIM term, Σ mean over frames (1 − SSIM(X̂, X)) (default 0; src/model/ssim-loss.ts) */
  ssim?: number;
  /**
   * score the prediction clipped to [0, 1], as SSIM and PSNR see it (default false): a value below 0 where
   * the truth is 0, or above 1 where it is 1, costs nothing (see scoredAsClipped). true: in every loss
   * term; 'ssim': in the SSIM term only, so MSE and L1 stay raw like the metrics' MSE and MAE.
   */
  clipLoss?: boolean | 'ssim';
  /**
   * 'rollout' only: weight the fed-back steps' loss (the frames the test scores) by a linear ramp from 1 at
   * the first (step K−2) to 1 + horizonRamp at the last (default 0 = all steps weigh 1). Why: the far
   * frames appear in fewer clips than the middle ones and are the ones that lose to all-black frames.
   */
  horizonRamp?: number;
  /**
   * 'rollout' only: the same ramp on the SSIM term alone, from ssim at step K−2 to (1 + ssimRamp)·ssim at the
   * last step (default 0). Why: under uncertainty MSE favours the blurred mean, whose haze costs SSIM on empty
   * windows, while SSIM can prefer black; this shifts the far frames' balance toward SSIM.
   */
  ssimRamp?: number;
  /**
   * BatchNorm with the running statistics, frozen and not updated, as the test rollout normalises (default
   * false: batch statistics, running stats updated). Only affine γ, β and the convolutions learn.
   */
  freezeNorm?: boolean;
}

/** The ramp's weight of clip step i: 1 before `first`, then linear to 1 + ramp at `last`. */
export function horizonWeight(i: number, first: number, last: number, ramp: number): number {
  if (ramp === 0 || i < first) return 1;
  return last === first ? 1 + ramp : 1 + (ramp * (i - first)) / (last - first);
}

/**
 * The prediction as the loss should score it when evaluation clips to [0, 1]: where the prediction is
 * beyond the range on the truth's own side (y < 0 with truth 0, y > 1 with truth 1) the clipped value
 * equals the truth, so the error is 0 and no gradient flows; elsewhere y itself. Why: with the raw
 * loss the background settles as noise around 0, and clipping keeps its positive half as a faint haze
 * that costs SSIM on empty windows. Unlike a plain clip, a wrong-side value (y < 0 where the truth is
 * a digit) keeps its gradient.
 */
export const scoredAsClipped = customOp<tf.Tensor>(([y, target], save) => {
  // the mask is built here, outside autodiff: tfjs has no gradient for the boolean ops
  const forgiven = tf.logicalOr(tf.logicalAnd(tf.less(y!, 0), tf.lessEqual(target!, 0)), tf.logicalAnd(tf.greater(y!, 1), tf.greaterEqual(target!, 1)));
  const keep = tf.cast(tf.logicalNot(forgiven), 'float32');
  save([keep]);
  return {
    value: tf.where(forgiven, target!, y!),
    gradFunc: (dy, [kept]) => [tf.mul(dy, kept!), tf.mul(dy, tf.sub(1, kept!))],
  };
});

function deferLayerGrads(l: PreparedLayer): PreparedLayer {
  return { g1: deferWeightGrads(l.g1), g2: deferWeightGrads(l.g2), o: deferWeightGrads(l.o), w11: deferWeightGrads(l.w11), att: deferWeightGrads(l.att) };
}

/**
 * Σ over the T−3 clip steps of w_i·(mean((X̂_i − X_i)²) [+ l1·mean|X̂_i − X_i|] [+ ssim·mean_frames(1 − SSIM)])
 * (w_i = horizonWeight, 1 unless horizonRamp > 0; the SSIM term's own ramp, ssimRamp, likewise)
 * for a time-major sequence (X̂ optionally scoredAsClipped, in every term or in the SSIM term only)
 * [T,B,H,W,C] (T ≥ 4).
 * BatchNorm in train mode (running stats are updated), or with frozen running stats (opts.freezeNorm).
 */
export function sequenceLoss(p: ModelParams, seq: tf.Tensor5D, opts: LossOptions): tf.Scalar {
  const config = p.config;
  const [t, b] = checkSequence(config, seq, 'loss: sequence', 4);
  const mode = opts.mode ?? 'teacher';
  if (mode !== 'teacher' && mode !== 'rollout') throw new UserError(`loss: unknown mode "${String(mode)}"`);
  const k = mode === 'rollout' ? Math.min(opts.context ?? config.train.context, t) : t;
  if (!Number.isInteger(k) || k < 3) throw new UserError(`loss: context must be an integer ≥ 3, got ${String(opts.context)}`);
  const l1 = opts.l1 ?? 0;
  if (!Number.isFinite(l1) || l1 < 0) throw new UserError(`loss: l1 weight must be a finite number ≥ 0, got ${String(opts.l1)}`);
  const ssim = opts.ssim ?? 0;
  if (!Number.isFinite(ssim) || ssim < 0) throw new UserError(`loss: ssim weight must be a finite number ≥ 0, got ${String(opts.ssim)}`);
  const ramp = opts.horizonRamp ?? 0;
  if (!Number.isFinite(ramp) || ramp < 0) throw new UserError(`loss: horizonRamp must be a finite number ≥ 0, got ${String(opts.horizonRamp)}`);
  if (ramp > 0 && mode !== 'rollout') throw new UserError('loss: horizonRamp needs mode "rollout" (teacher forcing feeds nothing back)');
  const ssimRamp = opts.ssimRamp ?? 0;
  if (!Number.isFinite(ssimRamp) || ssimRamp < 0) throw new UserError(`loss: ssimRamp must be a finite number ≥ 0, got ${String(opts.ssimRamp)}`);
  if (ssimRamp > 0 && mode !== 'rollout') throw new UserError('loss: ssimRamp needs mode "rollout" (teacher forcing feeds nothing back)');
  const steps = t - 3;
  const [h, w, c] = config.imageSize;
  // Sums over the clip's pixels: the total is divided by one clip's size (3·b·h·w·c) at the end, so the
  // SSIM term is scaled by h·w (Σ over its 3·b·c frames of (1 − SSIM) becomes a per-frame mean).
  const frameError = (yRaw: tf.Tensor, target: tf.Tensor, ssimScale = 1): tf.Scalar => {
    const clipped = opts.clipLoss ? scoredAsClipped(yRaw, target) : yRaw;
    const y = opts.clipLoss === 'ssim' ? yRaw : clipped;
    const pixels = l1 > 0 ? sumSquaredPlusAbsError(y, target, l1) : sumSquaredError(y, target);
    return ssim > 0 ? tf.add(pixels, tf.mul(sumSsimLoss(clipped, target), ssim * ssimScale * h * w)) : pixels;
  };
  const frozen = (opts.freezeNorm ?? false) && config.norm === 'batch';
  const normMode = frozen ? 'eval' : 'train';
  const collector = config.norm === 'batch' && !frozen ? new RunningStatsCollector() : undefined;
  try {
    return tf.tidy(() => {
      const kern = prepareModel(p);
      // Every step uses the same predictor weights: one weight-gradient kernel per weight and
      // backward pass (over all steps' (x, dy) concatenated) instead of one per step.
      // (The encoder's weights are used by 2 batched calls only, E and D; deferring them measured no gain.)
      if (opts.deferWeightGrads ?? true) kern.layers = kern.layers.map((l) => deferLayerGrads(l));
      // Steps whose encoder input is ground truth, and steps whose decoded output is fed back.
      const nKnown = mode === 'teacher' ? steps : Math.min(steps, k - 2);
      const feedbackFrom = mode === 'teacher' ? Infinity : k - 2;
      const known = runEncode(
        config,
        kern,
        clipBatch(seq, 0, nKnown),
        normContext(config, normMode, nKnown, Array.from({ length: nKnown }, (_, j) => 2 * (j + 1)), collector),
      );
      const known1 = (nKnown > 1 ? tf.split(known[0], nKnown, 0) : [known[0]]) as tf.Tensor4D[];
      const known2 = (nKnown > 1 ? tf.split(known[1], nKnown, 0) : [known[1]]) as tf.Tensor4D[];
      let state: PredictorState | undefined;
      let xIn: tf.Tensor5D | undefined;
      const pending: { i: number; z1: tf.Tensor4D; z2: tf.Tensor4D }[] = [];
      const terms: tf.Scalar[] = [];
      for (let i = 1; i <= steps; i++) {
        const [z1, z2] =
          i <= nKnown
            ? [known1[i - 1]!, known2[i - 1]!]
            : runEncode(config, kern, xIn!, normContext(config, normMode, 1, [2 * i], collector));
        state ??= zeroState(config.predictorLayers, z1);
        const r = predictorStep(kern.layers, z1, z2, state);
        state = r.state;
        if (i < feedbackFrom) {
          pending.push({ i, z1: r.z1, z2: r.z2 });
          continue;
        }
        const y = runDecode(config, kern, r.z1, r.z2, normContext(config, normMode, 1, [2 * i + 1], collector));
        const err = frameError(y, clipBatch(seq, i, 1), horizonWeight(i, feedbackFrom, steps, ssimRamp));
        const weight = horizonWeight(i, feedbackFrom, steps, ramp);
        terms.push(weight === 1 ? err : tf.mul(err, weight));
        xIn = nextInput(y, i, k, seq);
      }
      if (pending.length > 0) {
        const n = pending.length;
        const z1 = concatRows(pending.map((q) => q.z1));
        const z2 = concatRows(pending.map((q) => q.z2));
        const y = runDecode(config, kern, z1, z2, normContext(config, normMode, n, pending.map((q) => 2 * q.i + 1), collector));
        // pending steps are consecutive from 1 in both modes
        terms.push(frameError(y, clipBatch(seq, pending[0]!.i, n)));
      }
      collector?.apply();
      const total = terms.length === 1 ? terms[0]! : tf.addN(terms);
      return tf.div(total, 3 * b * h * w * c) as tf.Scalar;
    });
  } finally {
    collector?.dispose();
  }
}
