/**
 * CrevNet: reversible 3-D autoencoder + reversible ST-ConvLSTM predictor (architecture.md).
 *
 * Sequences are time-major [T,B,H,W,C]; a clip X_j = frames j..j+2 is a slice of axis 0. Inside, clips
 * and latents use the packed layout (packed.ts: [N,h,w,3c]). Clips whose encoder input is known in
 * advance (teacher forcing: all 17) are encoded in ONE batched pass with G groups ([3, G·B, H, W, C],
 * built from 3 contiguous slices), and decoder outputs that are not fed back are decoded in one
 * batched pass; each group keeps its own BatchNorm statistics and the running-stat updates are
 * applied in the reference order (E₁, D₁, E₂, D₂, …), so the numbers equal 17 separate calls.
 * Raw parameters are turned into packed conv filters once per loss/predict call (`kernels()`).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { decode, encode, type AutoencoderKernels } from './autoencoder.js';
import {
  blockMacs,
  blockParamCount,
  blockParamShapes,
  planBlocks,
  prepareBlock,
  type BlockParams,
  type BlockRunning,
  type BlockSpec,
} from './block.js';
import { validateConfig, type ModelConfig } from './config.js';
import { deferWeightGrads, type PackedConv } from './conv3d.js';
import { InitRng, uniformTensor } from './init.js';
import { concatRows, sumSquaredError } from './ops.js';
import { RunningStatsCollector, type NormContext, type NormMode, type NormParams, type RunningStats } from './norm.js';
import {
  disposeState,
  layerMacsPerPosition,
  layerParamCount,
  layerParamShapes,
  predictorStep,
  prepareLayer,
  zeroState,
  type LayerKernels,
  type LayerParams,
  type PredictorState,
} from './predictor.js';
import { reversibleDecode, reversibleEncode } from './reversible-grad.js';

export type LossMode = 'teacher' | 'rollout';

export interface LossOptions {
  /** 'teacher' (paper, default) or 'rollout' (test-time loop as the training graph) */
  mode?: LossMode;
  /** known frames K for 'rollout' (default config.train.context, clamped to T) */
  context?: number;
  /**
   * compute each predictor weight's gradient once over all clip steps (default true) instead of once
   * per step; the same gradient up to float summation order (false = the per-use reference path)
   */
  deferWeightGrads?: boolean;
}

export interface NamedWeight {
  /** checkpoint name, e.g. encoder/block3/conv1, predictor/layer0/g1/kernel */
  name: string;
  variable: tf.Variable;
  trainable: boolean;
  part: 'encoder' | 'predictor';
}

export interface ParamCounts {
  total: number;
  encoder: number;
  predictor: number;
}

/** Parameter counts from shapes alone (no tensors are created). */
export function paramCountsFor(config: ModelConfig): ParamCounts {
  const specs = planBlocks(config);
  const encoder = specs.reduce((a, s) => a + blockParamCount(s), 0);
  const c = specs[specs.length - 1]!.cout;
  const predictor = config.predictorLayers * layerParamCount(c);
  return { total: encoder + predictor, encoder, predictor };
}

/** Latent half shape per clip and sample: [T=3, h, w, C]. */
export function latentShapeFor(config: ModelConfig): [number, number, number, number] {
  const specs = planBlocks(config);
  const last = specs[specs.length - 1]!;
  return [3, last.height / last.stride, last.width / last.stride, last.cout];
}

/** Convolution MACs per sample: encoder (=decoder) per clip, predictor per step. */
export function macsFor(config: ModelConfig): { encoderPerClip: number; predictorPerStep: number } {
  const specs = planBlocks(config);
  const [t, h, w, c] = latentShapeFor(config);
  return {
    encoderPerClip: specs.reduce((a, s) => a + blockMacs(s), 0),
    predictorPerStep: config.predictorLayers * layerMacsPerPosition(c) * t * h * w,
  };
}

