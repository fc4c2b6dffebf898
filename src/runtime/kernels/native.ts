/**
 * The `native` backend's kernels: the wasm backend's Conv2D, FusedConv2D, Conv2DBackpropInput,
 * Conv2DBackpropFilter, BatchMatMul, _FusedMatMul and Transpose run in native code (native/src/crevnet_native.c:
 * im2col around a CBLAS sgemm) on the same heap, so every other kernel and all tensors stay the wasm
 * backend's. Anything the native code does not cover (NCHW, non-float inputs, PReLU, a batch broadcast
 * other than 1-to-n) goes to the kernel it replaced.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';

/** The addon's functions (native/src/crevnet_native.c; loaded by ../native-addon.ts, which the browser never loads). */
export interface NativeAddon {
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, bias: Float32Array | null, dims: Int32Array, activation: number, alpha: number): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array | null, dims: Int32Array, activation: number, alpha: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** the BLAS's own threads per call, process-wide (1 after loading: crevnet's worker pool provides the parallelism) */
  setThreads(n: number): void;
  describe(): { blas: string; threads: number };
}

/** the slice of BackendWasm the kernels use */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5 };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const allFloat = (...ts: (TensorInfo | undefined)[]) => ts.every((t) => t === undefined || t.dtype === 'float32');

function convDims(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outHeight,
    info.outWidth,
  );
}

type Fallback = tf.KernelFunc;
const fallbackTo = (fallback: Fallback, args: KernelArgs) => fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;

/** Conv2D and FusedConv2D (bias of one value or one per output channel; every activation but prelu). */
export function nativeConv2D(addon: NativeAddon, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = (args.attrs ?? {}) as Record<string, unknown>;
    const activation = (a.activation as string | undefined) ?? 'linear';
    const act = ACTIVATIONS[activation];
    const cout = filter!.shape[3]!;
    if (
      (a.dataFormat ?? 'NHWC') !== 'NHWC' ||
      act === undefined ||
      preluActivationWeights ||
      !allFloat(x, filter, bias) ||
      (bias && size(bias.shape) !== 1 && size(bias.shape) !== cout)
    ) {
      return fallbackTo(fallback, args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filter!.shape as [number, number, number, number],
      a.strides as number | [number, number],
      (a.dilations as number | [number, number] | undefined) ?? 1,
      a.pad as 'valid',
      a.dimRoundingMode as 'floor' | undefined,
    );
    const heap = args.backend as WasmHeap;
    // the output first: making it may grow the heap, which detaches views taken before
    const out = heap.makeOutput(info.outShape, 'float32');
    if (size(info.outShape) === 0) return out;
    addon.conv2d(
      heap.typedArrayFromHeap(x!),
      heap.typedArrayFromHeap(filter!),
      heap.typedArrayFromHeap(out),
      bias ? heap.typedArrayFromHeap(bias) : null,
      convDims(info),
      act,
      Number(a.leakyreluAlpha || 0) // as the wasm kernel: no alpha means 0,
    );
    return out;
  };
}

/**
 * A conv gradient: `shapeAttr` names the attribute with the output's shape (inputShape: dx, filterShape: dW), the
 * geometry is that of the forward conv from x's shape (`xShape`) and the filter's, and `call` runs the addon.
 */
function nativeConvGradient(
  fallback: Fallback,
  shapeAttr: 'inputShape' | 'filterShape',
  geometry: (inputs: Record<string, TensorInfo>, out: [number, number, number, number]) => { xShape: [number, number, number, number]; filterShape: [number, number, number, number] },
  call: (heap: WasmHeap, inputs: Record<string, TensorInfo>, out: TensorInfo, dims: Int32Array) => void,
) {
  return (args: KernelArgs): TensorInfo => {
    const inputs = args.inputs as Record<string, TensorInfo>;
    const a = (args.attrs ?? {}) as Record<string, unknown>;
    if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || !allFloat(...Object.values(inputs))) return fallbackTo(fallback, args);
    const outShape = a[shapeAttr] as [number, number, number, number];
    const { xShape, filterShape } = geometry(inputs, outShape);
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides as number | [number, number], 1, a.pad as 'valid', a.dimRoundingMode as 'floor' | undefined);
    const heap = args.backend as WasmHeap;
    const out = heap.makeOutput([...outShape], 'float32');
    if (size(outShape) > 0) call(heap, inputs, out, convDims(info));
    return out;
  };
}

