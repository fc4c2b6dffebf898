/**
 * CrevNet: reversible 3-D autoencoder + reversible ST-ConvLSTM predictor (see docs/architecture.md,
 * The model).
 *
 * Sequences are time-major [T,B,H,W,C]; a clip X_j = frames j..j+2 is a slice of axis 0 (clips.ts).
 * Inside, clips and latents use the packed layout (packed.ts: [N,h,w,3c]). Raw parameters are turned
 * into packed conv filters once per loss/predict call (crevnet-prepared.ts).
 * The parts: crevnet-params.ts (names, shapes, init, counts), crevnet-loss.ts (teacher forcing and
 * rollout training loss), crevnet-predict.ts (test-time rollout).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { decode, encode } from './autoencoder.js';
import { planBlocks, type BlockParams, type BlockRunning, type BlockSpec } from './block.js';
import { validateConfig, type ModelConfig } from './config.js';
import { checkClip } from './clips.js';
import { countParams, createWeights, defaultInit, initFromTensors, latentShapeFor, type NamedWeight, type ParamCounts, type WeightInit } from './crevnet-params.js';
import { disposePrepared, prepareAutoencoder, prepareInference, preparedTensors, normContext, type InferenceModel, type ModelParams } from './crevnet-prepared.js';
import { DEFAULT_LOSS_OPTIONS, sequenceLoss, type LossOptions } from './crevnet-loss.js';
import { rollout, type RolloutOptions } from './crevnet-predict.js';
import type { NormMode } from './norm.js';
import type { LayerParams } from './predictor.js';

export { paramCountsFor, latentShapeFor, macsFor, type NamedWeight, type ParamCounts } from './crevnet-params.js';
export { DEFAULT_LOSS_OPTIONS, lossOptions, LossOptionsSchema, type LossMode, type LossOptions } from './crevnet-loss.js';

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
  /**
   * The rollout's prepared model and the weights' data ids it was made from: a variable gets a new
   * data id whenever it is assigned (an optimizer step, a checkpoint load), so equal ids mean
   * unchanged weights and the prepared filters (and the XNNPACK operators made for them) can be reused.
   */
  private inference: { ids: readonly object[]; prepared: InferenceModel } | undefined;

  private constructor(config: ModelConfig, init: WeightInit) {
    this.config = config;
    this.blocks = planBlocks(config);
    this.latentChannels = this.blocks[this.blocks.length - 1]!.cout;
    const w = createWeights(config, this.blocks, this.latentChannels, init);
    this.weights = w.weights;
    this.encParams = w.encParams;
    this.encRunning = w.encRunning;
    this.predParams = w.predParams;
  }

  /** New model with deterministic PyTorch-default initialisation from `seed`. */
  static create(config: ModelConfig, seed = 0): CrevNet {
    const cfg = validateConfig(config, `config "${config.name}"`);
    return new CrevNet(cfg, defaultInit(seed));
  }

  /**
   * Model from named tensors (checkpoint load). Every weight of the config must be present with the
   * right shape; throws UserError naming the first problem. The tensors are copied.
   */
  static fromWeights(config: ModelConfig, tensors: ReadonlyMap<string, tf.Tensor>, source = 'weights'): CrevNet {
    const cfg = validateConfig(config, `config "${config.name}"`);
    const seen = new Set<string>();
    const model = new CrevNet(cfg, initFromTensors(tensors, source, cfg.name, seen));
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
    return countParams(this.weights);
  }

  /** Latent half shape per sample [3,h,w,C]. */
  latentShape(): [number, number, number, number] {
    return latentShapeFor(this.config);
  }

  /** Config and raw parameters for the loss and the rollout. */
  private params(): ModelParams {
    return { config: this.config, blocks: this.blocks, encParams: this.encParams, encRunning: this.encRunning, predParams: this.predParams };
  }

  /**
   * E on time-major clips [3,N,H,W,C] → packed latent halves [N,h,w,3c] each (see packed.ts).
   * mode 'train' uses batch statistics per group and updates running stats, 'eval' running stats.
   */
  encode(clip: tf.Tensor5D, mode: NormMode = 'eval', groups = 1): [tf.Tensor4D, tf.Tensor4D] {
    this.assertLive();
    checkClip(this.config, clip);
    return tf.tidy(() => encode(prepareAutoencoder(this.params()), clip, normContext(this.config, mode, groups)));
  }

  /** D = E⁻¹: packed latent halves → time-major clips [3,N,H,W,C]. */
  decode(z1: tf.Tensor4D, z2: tf.Tensor4D, mode: NormMode = 'eval', groups = 1): tf.Tensor5D {
    this.assertLive();
    return tf.tidy(() => decode(prepareAutoencoder(this.params()), z1, z2, normContext(this.config, mode, groups)));
  }

  /**
   * Training loss: Σ over the T−3 clip steps of mean((X̂_i − X_i)²) for a time-major sequence
   * [T,B,H,W,C] (T ≥ 4), with the terms and mode of `opts` (validated: build them with `lossOptions`).
   * BatchNorm in train mode (running stats are updated) unless opts.freezeNorm. `deferGrads`: see
   * sequenceLoss (false = the per-use reference gradients).
   */
  loss(seq: tf.Tensor5D, opts: LossOptions = DEFAULT_LOSS_OPTIONS, deferGrads = true): tf.Scalar {
    this.assertLive();
    return sequenceLoss(this.params(), seq, opts, deferGrads);
  }

  /**
   * Test-time rollout (see docs/architecture.md, Rollout) with eval-mode normalisation: context
   * [K,B,H,W,C] (K ≥ 3 known frames) → predicted frames [horizon,B,H,W,C], clamped to [0, 1] unless
   * `opts.raw` (the fed-back frames are raw either way, as in training). Beyond the training
   * length the loop keeps feeding its own predictions back.
   */
  predict(context: tf.Tensor5D, horizon: number, opts: RolloutOptions = {}): tf.Tensor5D {
    this.assertLive();
    return rollout(this.params(), context, horizon, opts, this.preparedForInference());
  }

  /**
   * Prepare (and keep) the rollout's filters now rather than on the first `predict`: for a caller that
   * counts tensors around a prediction, or wants the first prediction to be as fast as the next ones.
   */
  prepareForInference(): void {
    this.assertLive();
    this.preparedForInference();
  }

  private preparedForInference(): InferenceModel {
    const ids = this.weights.map((w) => w.variable.dataId);
    const cached = this.inference;
    if (cached && ids.every((id, i) => id === cached.ids[i])) return cached.prepared;
    this.dropPreparedForInference();
    const prepared = tf.tidy(() => prepareInference(this.params()) as unknown as tf.TensorContainer) as unknown as InferenceModel;
    // kept: predict may run inside a caller's tidy, which must not dispose the cache
    for (const t of preparedTensors(prepared)) tf.keep(t);
    this.inference = { ids, prepared };
    return prepared;
  }

  private dropPreparedForInference(): void {
    if (this.inference) disposePrepared(this.inference.prepared);
    this.inference = undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropPreparedForInference();
    for (const w of this.weights) w.variable.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('CrevNet: model has been disposed');
  }
}
