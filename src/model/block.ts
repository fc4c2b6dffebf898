/**
 * i-RevNet-style reversible 3-D block (see docs/architecture.md, Encoder: i-RevNet 3-D blocks), forward
 * and inverse side by side.
 *
 *   forward:  a = ψ_s(x2),        b = ψ_s(x1) + F(x2)        (the next block gets (x1, x2) ← (a, b))
 *   inverse:  x2 = ψ_s⁻¹(a),      x1 = ψ_s⁻¹(b − F(x2))
 *
 * F (bottleneck, 3×3×3 convs without bias, m = max(1, ⌊c_out/bottleneck⌋)):
 *   u = first ? x2 : ReLU(N0(x2));  u = Conv(u; c_in→m, stride (1,s,s));
 *   u = Conv(ReLU(N1(u)); m→m);     F = Conv(ReLU(N2(u)); m→c_out)
 *
 * Tensors are packed clips [G·B, h, w, 3·c] (packed.ts). Blocks are pure functions of
 * (inputs, prepared filters, running stats, norm context): `prepareBlock` turns the raw parameters
 * into packed conv filters once per loss/predict call, and a reversible-backprop wrapper can pass the
 * filters as explicit inputs (see docs/architecture.md, Reversible backprop).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { couplingForward, couplingInverse } from './coupling.js';
import { conv3dPacked, packedConv, type PackedConv } from './conv3d.js';
import { conv3dPackedInference } from './conv3d-packed.js';
import { evalAffine, normRelu, widenChannels, widenedAffineRelu, type NormContext, type NormParams, type RunningStats } from './norm.js';
import { psiStride, psiStrideInverse } from './psi.js';

export interface BlockSpec {
  /** 0-based position in the encoder */
  index: number;
  stage: number;
  stride: 1 | 2;
  /** block 1 of the network: no pre-activation */
  first: boolean;
  cin: number;
  mid: number;
  cout: number;
  /** spatial size of the input halves */
  height: number;
  width: number;
}

export interface BlockParams {
  norm0?: NormParams;
  conv1: tf.Tensor5D;
  norm1: NormParams;
  conv2: tf.Tensor5D;
  norm2: NormParams;
  conv3: tf.Tensor5D;
}

/** Parameters prepared for the packed layout (one banded filter per conv). */
export interface PreparedBlock {
  norm0?: NormParams;
  conv1: PackedConv;
  norm1: NormParams;
  conv2: PackedConv;
  norm2: NormParams;
  conv3: PackedConv;
}

export function prepareBlock(spec: BlockSpec, p: BlockParams): PreparedBlock {
  const k: PreparedBlock = {
    conv1: packedConv(p.conv1, { stride: spec.stride }),
    norm1: p.norm1,
    conv2: packedConv(p.conv2),
    norm2: p.norm2,
    conv3: packedConv(p.conv3),
  };
  if (p.norm0) k.norm0 = p.norm0;
  return k;
}

/**
 * A block prepared for inference with eval-mode BatchNorm (running statistics, a fixed affine map):
 * N1 and N2 are folded into conv1 and conv2 (filter columns scaled, shift as bias, ReLU fused into the
 * conv kernel); N0 (the pre-activation of the block input, which follows no conv) is one multiply-add
 * with precomputed per-channel vectors. Same function as the eval-mode `residual`, fewer kernels.
 */
export interface FoldedBlock {
  folded: true;
  /** N0 as widened (scale, shift) vectors for widenedAffineRelu; absent for the first block */
  pre0?: [tf.Tensor1D, tf.Tensor1D];
  conv1: PackedConv;
  conv2: PackedConv;
  conv3: PackedConv;
}

