/** Calling another registered kernel of the same backend from inside a composed kernel. */
import * as tf from '@tensorflow/tfjs';

/** Attributes Conv2DBackpropFilter and Conv2DBackpropInput share. */
export interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The argument of a tf.KernelFunc. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Run kernel `name` of `backendName` directly (no tape, no engine bookkeeping); the first output. */
export function runKernel(name: string, backendName: string, backend: tf.KernelBackend, inputs: Record<string, tf.TensorInfo>, attrs: object): tf.TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`kernel ${name} missing on backend ${backendName}`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(out) ? (out[0] as tf.TensorInfo) : (out as tf.TensorInfo);
}

/** runKernel that also records each output in `temps` (the intermediates a composed kernel frees at the end). */
export function tempRunner(backendName: string, backend: tf.KernelBackend, temps: tf.TensorInfo[]) {
  return (name: string, inputs: Record<string, tf.TensorInfo>, attrs: object): tf.TensorInfo => {
    const t = runKernel(name, backendName, backend, inputs, attrs);
    temps.push(t);
    return t;
  };
}
