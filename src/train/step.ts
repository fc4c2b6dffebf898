/**
 * The training step: loss and gradients of a batch (on this thread, or sharded over the data-parallel
 * pool), the global gradient norm, optional global-norm clipping and the optimizer step (`trainStep`,
 * shared with the benchmarks), and a training iteration's stop on a non-finite loss or norm
 * (`optimizeStep`).
 */
import { appendFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { CrevnetError } from '../runtime/errors.js';
import { lossOptionsOf, type TrainConfig } from './config.js';
import type { LossOptions } from '../model/crevnet-loss.js';
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

/**
 * What one training step needs besides its batch. `crevnet train`, `crevnet bench` and
 * `crevnet model --time` all run `trainStep` with a context from `stepContext`, so the benchmark
 * times exactly the update training makes.
 */
export interface TrainStepContext {
  model: CrevNet;
  /** the model's trainable variables */
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  /** data-parallel pool over the model (undefined: this thread only) */
  pool: DataParallel | undefined;
  loss: LossOptions;
  /** global-norm gradient clipping; null = off */
  gradClip: number | null;
  /** transform the loss inside the gradient tape (tests, e.g. inject a NaN) */
  lossHook?: (loss: tf.Scalar) => tf.Scalar;
}

/** The step context of training `model` with `settings` (loss options and clipping as the run has them). */
export function stepContext(model: CrevNet, optimizer: tf.Optimizer, settings: TrainConfig, pool?: DataParallel): TrainStepContext {
  return { model, vars: model.trainableVariables(), optimizer, pool, loss: lossOptionsOf(settings), gradClip: settings.gradClip };
}

export interface StepOutcome {
  loss: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** false when the loss or the norm is not finite: then the weights were left as they were */
  applied: boolean;
}

/**
 * One update of the model with the time-major float batch `data` of `shape` [T, B, H, W, C]: loss and
 * gradients (on this thread, or sharded over the pool), the global gradient norm, optional global-norm
 * clipping and the optimizer step at its current rate. A non-finite loss or norm updates nothing.
 */
export async function trainStep(s: TrainStepContext, data: Float32Array, shape: [number, number, number, number, number]): Promise<StepOutcome> {
  const { vars, optimizer } = s;
  let lossValue: number;
  let normValue: number;
  let value: tf.Scalar;
  let grads: tf.NamedTensorMap;
  if (s.pool) {
    ({ value, grads } = await s.pool.gradients(data, shape, s.loss, s.lossHook));
  } else {
    const x = tf.tensor5d(data, shape);
    try {
      ({ value, grads } = tf.variableGrads(() => {
        const l = s.model.loss(x, s.loss);
        return s.lossHook ? s.lossHook(l) : l;
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
    const applied = Number.isFinite(lossValue) && Number.isFinite(normValue);
    const clip = s.gradClip;
    if (!applied) {
      // nothing to update
    } else if (clip !== null && normValue > clip) {
      const scale = clip / (normValue + 1e-6);
      const clipped = list.map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, scale) }));
      optimizer.applyGradients(clipped);
      tf.dispose(clipped.map((g) => g.tensor));
    } else {
      optimizer.applyGradients(list);
    }
    for (const g of list) if (!grads[g.name]) g.tensor.dispose();
    return { loss: lossValue, gradNorm: normValue, applied };
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
  }
}

/** What stays the same for every iteration of a session. */
export interface StepSetup {
  step: TrainStepContext;
  settings: TrainConfig;
  height: number;
  width: number;
  /** 1 (gray) or 3 (RGB) */
  channels?: number;
  hooks: TrainHooks;
  /** metrics.jsonl: a non-finite step logs an error record there */
  metricsPath: string;
  /** last/, named in the non-finite error */
  lastDir: string;
}

/**
 * Training iteration `iteration` on the time-major uint8 `batch` [T, B, H, W, C] (the optimizer's rate is already `lr`;
 * `savedStep` is the last checkpointed iteration, −1 for none). Returns the loss and the gradient norm
 * before clipping; a non-finite one logs an error record and stops training (NonFiniteLossError).
 */
export async function optimizeStep(t: StepSetup, iteration: number, batch: Uint8Array, lr: number, savedStep: number): Promise<{ loss: number; gradNorm: number }> {
  const { settings, hooks } = t;
  const shape: [number, number, number, number, number] = [settings.frames, settings.batch, t.height, t.width, t.channels ?? 1];
  const hook = hooks.lossHook;
  const r = await trainStep(hook ? { ...t.step, lossHook: (l) => hook(iteration, l) } : t.step, uint8ToFloat(batch), shape);
  if (!r.applied) {
    const [lossValue, normValue] = [r.loss, r.gradNorm];
    const what = !Number.isFinite(lossValue) ? `loss (${lossValue})` : `gradient norm (${normValue})`;
    appendFileSync(t.metricsPath, `${JSON.stringify({ type: 'error', step: iteration, loss: String(lossValue), gradNorm: String(normValue), lr })}\n`);
    const kept = savedStep >= 0 ? `the last good checkpoint ${t.lastDir} (iteration ${savedStep}) is untouched` : 'no checkpoint was written';
    throw new NonFiniteLossError(`non-finite ${what} at iteration ${iteration} (lr ${lr.toExponential(2)}); training stopped, ${kept}; lower --lr or set train.gradClip`, iteration);
  }
  return { loss: r.loss, gradNorm: r.gradNorm };
}
