/**
 * CrevNet's test-time rollout (see docs/architecture.md, Rollout) with eval-mode normalisation: the
 * known clips are encoded in one batched pass, then the loop steps the predictor, decodes and feeds
 * its own predictions back. Each step runs in its own tidy; only the predictor state, the next input and
 * the output frame survive it.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { decode, encode } from './autoencoder.js';
import { checkSequence, clipBatch, nextInput, sliceRows } from './clips.js';
import { disposePrepared, prepareInference, normContext, type InferenceModel, type ModelParams } from './crevnet-prepared.js';
import { disposeState, zeroState, type PredictorState } from './predictor.js';
import { predictorStepInference } from './predictor-inference.js';

export interface RolloutOptions {
  /**
   * return the decoder's raw output instead of frames clamped to [0, 1] (default false). The loop
   * feeds raw predictions back either way, as the training rollout does; only the returned frames
   * are clamped.
   */
  raw?: boolean;
  /**
   * called after each predictor step (1 … steps) with the step count, e.g. to report progress; the
   * step's work may still be queued on an asynchronous backend (webgl, webgpu)
   */
  onStep?: (step: number, steps: number) => void;
}

/**
 * context [K,B,H,W,C] (K ≥ 3 known frames) → predicted frames [horizon,B,H,W,C], clamped to the
 * frames' range [0, 1] unless `raw`. Beyond the training length the loop keeps feeding its own
 * predictions back.
 */
export function rollout(p: ModelParams, context: tf.Tensor5D, horizon: number, opts: RolloutOptions = {}, prepared?: InferenceModel): tf.Tensor5D {
  const config = p.config;
  const [k, b] = checkSequence(config, context, 'predict: context', 3);
  if (!Number.isInteger(horizon) || horizon < 1) throw new UserError(`predict: horizon must be a positive integer, got ${horizon}`);
  const [h, w, c] = config.imageSize;
  const nKnown = k - 2;
  // the caller's prepared model (CrevNet keeps it while the weights do not change), else this call's own
  const kern = prepared ?? (tf.tidy(() => prepareInference(p) as unknown as tf.TensorContainer) as unknown as InferenceModel);
  let known: [tf.Tensor4D, tf.Tensor4D] | undefined;
  let state: PredictorState | undefined;
  let xIn: tf.Tensor5D | undefined;
  const outputs: tf.Tensor5D[] = [];
  try {
    known = tf.tidy(() => encode(kern.autoencoder, clipBatch(context, 0, nKnown), normContext(config, 'eval', nKnown)));
    const steps = k + horizon - 3;
    for (let i = 1; i <= steps; i++) {
      const r = tf.tidy(() => {
        const [z1, z2] =
          i <= nKnown
            ? [sliceRows(known![0], (i - 1) * b, b), sliceRows(known![1], (i - 1) * b, b)]
            : encode(kern.autoencoder, xIn!, normContext(config, 'eval', 1));
        const s = predictorStepInference(kern.layers, z1, z2, state ?? zeroState(config.predictorLayers, z1));
        if (i <= k - 3) return { state: s.state } as unknown as tf.TensorContainer;
        const y = decode(kern.autoencoder, s.z1, s.z2, normContext(config, 'eval', 1));
        const next = nextInput(y, i, k, context);
        return { state: s.state, next, out: next.slice([2, 0, 0, 0, 0], [1, b, h, w, c]) } as unknown as tf.TensorContainer;
      }) as unknown as { state: PredictorState; next?: tf.Tensor5D; out?: tf.Tensor5D };
      disposeState(state);
      state = r.state;
      if (r.next) {
        xIn?.dispose();
        xIn = r.next;
      }
      if (r.out) outputs.push(r.out);
      opts.onStep?.(i, steps);
    }
    return tf.tidy(() => {
      const frames = outputs.length === 1 ? outputs[0]!.clone() : tf.concat(outputs, 0);
      // A frame's values are intensities in [0, 1]; the decoder can overshoot, most often below 0 on
      // the background, which would only add error (MSE and MAE score the returned frames as they are).
      return opts.raw ? frames : tf.clipByValue(frames, 0, 1);
    });
  } finally {
    tf.dispose(outputs);
    if (known) tf.dispose(known);
    disposeState(state);
    xIn?.dispose();
    if (!prepared) disposePrepared(kern);
  }
}
