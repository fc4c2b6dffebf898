/**
 * Training configuration: the `train` section of a config file (configs/*.json) and of a run's saved
 * settings (state.json). A model needs only the architecture (src/model/config.ts); everything here is
 * about how it is trained. The loss options are the loss's own schema (LossOptionsSchema), embedded
 * whole, so a loss option needs no entry here.
 *
 * Options that earlier versions had and that were removed (their experiments did not help; see
 * docs/training.md) still load at their neutral value, so old configs, checkpoints and run
 * directories keep working; any other value cannot be honoured and is refused in one line.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../runtime/errors.js';
import { issueMessage, parseConfig, type ModelConfig } from '../model/config.js';
import { readConfigFile } from '../model/config-file.js';
import { LossOptionsSchema, type LossOptions } from '../model/crevnet-loss.js';

const posInt = z.number().int().min(1);

export const ScheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('constant') }),
  /** lr × gamma at each milestone (authors: ×0.2 after 250k iterations) */
  z.strictObject({
    type: z.literal('step'),
    milestones: z.array(posInt).default([]),
    gamma: z.number().gt(0).max(1).default(0.2),
  }),
  /** PyTorch OneCycleLR semantics; `train.lr` is the peak (max_lr) */
  z.strictObject({
    type: z.literal('onecycle'),
    pctStart: z.number().gt(0).lt(1).default(0.3),
    divFactor: z.number().gt(0).default(25),
    finalDivFactor: z.number().gt(0).default(1e4),
    anneal: z.enum(['cos', 'linear']).default('cos'),
  }),
]);
export type ScheduleConfig = z.infer<typeof ScheduleSchema>;

export const TrainConfigSchema = z.strictObject({
  batch: posInt.default(4),
  /** frames per training sequence (20 = 10 context + 10 future in the paper) */
  frames: z.number().int().min(4).default(20),
  lr: z.number().gt(0).default(5e-4),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  epsilon: z.number().gt(0).default(1e-8),
  schedule: ScheduleSchema.prefault({ type: 'constant' }),
  iterations: posInt.default(10000),
  checkpointEvery: posInt.default(1000),
  validateEvery: posInt.default(1000),
  validationSequences: posInt.default(256),
  logEvery: posInt.default(50),
  /** global-norm gradient clipping; null = off (the paper does not clip) */
  gradClip: z.number().gt(0).nullable().default(null),
  /** the loss: mode, context, l1, ssim, clipLoss, freezeNorm (src/model/crevnet-loss.ts) */
  ...LossOptionsSchema.shape,
  seed: z.number().int().min(0).default(0),
  /**
   * threads per training step (data parallel over worker_threads, src/run/parallel.ts): a count, or
   * 'auto' = min(2, available cores) on the single-threaded wasm/cpu backends and 1 on tensorflow.
   * With more than one, BatchNorm batch statistics are per shard (a documented deviation).
   */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

const LOSS_KEYS = Object.keys(LossOptionsSchema.shape) as (keyof LossOptions)[];

/** The loss options of validated training settings, as they are (no copy of their checks). */
export function lossOptionsOf(settings: TrainConfig): LossOptions {
  return Object.fromEntries(LOSS_KEYS.map((k) => [k, settings[k]])) as LossOptions;
}

/** Adam with the settings' learning rate, betas and epsilon (the schedule sets the rate per step). */
export function createOptimizer(settings: Pick<TrainConfig, 'lr' | 'betas' | 'epsilon'>): tf.AdamOptimizer {
  return tf.train.adam(settings.lr, settings.betas[0], settings.betas[1], settings.epsilon);
}

/**
 * Removed options: key, flag, and whether a saved value is the neutral one that still loads (a neutral
 * ramp key is dropped; clipLoss true/false stays, only its 'ssim' choice was removed).
 */
const REMOVED_OPTIONS: { key: string; flag: string; neutral: (v: unknown) => boolean; drop: boolean }[] = [
  { key: 'horizonRamp', flag: '--horizon-ramp', neutral: (v) => v === 0, drop: true },
  { key: 'ssimRamp', flag: '--ssim-ramp', neutral: (v) => v === 0, drop: true },
  { key: 'clipLoss', flag: '--clip-loss ssim', neutral: (v) => v !== 'ssim', drop: false },
];

/** The first removed option in a train section whose value can no longer be honoured, e.g. "train.horizonRamp = 2 (--horizon-ramp)". */
export function removedOptionIn(train: Record<string, unknown>): string | undefined {
  for (const r of REMOVED_OPTIONS) {
    if (r.key in train && !r.neutral(train[r.key])) return `train.${r.key} = ${JSON.stringify(train[r.key])} (${r.flag})`;
  }
  return undefined;
}

/**
 * Validate a train section (absent fields take their defaults); `source` names it in errors. A removed
 * option at its neutral value is dropped; at any other value it is refused, with `removedHint` saying
 * what to do.
 */
export function parseTrainConfig(raw: unknown, source: string, removedHint = 'remove it from the config'): TrainConfig {
  let train = raw ?? {};
  if (train !== null && typeof train === 'object' && !Array.isArray(train)) {
    const section = train as Record<string, unknown>;
    const removed = removedOptionIn(section);
    if (removed) throw new UserError(`${source}: ${removed} is an option that has been removed; ${removedHint}`);
    train = Object.fromEntries(Object.entries(section).filter(([k]) => !REMOVED_OPTIONS.some((r) => r.drop && r.key === k)));
  }
  const r = TrainConfigSchema.safeParse(train);
  if (!r.success) throw new UserError(`${source}: ${issueMessage(r.error.issues[0]!, train, ['train'])}`);
  return r.data;
}

/** A config for training: the architecture and the validated training settings. */
export interface TrainingConfig {
  model: ModelConfig;
  train: TrainConfig;
}

/** Validate a config in file form ({ name, model, train }) for training. */
export function parseTrainingConfig(json: unknown, source: string, defaultName?: string): TrainingConfig {
  const model = parseConfig(json, source, defaultName);
  return { model, train: parseTrainConfig((json as { train?: unknown }).train, source) };
}

/** 'paper' | 'medium' | 'small' | 'tiny' | path/to/file.json → architecture and training settings. */
export async function loadTrainingConfig(nameOrPath: string): Promise<TrainingConfig> {
  const f = await readConfigFile(nameOrPath);
  return { model: f.model, train: parseTrainConfig(f.train, f.source) };
}
