/**
 * The benchmark harness behind `crevnet bench`: after a warm-up, the median of several
 * repeats of
 *  - trainStepSeconds: one training step as `crevnet train` runs it (src/train/step.ts trainStep: the
 *    config's loss options and gradient clipping, Adam) on T-frame sequences at batch 4, data parallel
 *    over `workers` threads (train.workers of the config unless given; src/run/parallel.ts);
 *  - inferSeqPerSecond: 10→10 model.predict at batch 16;
 *  - roundTripMaxError: max |D(E(x)) − x| on random clips (train-mode and eval-mode BN);
 *  - memory: peak bytes (tf.profile) of one training step, plain autodiff and reversible backprop,
 *    for encoders of 2, 4, 8, 16 blocks at the config's widths.
 * Inputs are uniform random frames: convolution cost does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';
import { CrevNet } from '../model/crevnet.js';
import type { ModelConfig } from '../model/config.js';
import { createOptimizer, loadTrainingConfig, type TrainConfig } from '../train/config.js';
import { stepContext, trainStep } from '../train/step.js';
import { median } from './timing.js';
import { DataParallel, resolveWorkers, type WorkersSetting } from '../run/parallel.js';

export interface BenchOptions {
  /** config name or path (default 'small') */
  config?: string;
  /** timed repeats after the warm-up (default 5) */
  repeats?: number;
  /** untimed warm-up runs (default 1) */
  warmup?: number;
  trainBatch?: number;
  /** frames per training sequence (default 20 → 17 clip steps) */
  frames?: number;
  inferBatch?: number;
  context?: number;
  horizon?: number;
  /** encoder depths for the memory table (default [2,4,8,16]); [] skips it */
  memoryBlocks?: number[];
  /** frames of the memory-table training step (default = frames) */
  memoryFrames?: number;
  seed?: number;
  /** threads of the training step (default: the config's train.workers) */
  workers?: WorkersSetting;
  /** progress lines (stderr) */
  log?: (line: string) => void;
}

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

