/**
 * How the worker pool (parallel.ts) divides work: the thread count a setting resolves to on a backend, and
 * the split of a time-major batch into per-thread shards and back.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { InternalError } from '../runtime/errors.js';

/** `train.workers`: a count, or 'auto' = min(2, available cores) on the single-threaded wasm/cpu backends, 1 elsewhere (always 1 on webgpu). */
export type WorkersSetting = number | 'auto';

/** Threads (main included) a training step uses for `setting` on `backend`. */
export function resolveWorkers(setting: WorkersSetting, backend: string = tf.getBackend()): number {
  // one GPU per process: workers would each open the device, and the pool exchanges weights by synchronous reads
  if (backend === 'webgpu') return 1;
  if (setting !== 'auto') {
    if (!Number.isInteger(setting) || setting < 1) throw new InternalError(`workers must be a positive integer or 'auto', got ${String(setting)}`);
    return setting;
  }
  // tfjs-node (tensorflow) runs its kernels multi-threaded already
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** Samples per shard: batch split over at most `shards` shards, sizes differing by at most one, larger first. */
export function shardSizes(batch: number, shards: number): number[] {
  const n = Math.max(1, Math.min(batch, shards));
  return Array.from({ length: n }, (_, i) => Math.floor(batch / n) + (i < batch % n ? 1 : 0));
}

/** Samples [start, start+count) of a time-major [T, B, ...rest] array (each frame's samples are contiguous). */
export function sliceSamples<A extends Float32Array | Uint8Array>(data: A, frames: number, batch: number, start: number, count: number): A {
  const per = data.length / (frames * batch);
  if (!Number.isInteger(per) || start < 0 || count < 1 || start + count > batch) throw new InternalError(`sliceSamples: bad range ${start}+${count} of ${batch}`);
  const out = new (data.constructor as new (n: number) => A)(frames * count * per);
  for (let t = 0; t < frames; t++) out.set(data.subarray((t * batch + start) * per, (t * batch + start + count) * per), t * count * per);
  return out;
}

/** Inverse of sliceSamples: write a time-major [T, count, ...rest] shard at samples [start, start+count) of `out` ([T, B, ...rest]). */
export function placeSamples(out: Float32Array, shard: Float32Array, frames: number, batch: number, start: number, count: number): void {
  const per = out.length / (frames * batch);
  if (!Number.isInteger(per) || start < 0 || count < 1 || start + count > batch || shard.length !== frames * count * per) {
    throw new InternalError(`placeSamples: bad shard ${start}+${count} of ${batch} (${shard.length} values)`);
  }
  for (let t = 0; t < frames; t++) out.set(shard.subarray(t * count * per, (t + 1) * count * per), (t * batch + start) * per);
}
