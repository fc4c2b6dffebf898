/**
 * One training iteration's update: loss and gradients of a batch (on this thread, or sharded over the
 * data-parallel pool), the global gradient norm, a stop on a non-finite loss or norm, optional
 * global-norm clipping and the Adam step.
 */
import { appendFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { CrevnetError } from '../runtime/errors.js';
import type { TrainConfig } from '../model/config.js';
import type { CrevNet } from '../model/crevnet.js';
import { uint8ToFloat } from '../data/pixels.js';
import type { DataParallel } from '../run/parallel.js';
import type { TrainHooks } from './types.js';

/** A non-finite loss or gradient: training stops without touching the last checkpoint. */
export class NonFiniteLossError extends CrevnetError {
  constructor(
    message: string,
    readonly iteration: number,
  ) {
    super(message, 1);
    this.name = 'NonFiniteLossError';
  }
}

/** What stays the same for every step of a session. */
export interface StepSetup {
  model: CrevNet;
  /** the model's trainable variables */
  vars: tf.Variable[];
  optimizer: tf.AdamOptimizer;
  pool: DataParallel | undefined;
  settings: TrainConfig;
  height: number;
  width: number;
  hooks: TrainHooks;
  /** metrics.jsonl: a non-finite step logs an error record there */
  metricsPath: string;
  /** last/, named in the non-finite error */
  lastDir: string;
}

/**
 * Update the model with the time-major uint8 `batch` of iteration `iteration` (the optimizer's rate is
 * already `lr`; `savedStep` is the last checkpointed iteration, −1 for none). Returns the loss and the
 * gradient norm before clipping.
 */
export async function optimizeStep(t: StepSetup, iteration: number, batch: Uint8Array, lr: number, savedStep: number): Promise<{ loss: number; gradNorm: number }> {
  const { settings, hooks, vars, optimizer } = t;
  const shape: [number, number, number, number, number] = [settings.frames, settings.batch, t.height, t.width, 1];
  const lossOpts = { mode: settings.mode, context: settings.context, l1: settings.l1, ssim: settings.ssim, clipLoss: settings.clipLoss, horizonRamp: settings.horizonRamp, ssimRamp: settings.ssimRamp, freezeNorm: settings.freezeNorm };
  let lossValue: number;
  let normValue: number;
  let value: tf.Scalar;
  let grads: tf.NamedTensorMap;
  if (t.pool) {
    ({ value, grads } = await t.pool.gradients(uint8ToFloat(batch), shape, lossOpts, hooks.lossHook ? (l) => hooks.lossHook!(iteration, l) : undefined));
  } else {
    const x = tf.tensor5d(uint8ToFloat(batch), shape);
    try {
      ({ value, grads } = tf.variableGrads(() => {
        const l = t.model.loss(x, lossOpts);
        return hooks.lossHook ? hooks.lossHook(iteration, l) : l;
      }, vars));
    } finally {
      x.dispose();
    }
  }
  try {
    const list = vars.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) }));
    const norm = tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g.tensor))))));
    [lossValue, normValue] = [(await value.data())[0]!, (await norm.data())[0]!];
    norm.dispose();
    if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
      const what = !Number.isFinite(lossValue) ? `loss (${lossValue})` : `gradient norm (${normValue})`;
      appendFileSync(t.metricsPath, `${JSON.stringify({ type: 'error', step: iteration, loss: String(lossValue), gradNorm: String(normValue), lr })}\n`);
      const kept = savedStep >= 0 ? `the last good checkpoint ${t.lastDir} (iteration ${savedStep}) is untouched` : 'no checkpoint was written';
      throw new NonFiniteLossError(`non-finite ${what} at iteration ${iteration} (lr ${lr.toExponential(2)}); training stopped, ${kept}; lower --lr or set train.gradClip`, iteration);
    }
    const clip = settings.gradClip;
    if (clip !== null && normValue > clip) {
      const scale = clip / (normValue + 1e-6);
      const clipped = list.map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, scale) }));
      optimizer.applyGradients(clipped);
      tf.dispose(clipped.map((g) => g.tensor));
    } else {
      optimizer.applyGradients(list);
    }
    for (const g of list) if (!grads[g.name]) g.tensor.dispose();
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
  }
  return { loss: lossValue, gradNorm: normValue };
}
