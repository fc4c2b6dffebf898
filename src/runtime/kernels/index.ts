/**
 * Composed kernels that replace slow or missing stock kernels of tfjs 4.22.0's wasm and cpu backends,
 * and wrappers for the webgpu kernels that fail above rank 4, one file each; `registerComposedKernels` installs them (runtime/backend.ts calls it).
 */
import * as tf from '@tensorflow/tfjs';
import { composedConv2DBackpropFilter } from './backprop-filter.js';
import { composedConv2DBackpropInput } from './backprop-input.js';
import { sharedWasmIdentity } from './identity.js';
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput, nativeMatMul, nativeTranspose } from './native.js';
import type { NativeAddon } from './native.js';
import { fastWasmSlice, fastWasmSplitV, fastWasmStridedSlice, fastWasmUnpack } from './slice.js';
import {
  bindingSafeAddN,
  rankSafeBinary,
  rankSafeCum,
  rankSafePad,
  rankSafeReverse,
  rankSafeSelect,
  rankSafeStridedSlice,
  rankSafeTile,
  WEBGPU_BINARY_KERNELS,
} from './webgpu-rank.js';

export { composedConv2DBackpropFilter } from './backprop-filter.js';
export { composedConv2DBackpropInput } from './backprop-input.js';
export { sharedWasmIdentity } from './identity.js';
export { fastWasmSlice, fastWasmSplitV, fastWasmStridedSlice, fastWasmUnpack } from './slice.js';
export { mergeBroadcast, mergePadAxes } from './webgpu-rank.js';

const registered = new Set<string>();
/** the kernels replaced here, by `${backend}/${kernel}` */
const stockKernels = new Map<string, tf.KernelFunc>();

/** The backend's own kernel that a composed one replaced (undefined when none was replaced). */
export function stockKernel(kernelName: string, backendName: string): tf.KernelFunc | undefined {
  return stockKernels.get(`${backendName}/${kernelName}`);
}

function replaceKernel(kernelName: string, backendName: string, make: (stock?: tf.KernelFunc) => unknown): void {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock) {
    stockKernels.set(`${backendName}/${kernelName}`, stock.kernelFunc);
    tf.unregisterKernel(kernelName, backendName);
  }
  tf.registerKernel({ kernelName, backendName, kernelFunc: make(stock?.kernelFunc) as tf.KernelFunc });
}

/** webgpu: the kernels that fail above rank 4 run on merged axes (webgpu-rank.ts). */
function registerWebGpuKernels(): void {
  const wrap = (name: string, make: (stock: tf.KernelFunc) => unknown) => {
    const stock = tf.getKernel(name, 'webgpu');
    if (stock) replaceKernel(name, 'webgpu', () => make(stock.kernelFunc));
  };
  for (const name of WEBGPU_BINARY_KERNELS) wrap(name, (stock) => rankSafeBinary(stock as never));
  wrap('PadV2', (stock) => rankSafePad(stock as never));
  wrap('AddN', (stock) => bindingSafeAddN(stock as never));
  wrap('Tile', (stock) => rankSafeTile(stock as never));
  wrap('Reverse', (stock) => rankSafeReverse(stock as never));
  wrap('Select', (stock) => rankSafeSelect(stock as never));
  wrap('Cumsum', (stock) => rankSafeCum(stock as never));
  wrap('Cumprod', (stock) => rankSafeCum(stock as never));
  wrap('StridedSlice', (stock) => rankSafeStridedSlice(stock as never));
}

/**
 * Install the composed kernels on `backendName`: Conv2DBackpropFilter on wasm and cpu; on wasm only,
 * Conv2DBackpropInput (the stock cpu one is as fast as a cpu Conv2D), copy-free Slice/SplitV/Unpack/
 * StridedSlice and a data-sharing Identity.
 * A no-op elsewhere or when done already.
 */
export function registerComposedKernels(backendName: string): void {
  if (registered.has(backendName)) return;
  if (backendName === 'webgpu') {
    registerWebGpuKernels();
    registered.add(backendName);
    return;
  }
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
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

/** the wasm kernels the native ones replaced, to put back (removeNativeKernels) */
const beforeNative = new Map<string, tf.KernelConfig>();

/**
 * The `native` backend: the wasm backend with its convolutions and matmuls in native code (native.ts).
 * Call after registerComposedKernels('wasm'); the replaced kernels serve as fallbacks.
 */
export function installNativeKernels(addon: NativeAddon): void {
  if (beforeNative.size > 0) return;
  const makers: Record<string, (fallback: tf.KernelFunc) => unknown> = {
    Conv2D: (f) => nativeConv2D(addon, f),
    FusedConv2D: (f) => nativeConv2D(addon, f),
    Conv2DBackpropInput: (f) => nativeConv2DBackpropInput(addon, f),
    Conv2DBackpropFilter: (f) => nativeConv2DBackpropFilter(addon, f),
    BatchMatMul: (f) => nativeMatMul(addon, f),
    _FusedMatMul: (f) => nativeMatMul(addon, f),
    Transpose: (f) => nativeTranspose(addon, f),
  };
  for (const [name, make] of Object.entries(makers)) {
    const current = tf.getKernel(name, 'wasm');
    if (!current) throw new Error(`the wasm backend has no ${name} kernel to replace`);
    beforeNative.set(name, current);
    tf.unregisterKernel(name, 'wasm');
    // the setup (wasm function lookup) stays: the fallback needs it if the backend is made again
    tf.registerKernel({ ...current, kernelFunc: make(current.kernelFunc) as tf.KernelFunc });
  }
}

/** Put the wasm kernels back (tests compare the two in one process). */
export function removeNativeKernels(): void {
  for (const [name, config] of beforeNative) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  beforeNative.clear();
}

export function nativeKernelsInstalled(): boolean {
  return beforeNative.size > 0;
}
