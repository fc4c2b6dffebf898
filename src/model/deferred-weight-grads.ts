/**
 * Deferred weight gradients: a conv used many times in one graph (the predictor, once per clip step)
 * gets its weight and bias gradients from ONE large kernel over all uses concatenated on the batch
 * axis instead of one per use (the sum over uses is the same).
 */
import * as tf from '@tensorflow/tfjs';
import { backpropFilter, fastPad, type WeightGradSink } from './conv2d-fast.js';
import type { PackedConv } from './conv3d-packed.js';
import { customOp } from './custom-op.js';

/**
 * Collects the (input, output gradient) pairs of every use of one conv during a backward pass, so that
 * its weight and bias gradients are computed ONCE over all uses concatenated on the batch axis (one
 * large weight-gradient kernel instead of one per time step; the sum over uses is the same).
 * Created by `deferWeightGrads`; the tensors it holds belong to the backward pass (saved inputs,
 * accumulated gradients) and are only referenced until the gradient is computed.
 */
export class WeightGradCollector implements WeightGradSink {
  private xs: tf.Tensor4D[] = [];
  private dys: tf.Tensor4D[] = [];

  constructor(
    readonly filterShape: [number, number, number, number],
    readonly stride: 1 | 2,
  ) {}

  add(x: tf.Tensor4D, dy: tf.Tensor4D): void {
    this.xs.push(x);
    this.dys.push(dy);
  }

  get uses(): number {
    return this.xs.length;
  }

  /** [df, db?] summed over all recorded uses (zeros when there were none); clears the record. */
  gradients(withBias: boolean): tf.Tensor[] {
    const xs = this.xs;
    const dys = this.dys;
    this.xs = [];
    this.dys = [];
    const [k, , , cout] = this.filterShape;
    if (xs.length === 0) return withBias ? [tf.zeros(this.filterShape), tf.zeros([cout])] : [tf.zeros(this.filterShape)];
    return tf.tidy(() => {
      // newest use first in the record (backward order); concatenate in forward order
      const x = xs.length === 1 ? xs[0]! : tf.concat([...xs].reverse(), 0);
      const dy = dys.length === 1 ? dys[0]! : tf.concat([...dys].reverse(), 0);
      let df: tf.Tensor4D;
      if (k === 1) {
        // 1×1: a plain matMul x^T·dy (explicit transpose: wasm's transposed-operand matMul is a scalar loop)
        const cin = x.shape[3];
        const rows = x.size / cin;
        df = tf.matMul(x.reshape([rows, cin]).transpose(), dy.reshape([rows, cout])).reshape(this.filterShape);
      } else {
        df = backpropFilter(x, dy, this.filterShape, this.stride, fastPad(k, this.stride));
      }
      // bias: Σ dy over (N,H,W) (measured on par with the ones-vector matMul of sumToChannels here)
      return withBias ? [df, tf.sum(dy, [0, 1, 2])] : [df];
    });
  }
}

/**
 * The conv with deferred weight gradients: its filter (and bias) pass through one identity op whose
 * gradient is computed from all uses recorded by the returned conv's sink. Call inside the tape (e.g.
 * at the start of a loss) once per conv, then use the returned conv for every use; the identity op
 * precedes all uses on the tape, so its gradient runs after every use has recorded (x, dy).
 */
export function deferWeightGrads(k: PackedConv): PackedConv {
  const sink = new WeightGradCollector(k.f.shape, k.stride);
  const withBias = k.bias !== undefined;
  const op = customOp<tf.Tensor4D>(([f]) => ({
    value: f!.reshape(f!.shape) as tf.Tensor4D,
    // dy: the sum of what the uses returned for the filter (zeros from uses with this sink; real
    // gradients from any use that computed its own, e.g. a reversible-backprop stack)
    gradFunc: (dy) => {
      const [df, ...db] = sink.gradients(withBias);
      return [tf.add(dy, df!), ...db];
    },
  }));
  const out: PackedConv = { f: k.bias ? op(k.f, k.bias) : op(k.f), stride: k.stride, sink };
  if (k.bias) out.bias = k.bias;
  if (k.fAdj) out.fAdj = k.fAdj;
  return out;
}