/** Rows [start, start+count) of a tensor, untaped use only (StridedSlice is C++ on wasm; Slice copies the whole input first). */
function sliceRows(x: tf.Tensor4D, start: number, count: number): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  return tf.stridedSlice(x, [start, 0, 0, 0], [start + count, h, w, c], [1, 1, 1, 1]) as tf.Tensor4D;
}

/**
 * Clips X_start..X_{start+count−1} of a time-major sequence as one time-major batch
 * [3, count·B, H, W, C] (row g·B + b = sample b of clip start+g): three contiguous slices.
 */
function clipBatch(seq: tf.Tensor5D, start: number, count: number): tf.Tensor5D {
  const [, b, h, w, c] = seq.shape;
  return tf.tidy(() => {
    if (count === 1) return seq.slice([start, 0, 0, 0, 0], [3, b, h, w, c]);
    const frames = [0, 1, 2].map((t) => seq.slice([start + t, 0, 0, 0, 0], [count, b, h, w, c]));
    return tf.concat(frames, 0).reshape<tf.Tensor5D>([3, count * b, h, w, c]);
  });
}

/**
 * Next encoder input of the test-time loop after decoding Y (time-major clip for frames i..i+2):
 * known frames are written back into slots 0/1 for i = K−2 and i = K−1 (architecture.md §7).
 */
function nextInput(y: tf.Tensor5D, i: number, k: number, known: tf.Tensor5D): tf.Tensor5D {
  const [, b, h, w, c] = y.shape;
  if (i === k - 2) return concatRows<tf.Tensor5D>([known.slice([k - 2, 0, 0, 0, 0], [2, b, h, w, c]), tf.split(y, [2, 1], 0)[1] as tf.Tensor5D]);
  if (i === k - 1) return concatRows<tf.Tensor5D>([known.slice([k - 1, 0, 0, 0, 0], [1, b, h, w, c]), tf.split(y, [1, 2], 0)[1] as tf.Tensor5D]);
  return y;
}

function deferLayerGrads(l: LayerKernels): LayerKernels {
  return { g1: deferWeightGrads(l.g1), g2: deferWeightGrads(l.g2), o: deferWeightGrads(l.o), w11: deferWeightGrads(l.w11), att: deferWeightGrads(l.att) };
}

/** Parameters prepared for the packed layout. */
interface ModelKernels {
  autoencoder: AutoencoderKernels;
  layers: LayerKernels[];
}

export class CrevNet {
  readonly config: ModelConfig;
  readonly blocks: readonly BlockSpec[];
  /** latent half width C */
  readonly latentChannels: number;
  private readonly encParams: BlockParams[];
  private readonly encRunning: (BlockRunning | undefined)[];
  private readonly predParams: LayerParams[];
  private readonly weights: NamedWeight[];
  private disposed = false;

  private constructor(config: ModelConfig, init: (name: string, shape: number[], kind: 'conv' | 'bias' | 'gamma' | 'beta' | 'rmean' | 'rvar', fanIn: number) => tf.Tensor) {
    this.config = config;
    this.blocks = planBlocks(config);
    this.latentChannels = this.blocks[this.blocks.length - 1]!.cout;
    this.weights = [];
    const make = (name: string, shape: number[], kind: Parameters<typeof init>[2], fanIn: number, part: 'encoder' | 'predictor'): tf.Variable => {
      const trainable = kind !== 'rmean' && kind !== 'rvar';
      const v = tf.tidy(() => tf.variable(init(name, shape, kind, fanIn), trainable));
      this.weights.push({ name, variable: v, trainable, part });
      return v;
    };
    const useBatch = config.norm === 'batch';
    this.encParams = [];
    this.encRunning = [];
    this.predParams = [];
    try {
      this.build(config, make, useBatch);
    } catch (err) {
      for (const w of this.weights) w.variable.dispose();
      throw err;
    }
  }