/** Fold the running statistics of a batch-norm block into its convolutions (for the rollout). */
export function prepareFoldedBlock(spec: BlockSpec, p: BlockParams, running: BlockRunning): FoldedBlock {
  return tf.tidy(() => {
    const n1 = evalAffine(p.norm1, running.norm1);
    const n2 = evalAffine(p.norm2, running.norm2);
    // conv then per-output-channel affine = conv with the filter's output columns scaled
    const k: FoldedBlock = {
      folded: true,
      conv1: packedConv(tf.mul(p.conv1, n1.scale), { stride: spec.stride, bias: n1.shift, adjoint: false }),
      conv2: packedConv(tf.mul(p.conv2, n2.scale), { bias: n2.shift, adjoint: false }),
      conv3: packedConv(p.conv3, { adjoint: false }),
    };
    if (p.norm0) {
      if (!running.norm0) throw new Error('block: eval mode needs running statistics');
      const n0 = evalAffine(p.norm0, running.norm0);
      // per-sample rows of the packed input: height · width · 3 frames
      k.pre0 = widenChannels(spec.height * spec.width * 3, n0.scale, n0.shift) as [tf.Tensor1D, tf.Tensor1D];
    }
    return k as unknown as tf.TensorContainer;
  }) as unknown as FoldedBlock;
}

/** The tensors a folded block owns. */
export function foldedBlockTensors(k: FoldedBlock): tf.Tensor[] {
  const convs = [k.conv1, k.conv2, k.conv3].flatMap((c) => [c.f, ...(c.bias ? [c.bias] : [])]);
  return [...convs, ...(k.pre0 ?? [])];
}

export interface BlockRunning {
  norm0?: RunningStats;
  norm1: RunningStats;
  norm2: RunningStats;
}

export interface EncoderPlanInput {
  imageSize: readonly [number, number, number] | readonly number[];
  nBlocks: readonly number[];
  strides: readonly number[];
  channels?: readonly number[];
  bottleneck?: number;
}

/**
 * Block list of the encoder. Throws a UserError naming the field when the channel plan is invalid:
 * F(x2) must have the shape of ψ_s(x1) (c_out = c_in for s = 1, 4·c_in for s = 2).
 */
export function planBlocks(cfg: EncoderPlanInput): BlockSpec[] {
  const [h0, w0, cImg] = cfg.imageSize as [number, number, number];
  const mult = cfg.bottleneck ?? 2;
  if (cfg.strides.length !== cfg.nBlocks.length) {
    throw new UserError(`model.strides must have one entry per stage (nBlocks has ${cfg.nBlocks.length}, strides has ${cfg.strides.length})`);
  }
  if (h0 % 2 !== 0 || w0 % 2 !== 0) throw new UserError(`model.imageSize must have even height and width, got ${h0}×${w0}`);
  let c = 2 * cImg;
  let h = h0 / 2;
  let w = w0 / 2;
  const specs: BlockSpec[] = [];
  cfg.nBlocks.forEach((n, stage) => {
    const s = cfg.strides[stage];
    if (s !== 1 && s !== 2) throw new UserError(`model.strides[${stage}] must be 1 or 2 (got ${String(s)})`);
    const want = s === 2 ? 4 * c : c;
    const cout = cfg.channels ? cfg.channels[stage]! : want;
    if (cout !== want) {
      throw new UserError(
        `model.channels[${stage}] must be ${want} (got ${cout}): F(x2) must match ψ_s(x1), so a stride-${s} stage ${s === 2 ? 'quadruples' : 'keeps'} the half width ${c}`,
      );
    }
    for (let j = 0; j < n; j++) {
      const stride = (j === 0 ? s : 1) as 1 | 2;
      if (stride === 2 && (h % 2 !== 0 || w % 2 !== 0)) {
        throw new UserError(`model.imageSize ${h0}×${w0} cannot be halved at stage ${stage} (half size ${h}×${w} is odd)`);
      }
      const cin = c;
      const co = stride === 2 ? 4 * cin : cin;
      specs.push({ index: specs.length, stage, stride, first: specs.length === 0, cin, mid: Math.max(1, Math.floor(co / mult)), cout: co, height: h, width: w });
      c = co;
      if (stride === 2) {
        h /= 2;
        w /= 2;
      }
    }
  });
  return specs;
}

