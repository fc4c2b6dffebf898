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
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { runKernel, tempRunner, type ConvBackpropAttrs, type KernelArgs } from './run-kernel.js';

interface BackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

export function composedConv2DBackpropFilter(backendName: string) {
  return (args: KernelArgs): TensorInfo => {
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
    const call = tempRunner(backendName, backend, temps);
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
      const out = runKernel('Transpose', backendName, backend, { x: sliced }, { perm: [1, 2, 0, 3] });
      return out;
    } finally {
      for (const t of temps) if (t !== x) backend.disposeData(t.dataId);
    }
  };
}