  private build(
    config: ModelConfig,
    make: (name: string, shape: number[], kind: 'conv' | 'bias' | 'gamma' | 'beta' | 'rmean' | 'rvar', fanIn: number, part: 'encoder' | 'predictor') => tf.Variable,
    useBatch: boolean,
  ): void {
    for (const spec of this.blocks) {
      const base = `encoder/block${spec.index + 1}`;
      const p: Partial<BlockParams> = {};
      const r: Partial<BlockRunning> = {};
      for (const item of blockParamShapes(spec)) {
        if (item.part) {
          if (item.part === 'beta') continue;
          const key = item.name as 'norm0' | 'norm1' | 'norm2';
          const gamma = make(`${base}/${key}/gamma`, item.shape, 'gamma', 1, 'encoder') as unknown as tf.Tensor1D;
          const beta = make(`${base}/${key}/beta`, item.shape, 'beta', 1, 'encoder') as unknown as tf.Tensor1D;
          p[key] = { gamma, beta } satisfies NormParams;
          if (useBatch) {
            r[key] = {
              mean: make(`${base}/${key}/running_mean`, item.shape, 'rmean', 1, 'encoder'),
              variance: make(`${base}/${key}/running_var`, item.shape, 'rvar', 1, 'encoder'),
            } satisfies RunningStats;
          }
        } else {
          const key = item.name as 'conv1' | 'conv2' | 'conv3';
          const [, , , cin] = item.shape as [number, number, number, number, number];
          p[key] = make(`${base}/${key}`, item.shape, 'conv', 27 * cin, 'encoder') as unknown as tf.Tensor5D;
        }
      }
      this.encParams.push(p as BlockParams);
      this.encRunning.push(useBatch ? (r as BlockRunning) : undefined);
    }
    const c = this.latentChannels;
    for (let l = 0; l < config.predictorLayers; l++) {
      const base = `predictor/layer${l}`;
      const v: Record<string, tf.Variable> = {};
      for (const item of layerParamShapes(c)) {
        const isKernel = item.name.endsWith('/kernel');
        const kernelShape = layerParamShapes(c).find((q) => q.name === item.name.replace('/bias', '/kernel'))!.shape;
        const fanIn = kernelShape.length === 5 ? 27 * kernelShape[3]! : kernelShape[0]!;
        v[item.name] = make(`${base}/${item.name}`, item.shape, isKernel ? 'conv' : 'bias', fanIn, 'predictor');
      }
      const t = <T extends tf.Tensor>(k: string) => v[k] as unknown as T;
      this.predParams.push({
        cell: {
          g1: { w: t('g1/kernel'), b: t('g1/bias') },
          g2: { w: t('g2/kernel'), b: t('g2/bias') },
          o: { w: t('o/kernel'), b: t('o/bias') },
          w11: { w: t('w11/kernel'), b: t('w11/bias') },
        },
        att: { w: t('att/kernel'), b: t('att/bias') },
      });
    }
  }

  /** New model with deterministic PyTorch-default initialisation from `seed`. */
  static create(config: ModelConfig, seed = 0): CrevNet {
    const cfg = validateConfig(config, `config "${config.name}"`);
    const rng = new InitRng(seed);
    return new CrevNet(cfg, (_name, shape, kind, fanIn) => {
      switch (kind) {
        case 'conv':
        case 'bias':
          return uniformTensor(rng, shape, fanIn);
        case 'gamma':
        case 'rvar':
          return tf.ones(shape);
        default:
          return tf.zeros(shape);
      }
    });
  }

  /**
   * Model from named tensors (checkpoint load). Every weight of the config must be present with the
   * right shape; throws UserError naming the first problem. The tensors are copied.
   */
  static fromWeights(config: ModelConfig, tensors: ReadonlyMap<string, tf.Tensor>, source = 'weights'): CrevNet {
    const cfg = validateConfig(config, `config "${config.name}"`);
    const seen = new Set<string>();
    const model = new CrevNet(cfg, (name, shape) => {
      const t = tensors.get(name);
      if (!t) throw new UserError(`${source}: weight "${name}" is missing (the checkpoint does not match config "${cfg.name}")`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new UserError(`${source}: weight "${name}" has shape [${t.shape.join(',')}], config "${cfg.name}" needs [${shape.join(',')}]`);
      }
      if (t.dtype !== 'float32') throw new UserError(`${source}: weight "${name}" has dtype ${t.dtype}, expected float32`);
      seen.add(name);
      return t.clone();
    });
    const extra = [...tensors.keys()].filter((k) => !seen.has(k));
    if (extra.length > 0) {
      model.dispose();
      throw new UserError(`${source}: unexpected weight "${extra[0]}" (the checkpoint does not match config "${cfg.name}")`);
    }
    return model;
  }

