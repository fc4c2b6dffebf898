/**
 * CrevNet's training loss over a time-major sequence: teacher forcing (the paper) or the test-time
 * rollout as the training graph. Clips whose encoder input is known in advance are encoded in ONE
 * batched pass, and decoder outputs that are not fed back are decoded in one batched pass; each
 * group keeps its own BatchNorm statistics and the running-stat updates are applied in the reference
 * order (E₁, D₁, E₂, D₂, …), so the numbers equal separate calls per clip.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../runtime/errors.js';
import { issueMessage } from './config.js';
import { checkSequence, clipBatch, nextInput } from './clips.js';
import { customOp } from './custom-op.js';
import { deferWeightGrads } from './deferred-weight-grads.js';
import { prepareModel, normContext, runDecode, runEncode, type ModelParams } from './crevnet-prepared.js';
import { RunningStatsCollector } from './norm.js';
import { concatRows, sumSquaredError, sumSquaredPlusAbsError } from './ops.js';
import { sumSsimLoss } from './ssim-loss.js';
import { predictorStep, zeroState, type PreparedLayer, type PredictorState } from './predictor.js';

/**
 * The loss options: one object, validated once here (a training config's train section embeds this
 * schema, src/train/config.ts) and passed whole to the loss; adding a loss option touches this schema,
 * the `crevnet train` flag and `sequenceLoss`.
 */
export const LossOptionsSchema = z.strictObject({
  /** 'teacher' forcing (the paper) or 'rollout' (the test-time loop as the training graph) */
  mode: z.enum(['teacher', 'rollout']).default('teacher'),
  /** known frames K for mode 'rollout' and for validation (K ≥ 3; the loss clamps it to T) */
  context: z.number().int().min(3).default(10),
  /** weight of an L1 term added to the MSE loss, Σ mean|X̂ − X| (0 = the paper's loss; E3D-LSTM trains on L1 + L2) */
  l1: z.number().min(0).default(0),
  /** weight of an added SSIM term, Σ mean over frames (1 − SSIM(X̂, X)) (0 = off; src/model/ssim-loss.ts) */
  ssim: z.number().min(0).default(0),
  /**
   * score the prediction clipped to [0, 1] in every loss term, as SSIM and PSNR see it (see scoredAsClipped):
   * a value below 0 where the truth is 0, or above 1 where it is 1, costs nothing
   */
  clipLoss: z.boolean().default(false),
  /**
   * BatchNorm in training uses the running statistics, frozen, as evaluation does (false = batch statistics,
   * the paper's rule). Why: the test rollout normalises every clip with fixed statistics, while batch
   * statistics rescale each fed-back clip by its own (faded) contrast; frozen, training optimises the very
   * function the test runs. Only affine γ, β and the convolutions learn. For fine-tuning a trained model;
   * no effect with group norm.
   */
  freezeNorm: z.boolean().default(false),
});
/** Validated loss options (every field present); build with `lossOptions`. */
export type LossOptions = z.output<typeof LossOptionsSchema>;
export type LossMode = LossOptions['mode'];

/** The paper's loss: teacher forcing, MSE only. */
export const DEFAULT_LOSS_OPTIONS: Readonly<LossOptions> = Object.freeze(LossOptionsSchema.parse({}));

/** Validate loss options (absent fields take their defaults); a bad value is a one-line UserError. */
export function lossOptions(input: z.input<typeof LossOptionsSchema> = {}, source = 'loss options'): LossOptions {
  const r = LossOptionsSchema.safeParse(input);
  if (!r.success) throw new UserError(`${source}: ${issueMessage(r.error.issues[0]!, input)}`);
  return r.data;
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
 * Σ over the T−3 clip steps of mean((X̂_i − X_i)²) [+ l1·mean|X̂_i − X_i|] [+ ssim·mean_frames(1 − SSIM)]
 * for a time-major sequence [T,B,H,W,C] (T ≥ 4), X̂ optionally scoredAsClipped (opts.clipLoss).
 * BatchNorm in train mode (running stats are updated), or with frozen running stats (opts.freezeNorm).
 * `deferGrads` (default true) computes each predictor weight's gradient once over all clip steps
 * instead of once per step: the same gradient up to float summation order (false = the per-use
 * reference path).
 */
export function sequenceLoss(p: ModelParams, seq: tf.Tensor5D, opts: LossOptions, deferGrads = true): tf.Scalar {
  const config = p.config;
  const [t, b] = checkSequence(config, seq, 'loss: sequence', 4);
  const { mode, l1, ssim } = opts;
  const k = mode === 'rollout' ? Math.min(opts.context, t) : t;
  const steps = t - 3;
  const [h, w, c] = config.imageSize;
  // Sums over the clip's pixels: the total is divided by one clip's size (3·b·h·w·c) at the end, so the
  // SSIM term is scaled by h·w (Σ over its 3·b·c frames of (1 − SSIM) becomes a per-frame mean).
  const frameError = (yRaw: tf.Tensor, target: tf.Tensor): tf.Scalar => {
    const y = opts.clipLoss ? scoredAsClipped(yRaw, target) : yRaw;
    const pixels = l1 > 0 ? sumSquaredPlusAbsError(y, target, l1) : sumSquaredError(y, target);
    return ssim > 0 ? tf.add(pixels, tf.mul(sumSsimLoss(y, target), ssim * h * w)) : pixels;
  };
  const frozen = opts.freezeNorm && config.norm === 'batch';
  const normMode = frozen ? 'eval' : 'train';
  const collector = config.norm === 'batch' && !frozen ? new RunningStatsCollector() : undefined;
  try {
    return tf.tidy(() => {
      const kern = prepareModel(p);
      // Every step uses the same predictor weights: one weight-gradient kernel per weight and
      // backward pass (over all steps' (x, dy) concatenated) instead of one per step.
      // (The encoder's weights are used by 2 batched calls only, E and D; deferring them measured no gain.)
      if (deferGrads) kern.layers = kern.layers.map((l) => deferLayerGrads(l));
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
        terms.push(frameError(y, clipBatch(seq, i, 1)));
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
