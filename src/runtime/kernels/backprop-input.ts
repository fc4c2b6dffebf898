/**
 * Composed Conv2DBackpropInput (conv input gradient) for wasm, whose stock kernel is a scalar C++ loop
 * about 10x slower than its XNNPACK Conv2D at the model's shapes.
 *
 *   dx = valid conv2d of dy_dilated (s−1 zeros between rows/cols), padded by K−1−pad on the leading side,
 *        with the spatially flipped filter, channels swapped: W_f[kh,kw,co,ci] = W[K−1−kh,K−1−kw,ci,co]
 *
 * Stride 1 needs one Conv2D with explicit padding; stride s > 1 first inserts zeros with a
 * reshape + PadV2 + reshape. Unsupported cases (NCHW, a leading pad > K−1) use the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { runKernel, tempRunner, type ConvBackpropAttrs, type KernelArgs } from './run-kernel.js';

interface BackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

export function composedConv2DBackpropInput(backendName: string, fallback?: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo => {
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
    const call = tempRunner(backendName, backend, temps);
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
      const out = runKernel('Conv2D', backendName, backend, { x: src, filter: wf }, {
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