  /** Trainable variables (conv kernels, biases, norm γ/β), in a fixed order. */
  trainableVariables(): tf.Variable[] {
    return this.weights.filter((w) => w.trainable).map((w) => w.variable);
  }

  /** Every weight incl. BN running statistics (non-trainable), in checkpoint order. */
  namedWeights(): readonly NamedWeight[] {
    return this.weights;
  }

  paramCounts(): ParamCounts {
    let encoder = 0;
    let predictor = 0;
    for (const w of this.weights) {
      if (!w.trainable) continue;
      if (w.part === 'encoder') encoder += w.variable.size;
      else predictor += w.variable.size;
    }
    return { total: encoder + predictor, encoder, predictor };
  }

  /** Latent half shape per sample [3,h,w,C]. */
  latentShape(): [number, number, number, number] {
    return latentShapeFor(this.config);
  }

  /** Packed conv filters etc. for one loss/predict call (tensors; dispose or build inside a tidy). */
  private kernels(): ModelKernels {
    return { autoencoder: this.autoencoderKernels(), layers: this.predParams.map((p) => prepareLayer(p)) };
  }

  private autoencoderKernels(): AutoencoderKernels {
    return { specs: this.blocks, kernels: this.blocks.map((spec, i) => prepareBlock(spec, this.encParams[i]!)), running: this.encRunning };
  }

  private static disposeKernels(k: ModelKernels): void {
    const out: tf.Tensor[] = [];
    const add = (c: PackedConv) => out.push(c.f, ...(c.bias ? [c.bias] : []), ...(c.fAdj ? [c.fAdj] : []));
    for (const b of k.autoencoder.kernels) for (const c of [b.conv1, b.conv2, b.conv3]) add(c);
    for (const l of k.layers) for (const c of [l.g1, l.g2, l.o, l.w11, l.att]) add(c);
    tf.dispose(out);
  }

  private normContext(mode: NormMode, groups: number, keys?: number[], collector?: RunningStatsCollector): NormContext {
    const ctx: NormContext = { mode, kind: this.config.norm, groups };
    if (keys) ctx.keys = keys;
    if (collector) ctx.collector = collector;
    return ctx;
  }

  private runEncode(k: ModelKernels, x: tf.Tensor5D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
    if (this.config.reversibleBackprop && ctx.mode === 'train') return reversibleEncode(k.autoencoder, x, ctx);
    return encode(k.autoencoder, x, ctx);
  }

  private runDecode(k: ModelKernels, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext): tf.Tensor5D {
    if (this.config.reversibleBackprop && ctx.mode === 'train') return reversibleDecode(k.autoencoder, z1, z2, ctx);
    return decode(k.autoencoder, z1, z2, ctx);
  }

  /**
   * E on time-major clips [3,N,H,W,C] → packed latent halves [N,h,w,3c] each (see packed.ts).
   * mode 'train' uses batch statistics per group and updates running stats, 'eval' running stats.
   */
  encode(clip: tf.Tensor5D, mode: NormMode = 'eval', groups = 1): [tf.Tensor4D, tf.Tensor4D] {
    this.assertLive();
    this.checkClip(clip);
    return tf.tidy(() => encode(this.autoencoderKernels(), clip, this.normContext(mode, groups)));
  }

  /** D = E⁻¹: packed latent halves → time-major clips [3,N,H,W,C]. */
  decode(z1: tf.Tensor4D, z2: tf.Tensor4D, mode: NormMode = 'eval', groups = 1): tf.Tensor5D {
    this.assertLive();
    return tf.tidy(() => decode(this.autoencoderKernels(), z1, z2, this.normContext(mode, groups)));
  }