export function nativeConv2DBackpropInput(addon: NativeAddon, fallback: Fallback) {
  return nativeConvGradient(
    fallback,
    'inputShape',
    ({ filter }, dxShape) => ({ xShape: dxShape, filterShape: filter!.shape as [number, number, number, number] }),
    (heap, { dy, filter }, dx, dims) => addon.conv2dBackpropInput(heap.typedArrayFromHeap(dy!), heap.typedArrayFromHeap(filter!), heap.typedArrayFromHeap(dx), dims),
  );
}

export function nativeConv2DBackpropFilter(addon: NativeAddon, fallback: Fallback) {
  return nativeConvGradient(
    fallback,
    'filterShape',
    ({ x }, dwShape) => ({ xShape: x!.shape as [number, number, number, number], filterShape: dwShape }),
    (heap, { x, dy }, dw, dims) => addon.conv2dBackpropFilter(heap.typedArrayFromHeap(x!), heap.typedArrayFromHeap(dy!), heap.typedArrayFromHeap(dw), dims),
  );
}

/** BatchMatMul and _FusedMatMul (batch dims equal, or all ones on one side; bias of one value or one per column). */
export function nativeMatMul(addon: NativeAddon, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const at = (args.attrs ?? {}) as Record<string, unknown>;
    const act = ACTIVATIONS[(at.activation as string | undefined) ?? 'linear'];
    const ta = Boolean(at.transposeA);
    const tb = Boolean(at.transposeB);
    const ra = a!.shape.length;
    const rb = b!.shape.length;
    if (act === undefined || preluActivationWeights || !allFloat(a, b, bias) || ra < 2 || rb < 2) return fallbackTo(fallback, args);
    const outerA = a!.shape.slice(0, -2);
    const outerB = b!.shape.slice(0, -2);
    const batchA = size(outerA);
    const batchB = size(outerB);
    const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    if (!sameOuter && batchA !== 1 && batchB !== 1) return fallbackTo(fallback, args);
    const M = ta ? a!.shape[ra - 1]! : a!.shape[ra - 2]!;
    const K = ta ? a!.shape[ra - 2]! : a!.shape[ra - 1]!;
    const kb = tb ? b!.shape[rb - 1]! : b!.shape[rb - 2]!;
    const N = tb ? b!.shape[rb - 2]! : b!.shape[rb - 1]!;
    if (kb !== K || (bias && size(bias.shape) !== 1 && size(bias.shape) !== N)) return fallbackTo(fallback, args);
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = Math.max(batchA, batchB);
    const heap = args.backend as WasmHeap;
    const out = heap.makeOutput([...outer, M, N], 'float32');
    if (batch * M * N === 0) return out;
    addon.matmul(
      heap.typedArrayFromHeap(a!),
      heap.typedArrayFromHeap(b!),
      heap.typedArrayFromHeap(out),
      bias ? heap.typedArrayFromHeap(bias) : null,
      Int32Array.of(batch, batchA, batchB, M, N, K, ta ? 1 : 0, tb ? 1 : 0),
      act,
      Number(at.leakyreluAlpha || 0),
    );
    return out;
  };
}

/** Transpose of float32 tensors (the wasm kernel's strided C loop is 10× slower on the packed layout's shapes); a permutation that moves only size-1 axes stays the wasm kernel's (no copy). */
export function nativeTranspose(addon: NativeAddon, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs as { perm: number[] }).perm;
    const moved = perm.filter((p) => x.shape[p] !== 1);
    if (x.dtype !== 'float32' || perm.length > 8 || moved.every((p, i) => i === 0 || p > moved[i - 1]!)) return fallbackTo(fallback, args);
    const heap = args.backend as WasmHeap;
    const out = heap.makeOutput(perm.map((p) => x.shape[p]!), 'float32');
    if (size(x.shape) > 0) addon.transpose(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(out), Int32Array.from(x.shape), Int32Array.from(perm));
    return out;
  };
}
