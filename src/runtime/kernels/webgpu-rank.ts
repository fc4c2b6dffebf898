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
 * and without a shader error: Tile at rank ≥ 5 (and so tf.broadcastTo) reads its input
 * synchronously, which is impossible in Node; Select (tf.where), Cumsum and Cumprod reject rank 5+;
 * Reverse at rank 5+ fails its internal 4-D reshape. Not about rank: AddN binds every input at
 * once and its pipeline fails with more inputs than the device's maxStorageBuffersPerShaderStage − 1
 * (a rollout loss sums one term per step).
 *
 * Each wrapper merges adjacent axes that the op treats alike (a free reshape on webgpu), calls the
 * stock kernel on the merged shape, and reshapes the result back; when merging alone cannot reach
 * rank 4, the op is applied in stages over a few axes at a time.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';
import { BACKEND, first, groupsAfterMarked, MAX_RANK, mergeBroadcast, mergePadAxes, ops, prod, runsOf, type Stock } from './webgpu-axes.js';

export { mergeBroadcast, mergePadAxes } from './webgpu-axes.js';

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

/** A binary kernel that merges axes above rank 4 (see the file comment). */
export function rankSafeBinary(stock: Stock) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const names = Object.keys(args.inputs);
    const [an, bn] = names as [string, string];
    const a = args.inputs[an] as TensorInfo;
    const b = args.inputs[bn] as TensorInfo;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (outShape.length <= MAX_RANK) return stock(args);
    const merged = mergeBroadcast(a.shape, b.shape);
    // still above rank 4: neither operand is 1-D (that merges to ≤ 2 axes), so the stock shader is valid
    if (merged.out.length > MAX_RANK) return stock(args);
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

/** Tile on merged axes: a tiled axis absorbs the untiled axes after it; stages of 3 above rank 4. */
export function rankSafeTile(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const { reps } = args.attrs as unknown as { reps: number[] };
    if (x.shape.length <= MAX_RANK) return first(stock(args));
    const backend = args.backend as tf.KernelBackend;
    const tiled = reps.map((r, i) => (r !== 1 ? i : -1)).filter((i) => i >= 0);
    if (tiled.length === 0) return first(tf.getKernel('Identity', BACKEND)!.kernelFunc({ inputs: { x }, backend, attrs: {} }));
    let y = x;
    for (let s = 0; s < tiled.length; s += MAX_RANK - 1) {
      const stage = new Set(tiled.slice(s, s + MAX_RANK - 1));
      const groups = groupsAfterMarked(y.shape.length, stage);
      const o = ops(backend);
      try {
        const merged = o.reshape(y, groups.map((g) => prod(g.map((i) => y.shape[i]!))));
        const z = first(stock({ ...args, inputs: { x: merged }, attrs: { reps: groups.map((g) => (stage.has(g[0]!) ? reps[g[0]!]! : 1)) } }));
        const next = o.result(z, y.shape.map((d, i) => (stage.has(i) ? d * reps[i]! : d)));
        if (y !== x) backend.disposeData(y.dataId);
        y = next;
      } finally {
        o.release();
      }
    }
    return y;
  };
}

/** Reverse on merged axes: reversing adjacent axes together reverses their merged axis. */
export function rankSafeReverse(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    if (x.shape.length <= MAX_RANK) return first(stock(args));
    const backend = args.backend as tf.KernelBackend;
    const { dims } = args.attrs as unknown as { dims: number | number[] };
    const axes = new Set(tf.util.parseAxisParam(dims, x.shape));
    const runs = runsOf(x.shape.length, (i) => axes.has(i));
    // above rank 4 (alternating axes): one reversed run at a time
    const stages = runs.length <= MAX_RANK ? [runs.filter((r) => axes.has(r[0]!))] : runs.filter((r) => axes.has(r[0]!)).map((r) => [r]);
    let y = x;
    for (const stage of stages) {
      const on = new Set(stage.flat());
      const groups = runsOf(y.shape.length, (i) => (on.has(i) ? `r${stage.findIndex((r) => r.includes(i))}` : 'keep'));
      const o = ops(backend);
      try {
        const merged = o.reshape(y, groups.map((g) => prod(g.map((i) => y.shape[i]!))));
        const rev = groups.map((g, j) => (on.has(g[0]!) ? j : -1)).filter((j) => j >= 0);
        const z = first(stock({ ...args, inputs: { x: merged }, attrs: { dims: rev } }));
        const next = o.result(z, [...x.shape]);
        if (y !== x) backend.disposeData(y.dataId);
        y = next;
      } finally {
        o.release();
      }
    }
    return y;
  };
}