export interface BenchResult {
  backend: string;
  config: string;
  trainStepSeconds: number;
  /** threads the training step ran on (main thread + worker threads; 1 = single-threaded) */
  workers: number;
  inferSeqPerSecond: number;
  roundTripMaxError: number;
  memory: MemoryTable;
  details: {
    trainBatch: number;
    frames: number;
    inferBatch: number;
    context: number;
    horizon: number;
    repeats: number;
    warmup: number;
    trainStepSamples: number[];
    inferSeconds: number[];
    roundTripMaxErrorTrain: number;
    roundTripMaxErrorEval: number;
    params: number;
    memoryFrames: number;
    tensorsLeaked: number;
    rssBytes: number;
  };
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

/** Median seconds of the async `fn` over `repeats` runs after `warmup` untimed runs. */
export async function timeSecondsAsync(fn: () => Promise<void>, repeats: number, warmup: number): Promise<{ median: number; samples: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return { median: median(samples), samples };
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

export async function runBench(o: BenchOptions = {}): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const { model: config, train: settings } = await loadTrainingConfig(o.config ?? 'small');
  const repeats = o.repeats ?? 5;
  const warmup = o.warmup ?? 1;
  const trainBatch = o.trainBatch ?? 4;
  const frames = o.frames ?? 20;
  const inferBatch = o.inferBatch ?? 16;
  const context = o.context ?? 10;
  const horizon = o.horizon ?? 10;
  const seed = o.seed ?? 0;
  const memoryBlocks = o.memoryBlocks ?? [2, 4, 8, 16];
  const memoryFrames = o.memoryFrames ?? frames;
  const tensorsBefore = tf.memory().numTensors;
  const workers = Math.min(resolveWorkers(o.workers ?? settings.workers), trainBatch);

  const model = CrevNet.create(config, seed);
  const params = model.paramCounts().total;
  let trainStepSamples: number[];
  let trainStepSeconds: number;
  let inferSeconds: number[];
  let rtTrain: number;
  let rtEval: number;
  try {
    // Training step.
    const data = randomData(frames, trainBatch, config, seed + 1);
    const shape: [number, number, number, number, number] = [frames, trainBatch, ...config.imageSize];
    log(`train step: batch ${trainBatch}, ${frames} frames, ${workers} thread${workers > 1 ? 's' : ''}, ${warmup} warm-up + ${repeats} timed`);
    const pool = workers > 1 ? await DataParallel.start(model, workers) : undefined;
    const step = benchTrainStep(model, settings, data, shape, pool);
    try {
      const t = await timeSecondsAsync(async () => void (await step.run()), repeats, warmup);
      trainStepSeconds = t.median;
      trainStepSamples = t.samples;
    } finally {
      step.dispose();
      await pool?.close();
    }

    // Inference: 10 → 10 rollouts at batch 16.
    const ctx = randomSequence(context, inferBatch, config, seed + 2);
    try {
      log(`inference: ${context}→${horizon} at batch ${inferBatch}, ${warmup} warm-up + ${repeats} timed`);
      const t = await timeSecondsAsync(
        async () => {
          const y = model.predict(ctx, horizon);
          await y.data();
          y.dispose();
        },
        repeats,
        warmup,
      );
      inferSeconds = t.samples;
    } finally {
      ctx.dispose();
    }

    // Round trip D(E(x)) on random clips, both BN modes.
    log('round trip');
    const clip = randomSequence(3, trainBatch, config, seed + 3);
    const rt = async (mode: 'train' | 'eval') => {
      const e = tf.tidy(() => {
        const [z1, z2] = model.encode(clip, mode);
        const y = model.decode(z1, z2, mode);
        return y.sub(clip.reshape(y.shape)).abs().max();
      });
      const v = (await e.data())[0]!;
      e.dispose();
      return v;
    };
    try {
      rtEval = await rt('eval');
      rtTrain = await rt('train');
    } finally {
      clip.dispose();
    }
  } finally {
    model.dispose();
  }
  const inferSeqPerSecond = inferBatch / median(inferSeconds);

  // Memory table.
  const memory: MemoryTable = {
    blocks: memoryBlocks,
    plainPeakBytes: [],
    reversiblePeakBytes: [],
    plainBaselineBytes: [],
    reversibleBaselineBytes: [],
  };
  const notes = new Set<string>();
  for (const n of memoryBlocks) {
    for (const reversible of [false, true]) {
      const cfg = withEncoderBlocks(config, n, reversible);
      const list = reversible ? memory.reversiblePeakBytes : memory.plainPeakBytes;
      const base = reversible ? memory.reversibleBaselineBytes : memory.plainBaselineBytes;
      if (!cfg) {
        list.push(null);
        base.push(null);
        notes.add(`${n} blocks cannot be spread over the ${config.nBlocks.length} stages of ${config.name}`);
        continue;
      }
      log(`memory: ${n} blocks, ${reversible ? 'reversible' : 'plain'} backprop`);
      try {
        const r = await trainStepPeakBytes(cfg, settings, trainBatch, memoryFrames, seed);
        list.push(r.peak);
        base.push(r.baseline);
      } catch (err) {
        if (!reversible || !isNotImplemented(err)) throw err;
        list.push(null);
        base.push(null);
        notes.add('reversible backprop is not implemented by the model (src/model/reversible-grad.ts)');
      }
    }
  }
  if (notes.size > 0) memory.notes = [...notes];

  return {
    backend: tf.getBackend(),
    config: config.name,
    trainStepSeconds,
    workers,
    inferSeqPerSecond,
    roundTripMaxError: Math.max(rtTrain, rtEval),
    memory,
    details: {
      trainBatch,
      frames,
      inferBatch,
      context,
      horizon,
      repeats,
      warmup,
      trainStepSamples,
      inferSeconds,
      roundTripMaxErrorTrain: rtTrain,
      roundTripMaxErrorEval: rtEval,
      params,
      memoryFrames,
      tensorsLeaked: tf.memory().numTensors - tensorsBefore,
      rssBytes: process.memoryUsage().rss,
    },
  };
}
