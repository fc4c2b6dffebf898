/**
 * Deterministic parameter initialisation from a seed (same numbers on every backend and machine):
 * PyTorch defaults — conv kernels and biases U(±1/√fan_in), BN γ = 1, β = 0, running mean 0, var 1.
 */
import * as tf from '@tensorflow/tfjs';

/** splitmix32-style generator: 32-bit state, uniform floats in [0,1). */
export class InitRng {
  private s: number;
  constructor(seed: number) {
    this.s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  }
}

export function uniformValues(rng: InitRng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

export function uniformTensor(rng: InitRng, shape: number[], fanIn: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(uniformValues(rng, size, 1 / Math.sqrt(fanIn)), shape, 'float32');
}