  private checkClip(clip: tf.Tensor): void {
    const [h, w, c] = this.config.imageSize;
    const s = clip.shape;
    if (clip.rank !== 5 || s[0] !== 3 || s[2] !== h || s[3] !== w || s[4] !== c) {
      throw new UserError(`clip must be time-major [3,B,${h},${w},${c}], got [${s.join(',')}]`);
    }
  }

  private checkSequence(seq: tf.Tensor, what: string, minT: number): [number, number] {
    const [h, w, c] = this.config.imageSize;
    if (seq.rank !== 5) throw new UserError(`${what} must be time-major [T,B,${h},${w},${c}], got rank ${seq.rank}`);
    const [t, b, sh, sw, sc] = seq.shape as [number, number, number, number, number];
    if (sh !== h || sw !== w || sc !== c) throw new UserError(`${what} frames must be ${h}×${w}×${c} for config "${this.config.name}", got ${sh}×${sw}×${sc}`);
    if (t < minT) throw new UserError(`${what} needs at least ${minT} frames, got ${t}`);
    if (b < 1) throw new UserError(`${what} has an empty batch`);
    return [t, b];
  }

  /**
   * Training loss: Σ over the T−3 clip steps of mean((X̂_i − X_i)²) for a time-major sequence
   * [T,B,H,W,C] (T ≥ 4). BatchNorm in train mode (running stats are updated).
   */
  loss(seq: tf.Tensor5D, opts: LossOptions = {}): tf.Scalar {
    this.assertLive();
    const [t, b] = this.checkSequence(seq, 'loss: sequence', 4);
    const mode = opts.mode ?? 'teacher';
    if (mode !== 'teacher' && mode !== 'rollout') throw new UserError(`loss: unknown mode "${String(mode)}"`);
    const k = mode === 'rollout' ? Math.min(opts.context ?? this.config.train.context, t) : t;
    if (!Number.isInteger(k) || k < 3) throw new UserError(`loss: context must be an integer ≥ 3, got ${String(opts.context)}`);
    const steps = t - 3;
    const [h, w, c] = this.config.imageSize;
    const collector = this.config.norm === 'batch' ? new RunningStatsCollector() : undefined;
    try {
      return tf.tidy(() => {
        const kern = this.kernels();
        // Every step uses the same predictor weights: one weight-gradient kernel per weight and
        // backward pass (over all steps' (x, dy) concatenated) instead of one per step.
        // (The encoder's weights are used by 2 batched calls only, E and D; deferring them measured no gain.)
        if (opts.deferWeightGrads ?? true) kern.layers = kern.layers.map((l) => deferLayerGrads(l));
        // Steps whose encoder input is ground truth, and steps whose decoded output is fed back.
        const nKnown = mode === 'teacher' ? steps : Math.min(steps, k - 2);
        const feedbackFrom = mode === 'teacher' ? Infinity : k - 2;
        const known = this.runEncode(
          kern,
          clipBatch(seq, 0, nKnown),
          this.normContext('train', nKnown, Array.from({ length: nKnown }, (_, j) => 2 * (j + 1)), collector),
        );
        const known1 = (nKnown > 1 ? tf.split(known[0], nKnown, 0) : [known[0]]) as tf.Tensor4D[];
        const known2 = (nKnown > 1 ? tf.split(known[1], nKnown, 0) : [known[1]]) as tf.Tensor4D[];
        let state: PredictorState | undefined;
        let xIn: tf.Tensor5D | undefined;
        const pending: { i: number; z1: tf.Tensor4D; z2: tf.Tensor4D }[] = [];
        const terms: tf.Scalar[] = [];
        for (let i = 1; i <= steps; i++) {
          const [z1, z2] =
            i <= nKnown
              ? [known1[i - 1]!, known2[i - 1]!]
              : this.runEncode(kern, xIn!, this.normContext('train', 1, [2 * i], collector));
          state ??= zeroState(this.config.predictorLayers, z1);
          const r = predictorStep(kern.layers, z1, z2, state);
          state = r.state;
          if (i < feedbackFrom) {
            pending.push({ i, z1: r.z1, z2: r.z2 });
            continue;
          }
          const y = this.runDecode(kern, r.z1, r.z2, this.normContext('train', 1, [2 * i + 1], collector));
          terms.push(sumSquaredError(y, clipBatch(seq, i, 1)));
          xIn = nextInput(y, i, k, seq);
        }
        if (pending.length > 0) {
          const n = pending.length;
          const z1 = concatRows(pending.map((p) => p.z1));
          const z2 = concatRows(pending.map((p) => p.z2));
          const y = this.runDecode(kern, z1, z2, this.normContext('train', n, pending.map((p) => 2 * p.i + 1), collector));
          // pending steps are consecutive from 1 in both modes
          terms.push(sumSquaredError(y, clipBatch(seq, pending[0]!.i, n)));
        }
        collector?.apply();
        const total = terms.length === 1 ? terms[0]! : tf.addN(terms);
        return tf.div(total, 3 * b * h * w * c) as tf.Scalar;
      });
    } finally {
      collector?.dispose();
    }
  }