/** Select (tf.where) above rank 4: the condition has t's shape (flatten all) or is 1-D over axis 0. */
export function rankSafeSelect(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
    if (t.shape.length <= MAX_RANK) return first(stock(args));
    const o = ops(args.backend as tf.KernelBackend);
    try {
      const n = prod(t.shape);
      const c = condition.shape.length === t.shape.length ? o.reshape(condition, [n]) : condition;
      const shape = condition.shape.length === t.shape.length ? [n] : [t.shape[0]!, n / t.shape[0]!];
      const z = first(stock({ ...args, inputs: { condition: c, t: o.reshape(t, shape), e: o.reshape(e, shape) } }));
      return o.result(z, [...t.shape]);
    } finally {
      o.release();
    }
  };
}

/** Cumsum / Cumprod above rank 4: [before, axis, after] (the scan runs along one axis). */
export function rankSafeCum(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    if (x.shape.length <= MAX_RANK) return first(stock(args));
    const { axis } = args.attrs as unknown as { axis: number };
    const a = axis < 0 ? axis + x.shape.length : axis;
    const o = ops(args.backend as tf.KernelBackend);
    try {
      const merged = [prod(x.shape.slice(0, a)), x.shape[a]!, prod(x.shape.slice(a + 1))];
      const z = first(stock({ ...args, inputs: { x: o.reshape(x, merged) }, attrs: { ...args.attrs, axis: 1 } }));
      return o.result(z, [...x.shape]);
    } finally {
      o.release();
    }
  };
}

/**
 * StridedSlice above rank 4 that is not a plain slice: axes taken whole merge with their neighbours,
 * the others keep their own begin/stride; with more than 4 axes left, one sliced axis per stage.
 */
export function rankSafeStridedSlice(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    if (x.shape.length <= MAX_RANK) return first(stock(args));
    const a = args.attrs as unknown as { begin: number[]; end: number[]; strides: number[]; beginMask: number; endMask: number; ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number };
    const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    // the stock kernel handles these without a StridedSliceProgram; with a shrink axis tfjs-core's
    // finalShapeSparse lacks that axis (every backend fails alike)
    const plain = info.isIdentity || info.sliceDim0 || info.isSimpleSlice;
    if (plain || info.finalShapeSparse.length !== x.shape.length || info.finalShapeSparse.some((n) => n === 0)) return first(stock(args));
    const backend = args.backend as tf.KernelBackend;
    const n = info.finalShapeSparse;
    const touched = x.shape.map((d, i) => (info.begin[i] === 0 && info.strides[i] === 1 && n[i] === d ? -1 : i)).filter((i) => i >= 0);
    const whole = (stage: ReadonlySet<number>) => runsOf(x.shape.length, (i) => (stage.has(i) ? `s${i}` : 'whole'));
    const all = new Set(touched);
    const stages = whole(all).length <= MAX_RANK ? [all] : touched.map((i) => new Set([i]));
    let y = x;
    for (const stage of stages) {
      const groups = whole(stage);
      const o = ops(backend);
      try {
        const merged = o.reshape(y, groups.map((g) => prod(g.map((i) => y.shape[i]!))));
        let endMask = 0;
        const begin: number[] = [];
        const end: number[] = [];
        const strides: number[] = [];
        groups.forEach((g, j) => {
          const i = g[0]!;
          if (!stage.has(i)) {
            begin.push(0);
            end.push(merged.shape[j]!);
            strides.push(1);
            return;
          }
          const b = info.begin[i]!;
          const st = info.strides[i]!;
          // one step past the last element taken; below 0 (negative stride) only the end mask can say it
          const e = st > 0 ? b + (n[i]! - 1) * st + 1 : b + n[i]! * st;
          if (e < 0) endMask |= 1 << j;
          begin.push(b);
          end.push(Math.max(e, 0));
          strides.push(st);
        });
        const z = first(
          stock({
            ...args,
            inputs: { x: merged },
            attrs: { begin, end, strides, beginMask: 0, endMask, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
          }),
        );
        const next = o.result(z, y.shape.map((d, i) => (stage.has(i) ? n[i]! : d)));
        if (y !== x) backend.disposeData(y.dataId);
        y = next;
      } finally {
        o.release();
      }
    }
    if (tf.util.arraysEqual(y.shape, info.finalShape)) return y;
    const o = ops(backend);
    return o.result(y, info.finalShape);
  };
}

/** AddN in chunks that fit the device's storage-buffer bindings (one is the output). */
export function bindingSafeAddN(stock: Stock) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as tf.KernelBackend & { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } };
    const limit = Math.max(2, (backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
    // AddN's inputs are an array (the kernel signature's map type notwithstanding)
    const xs = Object.values(args.inputs) as TensorInfo[];
    const call = (ts: TensorInfo[]) => first(stock({ ...args, inputs: ts as unknown as tf.NamedTensorInfoMap }));
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
        const y = call(chunk);
        owned.add(y);
        next.push(y);
      }
      for (const t of parts) if (owned.has(t) && !next.includes(t)) backend.disposeData(t.dataId);
      parts = next;
    }
    const y = call(parts);
    for (const t of parts) if (owned.has(t)) backend.disposeData(t.dataId);
    return y;
  };
}
