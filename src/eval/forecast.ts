/**
 * The evaluation loop shared by `crevnet eval` and the trainer's validation: read batches from a
 * SequenceSource, ask each forecaster for the horizon frames, and score every forecaster with the
 * same MetricsAccumulator path (OpenSTL metrics, src/eval/metrics.ts). Baselines are forecasters
 * too, so the model, copy-last-frame, all-black frames and (in tests) a perfect oracle are all
 * scored by exactly the same code.
 */
import * as tf from '@tensorflow/tfjs';
import { MetricsAccumulator, type MetricsReport } from './metrics.js';
import type { SequenceSource } from './sources.js';
import type { StripSequence } from '../report/image.js';
import { floatToUint8 } from '../data/pixels.js';

export interface ForecastBatch {
  /** float32 time-major [context + horizon, batch, H, W, C] in [0, 1] */
  sequences: Float32Array;
  batch: number;
  context: number;
  horizon: number;
  height: number;
  width: number;
  channels: number;
}

/** Values of one time step of a batch: batch · H · W · C. */
function stepSize(b: ForecastBatch): number {
  return b.batch * b.height * b.width * b.channels;
}

/** Returns the predicted frames, float32 time-major [horizon, batch, H, W, C], as the forecaster made them (the metrics do not clip them for MSE/MAE). */
export type Forecaster = (b: ForecastBatch) => Float32Array | Promise<Float32Array>;

/** Anything with the model's test rollout (CrevNet.predict: frames clamped to [0, 1] unless `raw`). */
export interface Predictor {
  predict(context: tf.Tensor5D, horizon: number, opts?: { raw?: boolean }): tf.Tensor5D;
}

