/**
 * The axis arithmetic and run-time helpers of the webgpu rank wrappers (webgpu-rank.ts): which adjacent axes
 * an op lets merge, and reshaping on the backend with the intermediates released.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';

export const BACKEND = 'webgpu';
/** the highest rank the stock programs handle */
export const MAX_RANK = 4;

export type Stock = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Run-time helpers over the backend: reshape (shares the data) and release of intermediates. */
export function ops(backend: tf.KernelBackend) {
  const reshapeKernel = tf.getKernel('Reshape', BACKEND)!.kernelFunc;
  const temps: TensorInfo[] = [];
  const reshape = (x: TensorInfo, shape: number[], keep = false): TensorInfo => {
    if (tf.util.arraysEqual(x.shape, shape)) return x;
    const y = reshapeKernel({ inputs: { x }, backend, attrs: { shape } }) as TensorInfo;
    if (!keep) temps.push(y);
    return y;
  };
  const release = () => {
    for (const t of temps) backend.disposeData(t.dataId);
    temps.length = 0;
  };
  /** `y` reshaped to `shape` as the kernel's output; `y` itself is released. */
  const result = (y: TensorInfo, shape: number[]): TensorInfo => {
    if (tf.util.arraysEqual(y.shape, shape)) return y;
    const out = reshape(y, shape, true);
    backend.disposeData(y.dataId);
    return out;
  };
  return { reshape, release, result };
}

export const first = (out: TensorInfo | TensorInfo[]): TensorInfo => (Array.isArray(out) ? out[0]! : out);
export const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * Broadcast shapes with adjacent axes merged where both operands either span the output axis or
 * are broadcast along it (size-1 output axes dropped). Exported for the tests.
 */
export function mergeBroadcast(aShape: readonly number[], bShape: readonly number[]): { a: number[]; b: number[]; out: number[] } {
  const out = tf.backend_util.assertAndGetBroadcastShape([...aShape], [...bShape]);
  const r = out.length;
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const a: number[] = [];
  const b: number[] = [];
  const m: number[] = [];
  let last = -1;
  for (let i = 0; i < r; i++) {
    if (out[i] === 1) continue;
    const status = (pa[i] === out[i] ? 1 : 0) | (pb[i] === out[i] ? 2 : 0);
    if (status === last) {
      const k = m.length - 1;
      m[k]! *= out[i]!;
      if (status & 1) a[k]! *= out[i]!;
      if (status & 2) b[k]! *= out[i]!;
    } else {
      m.push(out[i]!);
      a.push(status & 1 ? out[i]! : 1);
      b.push(status & 2 ? out[i]! : 1);
      last = status;
    }
  }
  return { a, b, out: m };
}

/**
 * Axis groups for an op that acts on the axes in `marked` only and whose effect on an axis carries
 * the unmarked axes after it along as contiguous blocks (pad, tile): each marked axis starts a group
 * with the unmarked axes that follow it; the leading unmarked axes form one group.
 */
export function groupsAfterMarked(rank: number, marked: ReadonlySet<number>): number[][] {
  const groups: number[][] = [];
  for (let i = 0; i < rank; i++) {
    if (marked.has(i) || groups.length === 0) groups.push([i]);
    else groups[groups.length - 1]!.push(i);
  }
  return groups;
}

/** Merged shape and paddings for padding the axes in `stage` of `shape` (the others unpadded). */
export function mergePadAxes(shape: readonly number[], stage: ReadonlySet<number>, paddings: readonly (readonly [number, number])[]): { shape: number[]; pads: [number, number][] } {
  const groups = groupsAfterMarked(shape.length, stage);
  return {
    shape: groups.map((g) => prod(g.map((i) => shape[i]!))),
    pads: groups.map((g) => {
      if (!stage.has(g[0]!)) return [0, 0];
      const inner = prod(g.slice(1).map((i) => shape[i]!));
      return [paddings[g[0]!]![0] * inner, paddings[g[0]!]![1] * inner];
    }),
  };
}

/** Runs of adjacent axes with the same `key` (one merged axis each). */
export function runsOf(rank: number, key: (i: number) => string | number | boolean): number[][] {
  const runs: number[][] = [];
  for (let i = 0; i < rank; i++) {
    const last = runs[runs.length - 1];
    if (last && key(last[0]!) === key(i)) last.push(i);
    else runs.push([i]);
  }
  return runs;
}
