/** Small timing helpers shared by the benchmark harness and the microbenchmarks. */
import * as tf from '@tensorflow/tfjs';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface TimingOptions {
  warmup?: number;
  repeats?: number;
}

/**
 * Median wall time in milliseconds of `fn` (run inside tf.tidy; its result is read back with
 * dataSync on one element of the first tensor so asynchronous backends finish, then disposed).
 */
export function timeMs(fn: () => tf.TensorContainer, o: TimingOptions = {}): number {
  const warmup = o.warmup ?? 2;
  const repeats = o.repeats ?? 5;
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const t0 = performance.now();
    const out = tf.tidy(fn);
    const first = firstTensor(out);
    if (first) first.dataSync();
    const dt = performance.now() - t0;
    tf.dispose(out);
    if (i >= warmup) times.push(dt);
  }
  return median(times);
}

function firstTensor(c: tf.TensorContainer): tf.Tensor | undefined {
  if (c instanceof tf.Tensor) return c;
  if (Array.isArray(c)) {
    for (const v of c) {
      const t = firstTensor(v as tf.TensorContainer);
      if (t) return t;
    }
  } else if (c && typeof c === 'object') {
    for (const v of Object.values(c)) {
      const t = firstTensor(v as tf.TensorContainer);
      if (t) return t;
    }
  }
  return undefined;
}
