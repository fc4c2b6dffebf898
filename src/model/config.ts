/**
 * Model + training configuration: zod schemas, named configs (configs/*.json), validation.
 *
 * File format (configs/small.json):
 *   { "name": "small", "model": { imageSize, nBlocks, strides, predictorLayers, ... }, "train": { ... } }
 * `loadConfig` flattens the `model` section into a ModelConfig and attaches the (defaulted) `train`
 * section as `config.train`. Every problem is a one-line UserError naming the field, e.g.
 *   configs/x.json: model.predictorLayers must be even (got 3)
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../runtime/errors.js';

export const BUILTIN_CONFIGS = ['paper', 'medium', 'small', 'tiny'] as const;
export type BuiltinConfigName = (typeof BUILTIN_CONFIGS)[number];

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
  /** known frames K for mode 'rollout' and for validation (K ≥ 3) */
  context: z.number().int().min(3).default(10),
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
  mode: z.enum(['teacher', 'rollout']).default('teacher'),
  /** weight of an L1 term added to the MSE loss (0 = the paper's loss; E3D-LSTM trains on L1 + L2) */
  l1: z.number().min(0).default(0),
  /** weight of an added SSIM term, mean over frames of (1 − SSIM) (0 = off; src/model/ssim-loss.ts) */
  ssim: z.number().min(0).default(0),
  /**
   * score predictions as clipped to [0, 1] like SSIM and PSNR do (src/model/crevnet-loss.ts scoredAsClipped):
   * true in every loss term, 'ssim' in the SSIM term only (MSE and L1 stay raw, like the metrics' MSE and MAE)
   */
  clipLoss: z.union([z.boolean(), z.literal('ssim')]).default(false),
  /** mode 'rollout': the fed-back steps' loss weight rises linearly from 1 to 1 + horizonRamp at the last step (0 = flat) */
  horizonRamp: z.number().min(0).default(0),
  /** mode 'rollout': the SSIM term's weight on the fed-back steps rises linearly from ssim to (1 + ssimRamp)·ssim (0 = flat) */
  ssimRamp: z.number().min(0).default(0),
  /**
   * BatchNorm in training uses the running statistics, frozen, as evaluation does (false = batch statistics,
   * the paper's rule). Why: the test rollout normalises every clip with fixed statistics, while batch
   * statistics rescale each fed-back clip by its own (faded) contrast; frozen, training optimises the very
   * function the test runs. For fine-tuning a trained model; no effect with group norm.
   */
  freezeNorm: z.boolean().default(false),
  seed: z.number().int().min(0).default(0),
  /**
   * threads per training step (data parallel over worker_threads, src/train/parallel.ts): a count, or
   * 'auto' = min(2, available cores) on the single-threaded wasm/cpu backends and 1 on tensorflow.
   * With more than one, BatchNorm batch statistics are per shard (a documented deviation).
   */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export const ModelSectionSchema = z.strictObject({
  /** [height, width, channels] of a frame */
  imageSize: z.tuple([posInt, posInt, posInt]),
  /** blocks per stage */
  nBlocks: z.array(posInt).min(1),
  /** stride of the first block of each stage (1 or 2) */
  strides: z.array(z.union([z.literal(1), z.literal(2)])),
  /** half width after each stage; derived when absent (2·C_img, ×4 at every stride-2 stage) */
  channels: z.array(posInt).optional(),
  /** bottleneck divisor: m = max(1, ⌊c_out / bottleneck⌋) */
  bottleneck: posInt.default(2),
  /** ST-ConvLSTM layers (must be even) */
  predictorLayers: posInt,
  /** recompute E/D activations in the backward pass instead of storing them (architecture.md §12) */
  reversibleBackprop: z.boolean().default(false),
  /** 'batch' = BatchNorm3d semantics (paper); 'group' = GroupNorm(1,C) (documented deviation) */
  norm: z.enum(['batch', 'group']).default('batch'),
});

export const ConfigFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  model: ModelSectionSchema,
  train: TrainConfigSchema.prefault({}),
});
export type ConfigFile = z.input<typeof ConfigFileSchema>;

