/**
 * One benchmark measurement, run in a process of its own (`crevnet bench` starts one child per
 * measurement, src/bench/child.ts, so that no measurement inherits another's heap, GC debt or busy
 * threads):
 *  - train:  seconds per training step (`crevnet train`'s, with the config's training settings) at
 *            batch B, T frames, on `threads` threads (data parallel, src/run/parallel.ts);
 *  - infer:  seconds per context→horizon rollout of a batch (DataParallel.predict: the batch split over
 *            `threads` threads), its sequences per second, and the round-trip error max |D(E(x)) − x|;
 *  - memory: peak bytes of one training step at an encoder depth, plain or reversible backprop.
 * Timed figures warm up until the step time settles (stats.ts) and report median, min and max.
 * Inputs are uniform random frames: convolution cost does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';
import { CrevNet } from '../model/crevnet.js';
import type { ModelConfig } from '../model/config.js';
import { DataParallel } from '../run/parallel.js';
import type { TrainConfig } from '../train/config.js';
import type { WebGpuAdapterSummary } from '../runtime/webgpu.js';
import { benchTrainStep, isNotImplemented, trainStepPeakBytes, withEncoderBlocks } from './harness.js';
import { summarize, timeSettled, type Figure, type SettleOptions, type SettledTiming } from './stats.js';
import { backendName } from '../runtime/backend.js';

export const MEASURE_KINDS = ['train', 'infer', 'memory'] as const;
export type MeasureKind = (typeof MEASURE_KINDS)[number];

interface Common {
  backend: string;
  /** the GPU adapter of the webgpu backend (set by the CLI; absent elsewhere) */
  adapter?: WebGpuAdapterSummary | null;
  config: string;
  /** tensors alive after the measurement minus before (0: no leak) */
  tensorsLeaked: number;
  rssBytes: number;
}

export interface TrainMeasurement extends Common {
  kind: 'train';
  batch: number;
  frames: number;
  threads: number;
  params: number;
  /** seconds per step */
  step: SettledTiming;
}

export interface InferMeasurement extends Common {
  kind: 'infer';
  batch: number;
  context: number;
  horizon: number;
  threads: number;
  /** seconds per rollout of the whole batch */
  rollout: SettledTiming;
  /** sequences per second, one sample per timed rollout */
  seqPerSecond: Figure;
  roundTripMaxErrorTrain: number;
  roundTripMaxErrorEval: number;
}

export interface MemoryMeasurement extends Common {
  kind: 'memory';
  blocks: number;
  reversible: boolean;
  batch: number;
  frames: number;
  /** null with `note` when the row does not apply */
  peakBytes: number | null;
  baselineBytes: number | null;
  note?: string;
}

export type Measurement = TrainMeasurement | InferMeasurement | MemoryMeasurement;

function randomSequence(t: number, b: number, config: ModelConfig, seed: number): tf.Tensor5D {
  const [h, w, c] = config.imageSize;
  return tf.randomUniform([t, b, h, w, c], 0, 1, 'float32', seed) as tf.Tensor5D;
}

