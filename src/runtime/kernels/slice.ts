/**
 * Slice / SplitV / Unpack / StridedSlice for wasm without the full-input copy.
 *
 * The stock wasm Slice reads its input with backend.readSync, which copies the WHOLE input out of the
 * wasm heap (HEAPU8.slice) on every call, then copies the slice in JS (rank 5+: a generic element
 * loop). Splitting a tensor into k parts therefore copies it k times. These kernels read through a
 * heap view and copy whole contiguous runs, so a slice costs what it returns, not what its input holds.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';

interface WasmBackendLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Slice of `x` ([begin, begin+size) per axis) into a new wasm tensor; copies only what it returns. */
function wasmSliceInfo(backend: WasmBackendLike, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const n = tf.util.sizeFromShape(size);
  if (n === 0) return out;
  // Views AFTER makeOutput: allocating may grow (and detach) the wasm heap.
  const ov = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const shape = x.shape;
  const rank = shape.length;
  if (rank === 0) {
    ov[0] = xv[0]!;
    return out;
  }
  const strides = tf.util.computeStrides(shape);
  const stride = (d: number) => (d === rank - 1 ? 1 : strides[d]!);
  // Merge the trailing axes that are taken whole into one contiguous run per outer index.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const run = size[k]! * (k === rank - 1 ? 1 : stride(k));
  const outer = size.slice(0, k);
  const idx = new Array<number>(k).fill(0);
  const total = outer.reduce((a, b) => a * b, 1);
  let o = 0;
  for (let r = 0; r < total; r++) {
    let off = begin[k]! * stride(k);
    for (let d = 0; d < k; d++) off += (begin[d]! + idx[d]!) * stride(d);
    if (run > 32) ov.set(xv.subarray(off, off + run), o);
    else for (let j = 0; j < run; j++) ov[o + j] = xv[off + j]!;
    o += run;
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d]! < outer[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function isWasmLike(b: unknown): b is WasmBackendLike {
  return typeof (b as WasmBackendLike).typedArrayFromHeap === 'function' && typeof (b as WasmBackendLike).makeOutput === 'function';
}

export function fastWasmSlice(fallback?: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    if (x.dtype === 'string' || !isWasmLike(args.backend)) {
      if (!fallback) throw new Error('fast Slice: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
    }
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    return wasmSliceInfo(args.backend, x, b, s);
  };
}

export function fastWasmSplitV(fallback?: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo[] => {
    const x = args.inputs.x as TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    if (x.dtype === 'string' || !isWasmLike(args.backend)) {
      if (!fallback) throw new Error('fast SplitV: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo[];
    }
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    const backend = args.backend;
    return sizes.map((n) => {
      const size = [...x.shape];
      size[ax] = n;
      const t = wasmSliceInfo(backend, x, begin, size);
      begin[ax]! += n;
      return t;
    });
  };
}

export function fastWasmUnpack(fallback?: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo[] => {
    const x = args.inputs.value as TensorInfo;
    if (x.dtype === 'string' || !isWasmLike(args.backend)) {
      if (!fallback) throw new Error('fast Unpack: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo[];
    }
    let { axis } = args.attrs as unknown as { axis: number };
    if (axis < 0) axis += x.shape.length;
    const outShape = x.shape.filter((_, i) => i !== axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    const size = [...x.shape];
    size[axis] = 1;
    const backend = args.backend;
    return Array.from({ length: x.shape[axis]! }, (_, i) => {
      begin[axis] = i;
      const t = wasmSliceInfo(backend, x, begin, size);
      return { dataId: t.dataId, dtype: t.dtype, shape: outShape };
    });
  };
}

/** StridedSlice: the stride-1 cases (which the stock kernel sends through its copying Slice) copy-free. */
export function fastWasmStridedSlice(fallback?: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const a = args.attrs as unknown as {
      begin: number[];
      end: number[];
      strides: number[];
      beginMask: number;
      endMask: number;
      ellipsisMask: number;
      newAxisMask: number;
      shrinkAxisMask: number;
    };
    const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    if (x.dtype === 'string' || !isWasmLike(args.backend) || info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
      if (!fallback) throw new Error('fast StridedSlice: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
    }
    const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
    const t = wasmSliceInfo(args.backend, x, info.begin, size);
    return { dataId: t.dataId, dtype: t.dtype, shape: info.finalShape };
  };
}