/** The model's test-time rollout (eval-mode BN); `raw` asks for the decoder's unclamped frames. */
export function modelForecaster(model: Predictor, raw = false): Forecaster {
  return async (b) => {
    const ctx = tf.tensor5d(b.sequences.slice(0, b.context * stepSize(b)), [b.context, b.batch, b.height, b.width, b.channels]);
    let y: tf.Tensor5D;
    try {
      y = model.predict(ctx, b.horizon, { raw });
    } finally {
      ctx.dispose();
    }
    try {
      const expect = [b.horizon, b.batch, b.height, b.width, b.channels];
      if (y.shape.length !== 5 || y.shape.some((d, i) => d !== expect[i])) {
        throw new Error(`model.predict returned shape [${y.shape.join(',')}], expected [${expect.join(',')}]`);
      }
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  };
}

/** A rollout on raw arrays, e.g. DataParallel (src/run/parallel.ts) over worker threads. */
export interface ArrayPredictor {
  /** time-major context [K, B, H, W, C] → predicted frames, time-major [horizon, B, H, W, C] */
  predict(context: Float32Array, shape: [number, number, number, number, number], horizon: number, raw?: boolean): Promise<Float32Array>;
}

/** The model's test-time rollout through an ArrayPredictor (same result as modelForecaster up to float rounding). */
export function parallelModelForecaster(pool: ArrayPredictor, raw = false): Forecaster {
  return async (b) => {
    const n = stepSize(b);
    const y = await pool.predict(b.sequences.slice(0, b.context * n), [b.context, b.batch, b.height, b.width, b.channels], b.horizon, raw);
    if (y.length !== b.horizon * n) throw new Error(`parallel predict returned ${y.length} values, expected ${b.horizon * n}`);
    return y;
  };
}

/** Baseline: every predicted frame is the last context frame. */
export const copyLastForecaster: Forecaster = (b) => {
  const n = stepSize(b);
  const last = b.sequences.subarray((b.context - 1) * n, b.context * n);
  const out = new Float32Array(b.horizon * n);
  for (let t = 0; t < b.horizon; t++) out.set(last, t * n);
  return out;
};

/** Baseline: all-black frames. */
export const zerosForecaster: Forecaster = (b) => new Float32Array(b.horizon * stepSize(b));

/** Test helper: the ground truth itself (scores SSIM 1, MSE 0). */
export const oracleForecaster: Forecaster = (b) => {
  const n = stepSize(b);
  return b.sequences.slice(b.context * n, (b.context + b.horizon) * n);
};

export interface ForecastRunOptions {
  context: number;
  horizon: number;
  batch: number;
  /** keep the first `stripCount` sequences (context, truth, prediction of `stripOf`) for a strip image */
  stripCount?: number;
  /** forecaster whose predictions go into the strip (default: the first) */
  stripOf?: string;
  onProgress?: (done: number, total: number) => void;
  /** stop early (returns what has been scored so far, `complete: false`) */
  signal?: AbortSignal;
}

export interface ForecastRunResult {
  reports: Record<string, MetricsReport>;
  /** per forecaster, every frame's scores (for paired comparisons between forecasters) */
  accumulators: Record<string, MetricsAccumulator>;
  strips: StripSequence[];
  count: number;
  complete: boolean;
  seconds: number;
  /** wall time per forecaster (predictions only) and for scoring */
  timing: Record<string, number> & { metrics: number; data: number };
}

/** Score every forecaster on sequences [0, source.count) of `source`. */
export async function runForecasters(
  source: SequenceSource,
  forecasters: Record<string, Forecaster>,
  o: ForecastRunOptions,
): Promise<ForecastRunResult> {
  const names = Object.keys(forecasters);
  const frames = o.context + o.horizon;
  const { height: H, width: W } = source;
  const C = source.channels;
  const hw = H * W * C;
  const acc: Record<string, MetricsAccumulator> = {};
  for (const k of names) acc[k] = new MetricsAccumulator(o.horizon, H, W, C);
  const timing: Record<string, number> & { metrics: number; data: number } = { metrics: 0, data: 0 };
  for (const k of names) timing[k] = 0;
  const strips: StripSequence[] = [];
  const stripCount = o.stripCount ?? 0;
  const stripOf = o.stripOf ?? names[0];
  const t0 = performance.now();
  let done = 0;
  let complete = true;
  while (done < source.count) {
    if (o.signal?.aborted) {
      complete = false;
      break;
    }
    const n = Math.min(o.batch, source.count - done);
    let t = performance.now();
    const seq = await source.read(done, n, frames);
    timing.data += performance.now() - t;
    const truth = seq.subarray(o.context * n * hw, frames * n * hw);
    const batch: ForecastBatch = { sequences: seq, batch: n, context: o.context, horizon: o.horizon, height: H, width: W, channels: C };
    for (const k of names) {
      t = performance.now();
      const pred = await forecasters[k]!(batch);
      timing[k] = timing[k]! + (performance.now() - t);
      if (pred.length !== truth.length) throw new Error(`forecaster ${k} returned ${pred.length} values, expected ${truth.length}`);
      t = performance.now();
      acc[k]!.add(pred, truth, n);
      timing.metrics += performance.now() - t;
      if (k === stripOf) {
        for (let b = 0; b < n && strips.length < stripCount; b++) {
          const frame = (a: Float32Array, tt: number, count: number) => floatToUint8(a.subarray((tt * count + b) * hw, (tt * count + b + 1) * hw));
          strips.push({
            label: `#${done + b}`,
            context: Array.from({ length: o.context }, (_, tt) => frame(seq, tt, n)),
            truth: Array.from({ length: o.horizon }, (_, tt) => frame(seq, o.context + tt, n)),
            prediction: Array.from({ length: o.horizon }, (_, tt) => frame(pred, tt, n)),
          });
        }
      }
    }
    done += n;
    o.onProgress?.(done, source.count);
  }
  const reports: Record<string, MetricsReport> = {};
  for (const k of names) reports[k] = acc[k]!.result();
  for (const k of Object.keys(timing)) timing[k] = timing[k]! / 1000;
  return { reports, accumulators: acc, strips, count: done, complete, seconds: (performance.now() - t0) / 1000, timing };
}
