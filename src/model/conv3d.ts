/**
 * 3×3×3 convolutions over T = 3 frames written as 2-D convolutions on the packed layout (see
 * docs/architecture.md, Packed layout). This family of modules is the one place that knows how; no
 * tf.conv3d (wrong gradients and slow on wasm 4.22.0). This file is the model's entry point; the parts:
 *  - conv3d-packed.ts: the model path on the packed layout (packedConv, conv3dPacked).
 *  - conv2d-fast.ts: the conv2d with a fast input gradient every path runs on.
 *  - deferred-weight-grads.ts: one weight-gradient kernel for all uses of a conv (deferWeightGrads).
 * The time-major folded `conv3d` and its implementation variants, used only by benchmarks and as a
 * reference in tests, live in src/bench/conv3d-variants.ts.
 *
 * Weights are held in the canonical PyTorch-permuted form w[kd,kh,kw,Cin,Cout] (= [3,3,3,Cin,Cout]);
 * PyTorch [Cout,Cin,kd,kh,kw] → permute(2,3,4,1,0). Temporal padding is 'same' (zero frames at
 * t = −1 and t = 3); spatial padding is 1 on each side, stride (1,1,1) or (1,2,2) (PyTorch parity).
 */
export { conv3dPacked, packedConv, type PackedConv } from './conv3d-packed.js';
export { deferWeightGrads } from './deferred-weight-grads.js';