export interface ModelConfig {
  name: string;
  description?: string;
  imageSize: [number, number, number];
  nBlocks: number[];
  strides: (1 | 2)[];
  /** resolved half width after each stage */
  channels: number[];
  bottleneck: number;
  predictorLayers: number;
  reversibleBackprop: boolean;
  norm: 'batch' | 'group';
  train: TrainConfig;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function issueMessage(issue: z.core.$ZodIssue, root: unknown): string {
  const path = fieldPath(issue.path);
  const got = valueAt(root, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', ')}: unknown key${issue.keys.length > 1 ? 's' : ''}`;
    case 'invalid_type':
      if (got === undefined) return `${path} is required`;
      return `${path} must be ${issue.expected === 'int' ? 'an integer' : `a${/^[aeiou]/.test(issue.expected) ? 'n' : ''} ${issue.expected}`} (got ${describe(got)})`;
    case 'too_small':
      if (issue.origin === 'array') return `${path} must have at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
      return `${path} must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)} (got ${describe(got)})`;
    case 'too_big':
      if (issue.origin === 'array') return `${path} must have at most ${String(issue.maximum)} entries`;
      return `${path} must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)} (got ${describe(got)})`;
    case 'invalid_union':
    case 'invalid_value':
      return `${path} has an invalid value (got ${describe(got)})${'values' in issue ? `; allowed: ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` : ''}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

/** Derived checks zod cannot express; returns [field, message] or undefined. */
function semanticProblem(m: z.output<typeof ModelSectionSchema>): [string, string] | undefined {
  if (m.strides.length !== m.nBlocks.length) {
    return ['model.strides', `must have one entry per stage (nBlocks has ${m.nBlocks.length}, strides has ${m.strides.length})`];
  }
  if (m.predictorLayers % 2 !== 0) {
    return ['model.predictorLayers', `must be even (got ${m.predictorLayers}): each layer swaps the latent halves`];
  }
  const down = 2 ** (1 + m.strides.filter((s) => s === 2).length);
  const [h, w] = m.imageSize;
  if (h % down !== 0 || w % down !== 0) {
    return ['model.imageSize', `height and width must be divisible by ${down} (ψ plus ${down / 2 === 1 ? 'no' : Math.log2(down) - 1} stride-2 stage(s)), got ${h}×${w}`];
  }
  if (m.channels) {
    if (m.channels.length !== m.nBlocks.length) {
      return ['model.channels', `must have one entry per stage (nBlocks has ${m.nBlocks.length}, channels has ${m.channels.length})`];
    }
    let c = 2 * m.imageSize[2];
    for (let i = 0; i < m.channels.length; i++) {
      const want = m.strides[i] === 2 ? 4 * c : c;
      if (m.channels[i] !== want) {
        return [
          `model.channels[${i}]`,
          `must be ${want} (got ${m.channels[i]}): a ${m.strides[i] === 2 ? 'stride-2 stage quadruples' : 'stride-1 stage keeps'} the half width ${c}; CrevNet has no injective padding`,
        ];
      }
      c = want;
    }
  }
  return undefined;
}

export function derivedChannels(imageChannels: number, strides: readonly number[]): number[] {
  let c = 2 * imageChannels;
  return strides.map((s) => (c = s === 2 ? 4 * c : c));
}

/** Validate a parsed JSON value; `source` prefixes error messages (a path or a name). */
export function parseConfig(json: unknown, source: string, defaultName?: string): ModelConfig {
  const r = ConfigFileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UserError(`${source}: ${issueMessage(issue, json)}`);
  }
  const problem = semanticProblem(r.data.model);
  if (problem) throw new UserError(`${source}: ${problem[0]} ${problem[1]}`);
  const m = r.data.model;
  const cfg: ModelConfig = {
    name: r.data.name ?? defaultName ?? 'custom',
    imageSize: [...m.imageSize],
    nBlocks: [...m.nBlocks],
    strides: [...m.strides],
    channels: m.channels ? [...m.channels] : derivedChannels(m.imageSize[2], m.strides),
    bottleneck: m.bottleneck,
    predictorLayers: m.predictorLayers,
    reversibleBackprop: m.reversibleBackprop,
    norm: m.norm,
    train: r.data.train,
  };
  if (r.data.description !== undefined) cfg.description = r.data.description;
  return cfg;
}

/** Validate an in-memory config object (e.g. built by code); throws UserError like parseConfig. */
export function validateConfig(cfg: ModelConfig, source = 'config'): ModelConfig {
  return parseConfig(configToJson(cfg), source, cfg.name);
}

/** The file form of a config (what configs/*.json and checkpoint config.json hold). */
export function configToJson(cfg: ModelConfig): {
  name: string;
  description?: string;
  model: Record<string, unknown>;
  train: TrainConfig;
} {
  const out: { name: string; description?: string; model: Record<string, unknown>; train: TrainConfig } = {
    name: cfg.name,
    model: {
      imageSize: cfg.imageSize,
      nBlocks: cfg.nBlocks,
      strides: cfg.strides,
      channels: cfg.channels,
      bottleneck: cfg.bottleneck,
      predictorLayers: cfg.predictorLayers,
      reversibleBackprop: cfg.reversibleBackprop,
      norm: cfg.norm,
    },
    train: cfg.train,
  };
  if (cfg.description !== undefined) out.description = cfg.description;
  return out;
}

/** Directory holding the named configs (package root /configs, from src/model or dist/model). */
export function configsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');
}

/** 'paper' | 'small' | 'tiny' | path/to/file.json → validated config. */
export async function loadConfig(nameOrPath: string): Promise<ModelConfig> {
  const builtin = (BUILTIN_CONFIGS as readonly string[]).includes(nameOrPath) && !existsSync(nameOrPath);
  const path = builtin ? join(configsDir(), `${nameOrPath}.json`) : nameOrPath;
  const source = builtin ? `configs/${nameOrPath}.json` : nameOrPath;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(`config "${nameOrPath}" not found: not a built-in name (${BUILTIN_CONFIGS.join(', ')}) and no such file`);
    }
    throw new UserError(`${source}: cannot read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${source}: invalid JSON (${(err as Error).message})`);
  }
  return parseConfig(json, source, basename(path).replace(/\.json$/i, ''));
}
