/**
 * tfjs-backend-webgpu 4.22.0 kernels that fail above rank 4, run on a merged shape of rank ≤ 4.
 *
 * Its shader generator declares rank-5/6 coordinates as structs (`vec5`, `vec6`) but some programs
 * index them like vectors, which is invalid WGSL ("cannot index type 'vec5'"): the shader does not
 * compile and the output is left as garbage. Found in:
 *  - BinaryOpProgram when one operand is a short 1-D vector (< 128, e.g. a per-channel scale):
 *    its shared-memory path reads `coords[rank − 1]`;
 *  - PadProgram at any rank 5/6 (`uniforms.xShape[i]`), e.g. the zero-dilation of a stride-2 conv's
 *    input gradient [N,h,1,w,1,C] → [N,h,2,w,2,C];
 *  - StridedSliceProgram at rank 5/6 with non-unit strides (`coords[i]`);
 * and, not about rank: AddN binds every input at once and fails its pipeline with more inputs
 * than the device's maxStorageBuffersPerShaderStage − 1 (a rollout loss sums one term per step).
 * And, without a shader error: Tile at rank ≥ 5 reads its input synchronously (impossible in Node),
 * Select (tf.where) rejects rank 5+, and Reverse at rank 5+ fails its internal 4-D reshape.
 *
 * Each wrapper merges adjacent axes that the op treats alike (a free reshape on webgpu), calls the
 * stock kernel on the merged shape, and reshapes the result back; when merging alone cannot reach
 * rank 4, the op is applied in stages over a few axes at a time.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';

const BACKEND = 'webgpu';
/** the highest rank the stock programs handle */
const MAX_RANK = 4;

/** kernels built on BinaryOpProgram (two inputs, broadcasting) */
export const WEBGPU_BINARY_KERNELS = [
  'Add',
  'Atan2',
  'Equal',
  'FloorDiv',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalOr',
  'Maximum',
  'Minimum',
  'Mod',
  'Multiply',
  'NotEqual',
  'Pow',
  'RealDiv',
  'SquaredDifference',
  'Sub',
] as const;

type Stock = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Run-time helpers over the backend: reshape (shares the data) and release of intermediates. */
function ops(backend: tf.KernelBackend) {
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

const first = (out: TensorInfo | TensorInfo[]): TensorInfo => (Array.isArray(out) ? out[0]! : out);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

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

/** A binary kernel that merges axes above rank 4 (see the file comment). */
export function rankSafeBinary(kernelName: string, stock: Stock) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const names = Object.keys(args.inputs);
    const [an, bn] = names as [string, string];
    const a = args.inputs[an] as TensorInfo;
    const b = args.inputs[bn] as TensorInfo;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (outShape.length <= MAX_RANK) return stock(args);
    const merged = mergeBroadcast(a.shape, b.shape);
    if (merged.out.length > MAX_RANK) {
      throw new Error(`webgpu ${kernelName}: broadcasting ${JSON.stringify(a.shape)} with ${JSON.stringify(b.shape)} needs ${merged.out.length} axes; at most ${MAX_RANK} are supported`);
    }
    const o = ops(args.backend as tf.KernelBackend);
    try {
      const y = first(stock({ ...args, inputs: { [an]: o.reshape(a, merged.a.length ? merged.a : [1]), [bn]: o.reshape(b, merged.b.length ? merged.b : [1]) } }));
      return o.result(y, outShape);
    } finally {
      o.release();
    }
  };
}

/**
 * PadV2 on merged axes: a padded axis absorbs the unpadded axes after it (its rows are contiguous
 * blocks), leading unpadded axes merge into one; above rank 4 the padded axes go in stages of 3.
 */
export function rankSafePad(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
    if (x.shape.length <= MAX_RANK) return first(stock(args));
    const backend = args.backend as tf.KernelBackend;
    const padded = paddings.map((p, i) => (p[0] !== 0 || p[1] !== 0 ? i : -1)).filter((i) => i >= 0);
    if (padded.length === 0) return first(tf.getKernel('Identity', BACKEND)!.kernelFunc({ inputs: { x }, backend, attrs: {} }));
    let y = x;
    for (let s = 0; s < padded.length; s += MAX_RANK - 1) {
      const stage = new Set(padded.slice(s, s + MAX_RANK - 1));
      const { shape, pads } = mergePadAxes(y.shape, stage, paddings);
      const o = ops(backend);
      try {
        const z = first(stock({ ...args, inputs: { x: o.reshape(y, shape) }, attrs: { paddings: pads, constantValue } as unknown as tf.NamedAttrMap }));
        const next = o.result(z, y.shape.map((d, i) => (stage.has(i) ? d + paddings[i]![0] + paddings[i]![1] : d)));
        if (y !== x) backend.disposeData(y.dataId);
        y = next;
      } finally {
        o.release();
      }
    }
    return y;
  };
}

/** Merged shape and paddings for padding the axes in `stage` of `shape` (the others unpadded). */
export function mergePadAxes(shape: readonly number[], stage: ReadonlySet<number>, paddings: readonly (readonly [number, number])[]): { shape: number[]; pads: [number, number][] } {
  const out: number[] = [];
  const pads: [number, number][] = [];
  for (let i = 0; i < shape.length; i++) {
    if (stage.has(i)) {
      let inner = 1;
      let j = i + 1;
      while (j < shape.length && !stage.has(j)) inner *= shape[j++]!;
      out.push(shape[i]! * inner);
      pads.push([paddings[i]![0] * inner, paddings[i]![1] * inner]);
      i = j - 1;
    } else {
      // the leading unpadded axes (later ones are absorbed by the padded axis before them)
      let n = 1;
      let j = i;
      while (j < shape.length && !stage.has(j)) n *= shape[j++]!;
      out.push(n);
      pads.push([0, 0]);
      i = j - 1;
    }
  }
  return { shape: out, pads };
}

/** AddN in chunks that fit the device's storage-buffer bindings (one is the output). */
export function bindingSafeAddN(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as tf.KernelBackend & { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };
    const limit = Math.max(2, (backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
    const xs = Object.values(args.inputs) as TensorInfo[];
    if (xs.length <= limit) return first(stock(args));
    let parts = xs;
    const owned = new Set<TensorInfo>();
    while (parts.length > limit) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < parts.length; i += limit) {
        const chunk = parts.slice(i, i + limit);
        if (chunk.length === 1) {
          next.push(chunk[0]!);
          continue;
        }
        const y = first(stock({ ...args, inputs: Object.fromEntries(chunk.map((t, j) => [String(j), t])) }));
        owned.add(y);
        next.push(y);
      }
      for (const t of parts) if (owned.has(t) && !next.includes(t)) backend.disposeData(t.dataId);
      parts = next;
    }
    const y = first(stock({ ...args, inputs: Object.fromEntries(parts.map((t, j) => [String(j), t])) }));
    for (const t of parts) if (owned.has(t)) backend.disposeData(t.dataId);
    return y;
  };
}
