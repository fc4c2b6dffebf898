/**
 * What the benchmark measurements share (src/bench/measure.ts, profile.ts, `crevnet model --time`): the
 * training step as `crevnet train` runs it (src/train/step.ts: the config's loss options and gradient
 * clipping, Adam) on a fixed batch, the encoder-depth variants of the memory table and the peak bytes of
 * one training step. Inputs are uniform random frames: convolution cost does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';
import { CrevNet } from '../model/crevnet.js';
import type { ModelConfig } from '../model/config.js';
import { createOptimizer, type TrainConfig } from '../train/config.js';
import { stepContext, trainStep } from '../train/step.js';
import type { DataParallel } from '../run/parallel.js';

export interface MemoryTable {
  blocks: number[];
  plainPeakBytes: (number | null)[];
  reversiblePeakBytes: (number | null)[];
  /** tfjs bytes held before each step (weights, optimizer state), same order as the peaks */
  plainBaselineBytes: (number | null)[];
  reversibleBaselineBytes: (number | null)[];
  /** why an entry is null, e.g. the model does not implement reversible backprop */
  notes?: string[];
}

function randomSequence(t: number, b: number, config: ModelConfig, seed: number): tf.Tensor5D {
  const [h, w, c] = config.imageSize;
  return tf.randomUniform([t, b, h, w, c], 0, 1, 'float32', seed) as tf.Tensor5D;
}

/** randomSequence's values as an array (a training step takes its batch as data, like `crevnet train`). */
function randomData(t: number, b: number, config: ModelConfig, seed: number): Float32Array {
  const seq = randomSequence(t, b, config, seed);
  try {
    return (seq.dataSync() as Float32Array).slice();
  } finally {
    seq.dispose();
  }
}

/** A training step on a fixed batch, as the benchmarks run it; `run` returns the loss. */
export interface BenchTrainStep {
  run(): Promise<number>;
  /** disposes the optimizer (the model and the pool stay the caller's) */
  dispose(): void;
}

/**
 * The training step the benchmarks time: `crevnet train`'s own (src/train/step.ts trainStep, with
 * `settings`' loss options, gradient clipping and Adam constants) on the time-major float batch `data`
 * of `shape`, on this thread or over `pool`.
 */
export function benchTrainStep(model: CrevNet, settings: TrainConfig, data: Float32Array, shape: [number, number, number, number, number], pool?: DataParallel): BenchTrainStep {
  const optimizer = createOptimizer(settings);
  const ctx = stepContext(model, optimizer, settings, pool);
  return {
    run: async () => (await trainStep(ctx, data, shape)).loss,
    dispose: () => optimizer.dispose(),
  };
}

/** The config with `total` encoder blocks spread over its stages (same strides and widths), or null. */
export function withEncoderBlocks(config: ModelConfig, total: number, reversible: boolean): ModelConfig | null {
  const stages = config.nBlocks.length;
  if (total < stages) return null;
  const nBlocks = Array.from({ length: stages }, (_, i) => Math.floor(total / stages) + (i < total % stages ? 1 : 0));
  return { ...config, name: `${config.name}-${total}blocks`, nBlocks, reversibleBackprop: reversible };
}

export function isNotImplemented(err: unknown): boolean {
  return err instanceof Error && /not implemented/i.test(err.message);
}

/**
 * Peak bytes of one training step (tf.profile: the largest tfjs byte count seen after any kernel of the
 * step, the step's input tensor included) with a fresh model and optimizer, and the bytes held just
 * before the step (weights and Adam moments).
 */
export async function trainStepPeakBytes(config: ModelConfig, settings: TrainConfig, batch: number, frames: number, seed: number): Promise<{ peak: number; baseline: number }> {
  const model = CrevNet.create(config, seed);
  const data = randomData(frames, batch, config, seed + 1);
  const step = benchTrainStep(model, settings, data, [frames, batch, ...config.imageSize]);
  try {
    // One untimed step first so Adam's moment variables exist and are not counted as the step's peak.
    await step.run();
    const baseline = tf.memory().numBytes;
    const info = await tf.profile(async () => {
      await step.run();
    });
    return { peak: info.peakBytes, baseline };
  } finally {
    step.dispose();
    model.dispose();
  }
}
