/**
 * What a training checkpoint carries besides the weights (checkpoint `state`), and the Adam
 * internals needed for an exact resume.
 *
 * tfjs' AdamOptimizer.setWeights() recomputes its bias-correction accumulators as
 * pow(β, iterations + 1), while an uninterrupted run multiplies them by β every step; in float32 the
 * two differ in the last bits, which would break bit-exact resume. So the accumulators are saved in
 * the state and written back after setWeights (private fields of tfjs 4.22.0, which is pinned
 * exactly; `adamAccumulators` throws if they are missing).
 */
import * as tf from '@tensorflow/tfjs';
import type { RngState } from '../data/rng.js';
import type { TrainConfig } from './config.js';
import type { DatasetRecord, SavedTrainData } from '../data/dataset-record.js';

export type { SavedTrainData } from '../data/dataset-record.js';
import { InternalError, UserError } from '../runtime/errors.js';

export const TRAIN_STATE_KIND = 'crevnet-train-state';
export const TRAIN_STATE_VERSION = 1;

export interface BestScore {
  /** 'ssim' (R = 2): higher is better */
  metric: 'ssim';
  value: number;
  mse: number;
  step: number;
}

export interface TrainState {
  kind: typeof TRAIN_STATE_KIND;
  version: number;
  /** completed iterations = schedule position of the next iteration */
  step: number;
  /** data stream RNG after `step` batches */
  rngState: RngState;
  /** effective training settings of the run */
  settings: TrainConfig;
  best: BestScore | null;
  /** Adam bias-correction accumulators β1^(t+1), β2^(t+1) as float32 values */
  adam: { accBeta1: number; accBeta2: number } | null;
  /** training wall time so far, all sessions (validation and checkpoints excluded) */
  trainSeconds: number;
  /** learning rate of the last completed iteration */
  lr: number;
  savedAt: string;
  /** what the model was trained on (absent in checkpoints of Moving MNIST runs from before it was recorded) */
  dataset?: DatasetRecord;
  /** video runs: where the data comes from, to reopen it on resume (absolute paths) */
  data?: SavedTrainData;
}


export function parseTrainState(raw: Record<string, unknown>, where: string): TrainState {
  if (raw.kind !== TRAIN_STATE_KIND) throw new UserError(`${where} is not a training checkpoint (no training state); it cannot be resumed`);
  if (raw.version !== TRAIN_STATE_VERSION) throw new UserError(`${where}: training state version ${String(raw.version)} is not supported (expected ${TRAIN_STATE_VERSION})`);
  const s = raw as unknown as TrainState;
  if (!Number.isInteger(s.step) || s.step < 0 || !s.rngState || !s.settings) throw new UserError(`${where}: training state is incomplete`);
  return s;
}

interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

function internals(opt: tf.AdamOptimizer): Required<AdamInternals> {
  const o = opt as unknown as AdamInternals;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) {
    throw new InternalError('tfjs AdamOptimizer no longer has accBeta1/accBeta2; exact resume needs updating for this tfjs version');
  }
  return o as Required<AdamInternals>;
}

export function adamAccumulators(opt: tf.AdamOptimizer): { accBeta1: number; accBeta2: number } {
  const o = internals(opt);
  return { accBeta1: o.accBeta1.dataSync()[0]!, accBeta2: o.accBeta2.dataSync()[0]! };
}

export function restoreAdamAccumulators(opt: tf.AdamOptimizer, v: { accBeta1: number; accBeta2: number }): void {
  const o = internals(opt);
  tf.tidy(() => {
    o.accBeta1.assign(tf.scalar(v.accBeta1));
    o.accBeta2.assign(tf.scalar(v.accBeta2));
  });
}

/** Set the rate Adam uses in its next applyGradients (a plain field read at every update). */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}
