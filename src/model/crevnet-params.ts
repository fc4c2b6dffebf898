/**
 * CrevNet's parameters: names (the checkpoint format: never rename), shapes, creation order (= the
 * checkpoint order, the trainable-variable order and the order the init RNG is drawn in), initial
 * values, and parameter / MAC counts from a config alone.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { blockMacs, blockParamCount, blockParamShapes, planBlocks, type BlockParams, type BlockRunning, type BlockSpec } from './block.js';
import type { ModelConfig } from './config.js';
import { InitRng, uniformTensor } from './init.js';
import type { NormParams, RunningStats } from './norm.js';
import { layerMacsPerPosition, layerParamCount, layerParamShapes, type LayerParams } from './predictor.js';

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

/** Trainable parameters of a model's weights, by part. */
export function countParams(weights: readonly NamedWeight[]): ParamCounts {
  let encoder = 0;
  let predictor = 0;
  for (const w of weights) {
    if (!w.trainable) continue;
    if (w.part === 'encoder') encoder += w.variable.size;
    else predictor += w.variable.size;
  }
  return { total: encoder + predictor, encoder, predictor };
}

/** Initial value of one weight; called once per weight, in creation order. */
export type WeightInit = (name: string, shape: number[], kind: 'conv' | 'bias' | 'gamma' | 'beta' | 'rmean' | 'rvar', fanIn: number) => tf.Tensor;
export type WeightKind = Parameters<WeightInit>[2];

/** PyTorch-default initialisation, deterministic from `seed`. */
export function defaultInit(seed: number): WeightInit {
  const rng = new InitRng(seed);
  return (_name, shape, kind, fanIn) => {
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
  };
}

/**
 * Copies of named tensors (checkpoint load): each must be present with the config's shape and float32,
 * else UserError naming it. The names used are added to `seen` (to find the unexpected ones).
 */
export function initFromTensors(tensors: ReadonlyMap<string, tf.Tensor>, source: string, configName: string, seen: Set<string>): WeightInit {
  return (name, shape) => {
    const t = tensors.get(name);
    if (!t) throw new UserError(`${source}: weight "${name}" is missing (the checkpoint does not match config "${configName}")`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(`${source}: weight "${name}" has shape [${t.shape.join(',')}], config "${configName}" needs [${shape.join(',')}]`);
    }
    if (t.dtype !== 'float32') throw new UserError(`${source}: weight "${name}" has dtype ${t.dtype}, expected float32`);
    seen.add(name);
    return t.clone();
  };
}

/** A model's weights as variables: the flat named list and the per-block / per-layer views of them. */
export interface ModelWeights {
  weights: NamedWeight[];
  encParams: BlockParams[];
  /** BatchNorm running statistics per block (undefined with group norm) */
  encRunning: (BlockRunning | undefined)[];
  predParams: LayerParams[];
}

type MakeWeight = (name: string, shape: number[], kind: WeightKind, fanIn: number, part: 'encoder' | 'predictor') => tf.Variable;

/** Create every weight of the model (all are disposed again if `init` throws). */
export function createWeights(config: ModelConfig, blocks: readonly BlockSpec[], latentChannels: number, init: WeightInit): ModelWeights {
  const w: ModelWeights = { weights: [], encParams: [], encRunning: [], predParams: [] };
  const make: MakeWeight = (name, shape, kind, fanIn, part) => {
    const trainable = kind !== 'rmean' && kind !== 'rvar';
    const v = tf.tidy(() => tf.variable(init(name, shape, kind, fanIn), trainable));
    w.weights.push({ name, variable: v, trainable, part });
    return v;
  };
  try {
    createEncoder(w, blocks, make, config.norm === 'batch');
    createPredictor(w, config.predictorLayers, latentChannels, make);
  } catch (err) {
    for (const x of w.weights) x.variable.dispose();
    throw err;
  }
  return w;
}

function createEncoder(w: ModelWeights, blocks: readonly BlockSpec[], make: MakeWeight, useBatch: boolean): void {
  for (const spec of blocks) {
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
    w.encParams.push(p as BlockParams);
    w.encRunning.push(useBatch ? (r as BlockRunning) : undefined);
  }
}

function createPredictor(w: ModelWeights, layers: number, c: number, make: MakeWeight): void {
  for (let l = 0; l < layers; l++) {
    const base = `predictor/layer${l}`;
    const v: Record<string, tf.Variable> = {};
    for (const item of layerParamShapes(c)) {
      const isKernel = item.name.endsWith('/kernel');
      const kernelShape = layerParamShapes(c).find((q) => q.name === item.name.replace('/bias', '/kernel'))!.shape;
      const fanIn = kernelShape.length === 5 ? 27 * kernelShape[3]! : kernelShape[0]!;
      v[item.name] = make(`${base}/${item.name}`, item.shape, isKernel ? 'conv' : 'bias', fanIn, 'predictor');
    }
    const t = <T extends tf.Tensor>(k: string) => v[k] as unknown as T;
    w.predParams.push({
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