/** Trainable parameter shapes of one block, in a fixed order (also the checkpoint order). */
export function blockParamShapes(spec: BlockSpec): { name: keyof BlockParams; part?: 'gamma' | 'beta'; shape: number[] }[] {
  const out: { name: keyof BlockParams; part?: 'gamma' | 'beta'; shape: number[] }[] = [];
  if (!spec.first) out.push({ name: 'norm0', part: 'gamma', shape: [spec.cin] }, { name: 'norm0', part: 'beta', shape: [spec.cin] });
  out.push({ name: 'conv1', shape: [3, 3, 3, spec.cin, spec.mid] });
  out.push({ name: 'norm1', part: 'gamma', shape: [spec.mid] }, { name: 'norm1', part: 'beta', shape: [spec.mid] });
  out.push({ name: 'conv2', shape: [3, 3, 3, spec.mid, spec.mid] });
  out.push({ name: 'norm2', part: 'gamma', shape: [spec.mid] }, { name: 'norm2', part: 'beta', shape: [spec.mid] });
  out.push({ name: 'conv3', shape: [3, 3, 3, spec.mid, spec.cout] });
  return out;
}

export function blockParamCount(spec: BlockSpec): number {
  return blockParamShapes(spec).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
}

/** Multiply-accumulates of F per clip (T = 3, one sample). */
export function blockMacs(spec: BlockSpec): number {
  const hw = spec.height * spec.width;
  const hwOut = hw / (spec.stride * spec.stride);
  return 3 * 27 * (hwOut * spec.cin * spec.mid + hwOut * spec.mid * spec.mid + hwOut * spec.mid * spec.cout);
}

/** Residual function F_k of a block on packed x2 [N,h,w,3c_in] → [N,h/s,w/s,3c_out]. */
export function residual(spec: BlockSpec, k: PreparedBlock | FoldedBlock, running: BlockRunning | undefined, x2: tf.Tensor4D, ctx: NormContext): tf.Tensor4D {
  if ('folded' in k) {
    if (ctx.mode !== 'eval') throw new Error('block: folded blocks are for eval mode only');
    return tf.tidy(() => {
      const u = k.pre0 ? widenedAffineRelu(x2, k.pre0[0], k.pre0[1]) : x2;
      const v = conv3dPackedInference(conv3dPackedInference(u, k.conv1, true), k.conv2, true);
      return conv3dPackedInference(v, k.conv3);
    });
  }
  return tf.tidy(() => {
    let u = x2;
    if (!spec.first) u = normRelu(u, k.norm0!, running?.norm0, ctx);
    u = conv3dPacked(u, k.conv1);
    u = conv3dPacked(normRelu(u, k.norm1, running?.norm1, ctx), k.conv2);
    return conv3dPacked(normRelu(u, k.norm2, running?.norm2, ctx), k.conv3);
  });
}

/** (x1, x2) → (a, b) = (ψ_s(x2), ψ_s(x1) + F(x2)). */
export function blockForward(
  spec: BlockSpec,
  k: PreparedBlock | FoldedBlock,
  running: BlockRunning | undefined,
  x1: tf.Tensor4D,
  x2: tf.Tensor4D,
  ctx: NormContext,
): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const [b] = couplingForward(psiStride(x1, spec.stride), x2, (u) => residual(spec, k, running, u, ctx));
    return [psiStride(x2, spec.stride), b] as [tf.Tensor4D, tf.Tensor4D];
  });
}

/** (a, b) → (x1, x2) = (ψ_s⁻¹(b − F(x2)), ψ_s⁻¹(a)). */
export function blockInverse(
  spec: BlockSpec,
  k: PreparedBlock | FoldedBlock,
  running: BlockRunning | undefined,
  a: tf.Tensor4D,
  b: tf.Tensor4D,
  ctx: NormContext,
): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const x2 = psiStrideInverse(a, spec.stride);
    const [u1] = couplingInverse(b, x2, (u) => residual(spec, k, running, u, ctx));
    return [psiStrideInverse(u1, spec.stride), x2] as [tf.Tensor4D, tf.Tensor4D];
  });
}
