/**
 * A composed Conv2DBackpropFilter kernel (conv weight gradient) for the wasm and cpu backends.
 * wasm has none in tfjs 4.22.0 and the stock cpu one is a scalar JS loop (~17x slower).
 *
 *   dW[kh,kw,ci,co] = Σ_{b,i,j} x_pad[b, s·i+kh, s·j+kw, ci] · dy[b,i,j,co]
 *
 * is one valid conv2d of x_pad^T [Cin,Hp,Wp,B] with dy^T [Ho,Wo,B,Cout] as the filter and
 * dilation s, so it runs on the backend's fast Conv2D (XNNPACK on wasm).
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type KernelBackend = tf.KernelBackend;

interface BackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

const registered = new Set<string>();

function run(name: string, backendName: string, backend: KernelBackend, inputs: Record<string, TensorInfo>, attrs: object): TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`kernel ${name} missing on backend ${backendName}`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(out) ? (out[0] as TensorInfo) : (out as TensorInfo);
}

export function composedConv2DBackpropFilter(backendName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo => {
    const backend = args.backend as KernelBackend;
    const x = args.inputs.x as TensorInfo;
    const dy = args.inputs.dy as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as BackpropFilterAttrs;
    if (dataFormat !== undefined && dataFormat !== 'NHWC') {
      throw new Error(`composed Conv2DBackpropFilter supports NHWC only, got ${dataFormat}`);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (info.strideHeight !== info.strideWidth) throw new Error('composed Conv2DBackpropFilter needs equal strides');
    const s = info.strideHeight;
    const [kh, kw, cin, cout] = filterShape;
    const { top, bottom, left, right } = info.padInfo;
    const temps: TensorInfo[] = [];
    const call = (name: string, inputs: Record<string, TensorInfo>, attrs: object) => {
      const t = run(name, backendName, backend, inputs, attrs);
      temps.push(t);
      return t;
    };
    try {
      const xPad =
        top || bottom || left || right
          ? call('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 })
          : x;
      const xT = call('Transpose', { x: xPad }, { perm: [3, 1, 2, 0] });
      const dyT = call('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
      const conv = call('Conv2D', { x: xT, filter: dyT }, {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [s, s],
        dimRoundingMode: undefined,
      });
      const sliced = conv.shape[1] === kh && conv.shape[2] === kw ? conv : call('Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
      const out = run('Transpose', backendName, backend, { x: sliced }, { perm: [1, 2, 0, 3] });
      return out;
    } finally {
      for (const t of temps) if (t !== x) backend.disposeData(t.dataId);
    }
  };
}

interface BackpropInputAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * Composed Conv2DBackpropInput (conv input gradient) for wasm, whose stock kernel is a scalar C++ loop
 * ~10x slower than its XNNPACK Conv2D (measured: [12,16,16,24]→24, 10.1 ms vs 1.0 ms).
 *
 *   dx = valid conv2d of dy_dilated (s−1 zeros between rows/cols), padded by K−1−pad on the leading side,
 *        with the spatially flipped filter, channels swapped: W_f[kh,kw,co,ci] = W[K−1−kh,K−1−kw,ci,co]
 *
 * Stride 1 needs one Conv2D with explicit padding; stride s > 1 first inserts zeros with a
 * reshape + PadV2 + reshape. Unsupported cases (NCHW, a leading pad > K−1) use the stock kernel.
 */
