/**
 * Model configuration (the architecture): zod schema and validation, free of Node built-ins so the
 * browser app shares it; reading named configs (configs/*.json) from disk is ./config-file.ts.
 *
 * File format (configs/small.json):
 *   { "name": "small", "model": { imageSize, nBlocks, strides, predictorLayers, ... }, "train": { ... } }
 * `loadConfig` flattens the `model` section into a ModelConfig. The `train` section is the training
 * layer's (src/train/config.ts): a model is built and run from the architecture alone, so here it is
 * only required to be an object and is handed on verbatim (`readConfigFile`, checkpoint config.json).
 * Every problem is a one-line UserError naming the field, e.g.
 *   configs/x.json: model.predictorLayers must be even (got 3)
 */
import { z } from 'zod';
import { UserError } from '../runtime/errors.js';

const posInt = z.number().int().min(1);

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
  /** recompute E/D activations in the backward pass instead of storing them (docs/architecture.md, Reversible backprop) */
  reversibleBackprop: z.boolean().default(false),
  /** 'batch' = BatchNorm3d semantics (paper); 'group' = GroupNorm(1,C) (documented deviation) */
  norm: z.enum(['batch', 'group']).default('batch'),
});

export const ConfigFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  model: ModelSectionSchema,
  /** the training section, validated by the training layer (src/train/config.ts) */
  train: z.looseObject({}).optional(),
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

/**
 * One zod issue as a line naming the field, e.g. "model.predictorLayers must be ≥ 1 (got number 0)";
 * `prefix` is prepended to the field path (e.g. ['train'] when `root` is the train section).
 */
export function issueMessage(issue: z.core.$ZodIssue, root: unknown, prefix: readonly PropertyKey[] = []): string {
  const path = fieldPath([...prefix, ...issue.path]);
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
  };
  if (r.data.description !== undefined) cfg.description = r.data.description;
  return cfg;
}

/** Validate an in-memory config object (e.g. built by code); throws UserError like parseConfig. */
export function validateConfig(cfg: ModelConfig, source = 'config'): ModelConfig {
  return parseConfig(configToJson(cfg), source, cfg.name);
}

/** A config in file form (what configs/*.json and checkpoint config.json hold). */
export interface ConfigJson {
  name: string;
  description?: string;
  model: Record<string, unknown>;
  train?: Record<string, unknown>;
}

/** The file form of a config; `train`, when given, becomes its train section (what configs/*.json and checkpoint config.json hold). */
export function configToJson(cfg: ModelConfig, train?: Record<string, unknown>): ConfigJson {
  const out: ConfigJson = {
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
  };
  if (train !== undefined) out.train = train;
  if (cfg.description !== undefined) out.description = cfg.description;
  return out;
}
