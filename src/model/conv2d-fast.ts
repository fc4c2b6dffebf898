/**
 * 2-D convolution with a fast input gradient, the building block of every conv3d path (conv3d.ts):
 * dx is a forward conv2d of dy with the flipped, transposed kernel (stride 2: dy dilated with zeros
 * first) because wasm's Conv2DBackpropInput is a scalar loop (~8× slower than XNNPACK's forward
 * conv); dW is the Conv2DBackpropFilter kernel (runtime/kernels/).
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';
import { sumToChannels } from './ops.js';

/**
 * Where a use of a conv hands its (input, output gradient) pair instead of computing its own weight
 * gradient; deferred-weight-grads.ts implements it and computes the gradient once over all uses.
 */
export interface WeightGradSink {
  readonly filterShape: [number, number, number, number];
  readonly stride: 1 | 2;
  add(x: tf.Tensor4D, dy: tf.Tensor4D): void;
}

export type Pad = 'same' | [[number, number], [number, number], [number, number], [number, number]];
const PAD1: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
/** spatial padding of a 3×3 conv: stride 1 → 'same' (= 1/1), stride 2 → explicit 1/1 (PyTorch parity) */
export function spatialPad(stride: 1 | 2): Pad {
  return stride === 1 ? 'same' : PAD1;
}

/** Padding of conv2dFast for a k×k kernel and stride. */
export function fastPad(k: number, stride: 1 | 2): Pad {
  return k === 1 ? 'same' : spatialPad(stride);
}

/** Insert zeros between rows and columns: [N,h,w,C] → [N,2h,2w,C], value at even positions. */
export function dilate2(dy: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = dy.shape;
  return tf.tidy(() =>
    dy
      .reshape([n, h, 1, w, 1, c])
      .pad([[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
      .reshape([n, 2 * h, 2 * w, c]),
  );
}

/** The conv weight gradient (the Conv2DBackpropFilter kernel) of a conv2d of x, given its output gradient dy. */
export function backpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], stride: 1 | 2, pad: Pad): tf.Tensor4D {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [stride, stride],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * f[kh,kw,ci,co] → f'[kh,kw,co,ci] rotated by 180° in (kh,kw): the taps of the [kh·kw, ci·co] view in
 * reverse order (an axis-0 split + concat: wasm's Reverse and GatherV2 kernels are ~10× slower), then
 * ci ↔ co.
 */
export function flipTranspose2d(f: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = f.shape;
  const taps = kh * kw;
  return tf.tidy(() => {
    const rows = taps === 1 ? f.reshape([1, ci, co]) : tf.concat(tf.split(f.reshape([taps, ci, co]), taps, 0).reverse(), 0);
    return rows.transpose([0, 2, 1]).reshape([kh, kw, co, ci]);
  });
}

/**
 * conv2d with a 3×3 or 1×1 kernel (3×3: stride 1 'same' or stride 2 with explicit 1/1 padding;
 * 1×1: stride 1), optional bias. Gradients: dx = conv2d(dy [dilated for stride 2], flipped kernel),
 * df = Conv2DBackpropFilter, db = Σ dy. With a `sink` (deferWeightGrads) the weight and bias
 * gradients of this use are not computed here: (x, dy) is handed to the sink, which computes them
 * once for all uses of the conv, and zeros are returned for f and the bias.
 */
export function conv2dFast(x: tf.Tensor4D, f: tf.Tensor4D, stride: 1 | 2 = 1, bias?: tf.Tensor1D, fAdjoint?: tf.Tensor4D, sink?: WeightGradSink): tf.Tensor4D {
  const k = f.shape[0];
  if (f.shape[1] !== k || (k !== 3 && k !== 1)) throw new Error(`conv2dFast: kernel must be 3×3 or 1×1, got ${f.shape}`);
  if (k === 1 && stride !== 1) throw new Error('conv2dFast: 1×1 kernels need stride 1');
  if (sink && (sink.stride !== stride || !tf.util.arraysEqual(sink.filterShape, f.shape))) throw new Error('conv2dFast: the weight-gradient sink belongs to another conv');
  const pad: Pad = fastPad(k, stride);
  const op = customOp<tf.Tensor4D>(([xi, fi, bi], save) => {
    const x4 = xi as tf.Tensor4D;
    const f4 = fi as tf.Tensor4D;
    // the adjoint kernel (flipped, in/out swapped) for dx; precomputed by packedConv when given
    save([x4, fAdjoint ?? flipTranspose2d(f4)]);
    const value = bi ? tf.fused.conv2d({ x: x4, filter: f4, strides: stride, pad, bias: bi }) : tf.conv2d(x4, f4, stride, pad);
    return {
      value,
      gradFunc: (d, saved) => {
        const [xs, fa] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.tidy(() => tf.conv2d(stride === 2 ? dilate2(d) : d, fa, 1, 'same'));
        if (sink) {
          sink.add(xs, d);
          return bi ? [dx, tf.zeros(f.shape), tf.zeros(bi.shape)] : [dx, tf.zeros(f.shape)];
        }
        const df = backpropFilter(xs, d, f.shape, stride, pad);
        return bi ? [dx, df, sumToChannels(d)] : [dx, df];
      },
    };
  });
  return bias ? op(x, f, bias) : op(x, f);
}