export function composedConv2DBackpropInput(backendName: string, fallback?: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo => {
    const backend = args.backend as KernelBackend;
    const dy = args.inputs.dy as TensorInfo;
    const filter = args.inputs.filter as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as BackpropInputAttrs;
    const filterShape = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, 1, pad, dimRoundingMode);
    const [kh, kw, cin, cout] = filterShape;
    const [n, h, w] = inputShape;
    const { strideHeight: sh, strideWidth: sw } = info;
    const [, ho, wo] = dy.shape as [number, number, number, number];
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    if ((dataFormat !== undefined && dataFormat !== 'NHWC') || top < 0 || left < 0) {
      if (!fallback) throw new Error('composed Conv2DBackpropInput: unsupported attributes and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
    }
    const temps: TensorInfo[] = [];
    const call = (name: string, inputs: Record<string, TensorInfo>, attrs: object) => {
      const t = run(name, backendName, backend, inputs, attrs);
      temps.push(t);
      return t;
    };
    try {
      let src = dy;
      let lh = ho;
      let lw = wo;
      if (sh > 1 || sw > 1) {
        const r6 = call('Reshape', { x: dy }, { shape: [n, ho, 1, wo, 1, cout] });
        const p6 = call('PadV2', { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
        lh = ho * sh;
        lw = wo * sw;
        src = call('Reshape', { x: p6 }, { shape: [n, lh, lw, cout] });
      }
      let bottom = h + kh - 1 - top - lh;
      let right = w + kw - 1 - left - lw;
      if (bottom < 0 || right < 0) {
        // Trailing dy rows/cols that only reach the forward's bottom/right padding: drop them.
        lh += Math.min(0, bottom);
        lw += Math.min(0, right);
        src = call('Slice', { x: src }, { begin: [0, 0, 0, 0], size: [n, lh, lw, cout] });
        bottom = Math.max(0, bottom);
        right = Math.max(0, right);
      }
      const flipped = call('Reverse', { x: filter }, { dims: [0, 1] });
      const wf = call('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
      const out = run('Conv2D', backendName, backend, { x: src, filter: wf }, {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: undefined,
      });
      void cin;
      return out;
    } finally {
      for (const t of temps) if (t !== dy) backend.disposeData(t.dataId);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Slice / SplitV / Unpack / StridedSlice for wasm without the full-input copy.
//
// The stock wasm Slice reads its input with backend.readSync, which copies the WHOLE input out of the
// wasm heap (HEAPU8.slice) on every call, then copies the slice in JS (rank 5+: a generic element
// loop). Splitting a tensor into k parts therefore copies it k times. These kernels read through a
// heap view and copy whole contiguous runs (measured: [68,16,16,24], 4 rows of axis 0: 0.76 → 0.05 ms;
// [4,20,64,64,1] frames 5..8 of axis 1: 21 → 0.10 ms; unstack axis 1 of it: 159 → 0.17 ms; the
// StridedSlice calls of a small-config training step: 87 → 10 ms).

interface WasmBackendLike extends KernelBackend {
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
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo => {
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
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
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
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo[] => {
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
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo => {
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

/**
 * Identity (tensor.clone(), and every tensor a gradient function saves) sharing the input's data:
 * the stock wasm kernel copies the whole tensor (~1,200 copies per `small` training step). Tensors are
 * immutable and the wasm backend reference-counts data ids (its Reshape shares data the same way), so
 * sharing is safe; the cpu backend's Identity does the same.
 */
export function sharedWasmIdentity(fallback?: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const backend = args.backend as KernelBackend & { incRef?: (id: object) => void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') {
      if (!fallback) throw new Error('shared Identity: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
    }
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

function replaceKernel(kernelName: string, backendName: string, make: (stock?: tf.KernelFunc) => unknown): void {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc: make(stock?.kernelFunc) as tf.KernelFunc });
}

/**
 * Install the composed kernels on `backendName`: Conv2DBackpropFilter on wasm and cpu; on wasm only,
 * Conv2DBackpropInput (the stock cpu one is as fast as a cpu Conv2D), copy-free Slice/SplitV/Unpack/
 * StridedSlice and a data-sharing Identity.
 * A no-op elsewhere or when done already.
 */
export function registerComposedKernels(backendName: string): void {
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
  if (registered.has(backendName)) return;
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: composedConv2DBackpropFilter(backendName) as unknown as tf.KernelFunc,
  });
  if (backendName === 'wasm') {
    replaceKernel('Conv2DBackpropInput', backendName, (stock) => composedConv2DBackpropInput(backendName, stock));
    replaceKernel('Slice', backendName, fastWasmSlice);
    replaceKernel('SplitV', backendName, fastWasmSplitV);
    replaceKernel('Unpack', backendName, fastWasmUnpack);
    replaceKernel('StridedSlice', backendName, fastWasmStridedSlice);
    replaceKernel('Identity', backendName, sharedWasmIdentity);
  }
  registered.add(backendName);
}