  /**
   * Test-time rollout (architecture.md §7) with eval-mode normalisation: context [K,B,H,W,C]
   * (K ≥ 3 known frames) → predicted frames [horizon,B,H,W,C] (unclamped). Beyond the training
   * length the loop keeps feeding its own predictions back.
   */
  predict(context: tf.Tensor5D, horizon: number): tf.Tensor5D {
    this.assertLive();
    const [k, b] = this.checkSequence(context, 'predict: context', 3);
    if (!Number.isInteger(horizon) || horizon < 1) throw new UserError(`predict: horizon must be a positive integer, got ${horizon}`);
    const [h, w, c] = this.config.imageSize;
    const nKnown = k - 2;
    const kern = tf.tidy(() => this.kernels() as unknown as tf.TensorContainer) as unknown as ModelKernels;
    let known: [tf.Tensor4D, tf.Tensor4D] | undefined;
    let state: PredictorState | undefined;
    let xIn: tf.Tensor5D | undefined;
    const outputs: tf.Tensor5D[] = [];
    try {
      known = tf.tidy(() => encode(kern.autoencoder, clipBatch(context, 0, nKnown), this.normContext('eval', nKnown)));
      for (let i = 1; i <= k + horizon - 3; i++) {
        const r = tf.tidy(() => {
          const [z1, z2] =
            i <= nKnown
              ? [sliceRows(known![0], (i - 1) * b, b), sliceRows(known![1], (i - 1) * b, b)]
              : encode(kern.autoencoder, xIn!, this.normContext('eval', 1));
          const s = predictorStep(kern.layers, z1, z2, state ?? zeroState(this.config.predictorLayers, z1));
          if (i <= k - 3) return { state: s.state } as unknown as tf.TensorContainer;
          const y = decode(kern.autoencoder, s.z1, s.z2, this.normContext('eval', 1));
          const next = nextInput(y, i, k, context);
          return { state: s.state, next, out: next.slice([2, 0, 0, 0, 0], [1, b, h, w, c]) } as unknown as tf.TensorContainer;
        }) as unknown as { state: PredictorState; next?: tf.Tensor5D; out?: tf.Tensor5D };
        disposeState(state);
        state = r.state;
        if (r.next) {
          xIn?.dispose();
          xIn = r.next;
        }
        if (r.out) outputs.push(r.out);
      }
      return tf.tidy(() => (outputs.length === 1 ? outputs[0]!.clone() : tf.concat(outputs, 0)));
    } finally {
      tf.dispose(outputs);
      if (known) tf.dispose(known);
      disposeState(state);
      xIn?.dispose();
      CrevNet.disposeKernels(kern);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.weights) w.variable.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('CrevNet: model has been disposed');
  }
}
