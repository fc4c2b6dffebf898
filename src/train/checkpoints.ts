/**
 * What a run saves: last/ (model, Adam state, training state) for an exact resume and best/ (model and
 * training state, no optimizer). The training state format is state.ts's TrainState.
 */
import * as tf from '@tensorflow/tfjs';
import type { CrevNet } from '../model/crevnet.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { adamAccumulators, TRAIN_STATE_KIND, TRAIN_STATE_VERSION, type BestScore, type TrainState } from './state.js';
import type { Session } from './session.js';

/** The values of a run that change while it trains, as the next checkpoint records them. */
export interface LiveState {
  best: BestScore | null;
  trainSeconds: number;
  lr: number;
}

/** Training state after `step` iterations (read from the session's data stream and optimizer now). */
export function trainState(s: Session, step: number, live: LiveState): TrainState {
  return {
    kind: TRAIN_STATE_KIND,
    version: TRAIN_STATE_VERSION,
    step,
    rngState: s.stream.rngState(),
    settings: s.settings,
    best: live.best,
    adam: adamAccumulators(s.optimizer),
    trainSeconds: live.trainSeconds,
    lr: live.lr,
    savedAt: new Date().toISOString(),
    dataset: s.dataset,
    ...(s.videos ? { data: s.videos.saved } : {}),
  };
}

/** Save the model and Adam state to `dir` (last/); `state` is taken after the optimizer weights are read. */
export async function saveLastCheckpoint(dir: string, model: CrevNet, optimizer: tf.AdamOptimizer, state: () => TrainState): Promise<void> {
  // getWeights() creates a fresh int32 'iter' scalar (the other tensors are the optimizer's own
  // variables); checkpoints hold float32 only, and float32 counts exactly up to 2^24 iterations.
  const weights = await optimizer.getWeights();
  const fresh = weights.filter((w) => w.name === 'iter').map((w) => w.tensor);
  // (not toFloat(): on cpu an int32→float32 cast keeps the Int32Array, so its bytes would be ints)
  const saved = weights.map((w) => (w.name === 'iter' ? { name: w.name, tensor: tf.scalar(w.tensor.dataSync()[0]!, 'float32') } : w));
  for (const w of saved) if (w.name === 'iter') fresh.push(w.tensor);
  try {
    const st = state();
    await saveCheckpoint(dir, { model, optimizerWeights: saved, state: st as unknown as Record<string, unknown>, train: st.settings });
  } finally {
    tf.dispose(fresh);
  }
}

/** Save the model to `dir` (best/), without optimizer state. */
export async function saveBestCheckpoint(dir: string, model: CrevNet, state: TrainState): Promise<void> {
  await saveCheckpoint(dir, { model, state: state as unknown as Record<string, unknown>, train: state.settings });
}