async function withPool<T>(model: CrevNet, threads: number, fn: (pool: DataParallel) => Promise<T>): Promise<T> {
  const pool = await DataParallel.start(model, threads);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

export interface TrainMeasureOptions extends SettleOptions {
  config: ModelConfig;
  /** the training settings of the step (loss options, clipping, Adam constants) */
  settings: TrainConfig;
  batch?: number;
  frames?: number;
  threads?: number;
  seed?: number;
}

export async function measureTrain(o: TrainMeasureOptions): Promise<TrainMeasurement> {
  const { config } = o;
  const batch = o.batch ?? 4;
  const frames = o.frames ?? 20;
  const threads = Math.max(1, Math.min(o.threads ?? 1, batch));
  const seed = o.seed ?? 0;
  const before = tf.memory().numTensors;
  const model = CrevNet.create(config, seed);
  const seq = randomSequence(frames, batch, config, seed + 1);
  // asynchronous reads throughout: webgpu has no cheap synchronous one
  const data = ((await seq.data()) as Float32Array).slice();
  const shape = seq.shape as [number, number, number, number, number];
  seq.dispose();
  let step: SettledTiming;
  try {
    const time = async (pool?: DataParallel) => {
      const s = benchTrainStep(model, o.settings, data, shape, pool);
      try {
        return await timeSettled(() => s.run(), o);
      } finally {
        s.dispose();
      }
    };
    step = threads > 1 ? await withPool(model, threads, time) : await time();
  } catch (err) {
    model.dispose();
    throw err;
  }
  const params = model.paramCounts().total;
  model.dispose();
  return { kind: 'train', ...common(config, before), batch, frames, threads, params, step };
}

export interface InferMeasureOptions extends SettleOptions {
  config: ModelConfig;
  batch?: number;
  context?: number;
  horizon?: number;
  threads?: number;
  seed?: number;
}

export async function measureInfer(o: InferMeasureOptions): Promise<InferMeasurement> {
  const { config } = o;
  const batch = o.batch ?? 16;
  const context = o.context ?? 10;
  const horizon = o.horizon ?? 10;
  const threads = Math.max(1, Math.min(o.threads ?? 1, batch));
  const seed = o.seed ?? 0;
  const before = tf.memory().numTensors;
  const model = CrevNet.create(config, seed);
  let rollout: SettledTiming;
  let rt: { train: number; eval: number };
  try {
    const ctx = randomSequence(context, batch, config, seed + 2);
    const data = ((await ctx.data()) as Float32Array).slice();
    const shape = ctx.shape as [number, number, number, number, number];
    ctx.dispose();
    rollout = await withPool(model, threads, (pool) => timeSettled(() => pool.predict(data, shape, horizon), o));
    rt = await roundTrip(model, config, seed);
  } finally {
    // also releases the prepared model predict keeps
    model.dispose();
  }
  return {
    kind: 'infer',
    ...common(config, before),
    batch,
    context,
    horizon,
    threads,
    rollout,
    seqPerSecond: summarize(rollout.samples.map((s) => batch / s)),
    roundTripMaxErrorTrain: rt.train,
    roundTripMaxErrorEval: rt.eval,
  };
}

/** max |D(E(x)) − x| on random clips with train-mode and eval-mode normalisation. */
async function roundTrip(model: CrevNet, config: ModelConfig, seed: number): Promise<{ train: number; eval: number }> {
  const clip = randomSequence(3, 4, config, seed + 3);
  const err = async (mode: 'train' | 'eval') => {
    const e = tf.tidy(() => {
      const [z1, z2] = model.encode(clip, mode);
      const y = model.decode(z1, z2, mode);
      return y.sub(clip.reshape(y.shape)).abs().max();
    });
    try {
      return (await e.data())[0]!;
    } finally {
      e.dispose();
    }
  };
  try {
    // eval first: the train-mode pass updates the running statistics
    const e = await err('eval');
    return { eval: e, train: await err('train') };
  } finally {
    clip.dispose();
  }
}

export interface MemoryMeasureOptions {
  config: ModelConfig;
  settings: TrainConfig;
  blocks: number;
  reversible: boolean;
  batch?: number;
  frames?: number;
  seed?: number;
}

export async function measureMemory(o: MemoryMeasureOptions): Promise<MemoryMeasurement> {
  const batch = o.batch ?? 4;
  const frames = o.frames ?? 20;
  const before = tf.memory().numTensors;
  const base = { kind: 'memory' as const, blocks: o.blocks, reversible: o.reversible, batch, frames };
  const cfg = withEncoderBlocks(o.config, o.blocks, o.reversible);
  if (!cfg) {
    return { ...base, ...common(o.config, before), peakBytes: null, baselineBytes: null, note: `${o.blocks} blocks cannot be spread over the ${o.config.nBlocks.length} stages of ${o.config.name}` };
  }
  try {
    const r = await trainStepPeakBytes(cfg, o.settings, batch, frames, o.seed ?? 0);
    return { ...base, ...common(o.config, before), peakBytes: r.peak, baselineBytes: r.baseline };
  } catch (err) {
    if (!o.reversible || !isNotImplemented(err)) throw err;
    return { ...base, ...common(o.config, before), peakBytes: null, baselineBytes: null, note: 'reversible backprop is not implemented by the model (src/model/reversible-grad.ts)' };
  }
}

/** Fields every measurement reports (after its models are disposed). */
function common(config: ModelConfig, before: number): Common {
  return {
    backend: backendName(),
    config: config.name,
    tensorsLeaked: tf.memory().numTensors - before,
    rssBytes: process.memoryUsage().rss,
  };
}
