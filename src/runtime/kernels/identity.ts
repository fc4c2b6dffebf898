/**
 * Identity (tensor.clone(), and every tensor a gradient function saves) sharing the input's data:
 * the stock wasm kernel copies the whole tensor (~1,200 copies per `small` training step). Tensors are
 * immutable and the wasm backend reference-counts data ids (its Reshape shares data the same way), so
 * sharing is safe; the cpu backend's Identity does the same.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './run-kernel.js';

export function sharedWasmIdentity(fallback?: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as tf.KernelBackend & { incRef?: (id: object) => void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') {
      if (!fallback) throw new Error('shared Identity: unsupported input and no stock kernel');
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}
