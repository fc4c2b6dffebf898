/**
 * What one CrevNet loss/predict call works with: the raw parameters turned into packed conv filters
 * once per call, the normalisation context of an encoder/decoder call, and the encoder E next to its
 * inverse D (through reversible backprop in training when the config asks for it).
 */
import * as tf from '@tensorflow/tfjs';
import { decode, encode, type AnyPreparedAutoencoder, type PreparedAutoencoder } from './autoencoder.js';
import { foldedBlockTensors, prepareBlock, prepareFoldedBlock, type BlockParams, type BlockRunning, type BlockSpec } from './block.js';
import type { ModelConfig } from './config.js';
import type { PackedConv } from './conv3d-packed.js';
import type { NormContext, NormMode, RunningStatsCollector } from './norm.js';
import { prepareLayer, type PreparedLayer, type LayerParams } from './predictor.js';
import { prepareSplitLayer, splitLayerTensors, SPLIT_MIN_CHANNELS, type InferenceLayer } from './predictor-inference.js';
import { reversibleDecode, reversibleEncode } from './reversible-grad.js';

/** A model's config and raw parameters, as the loss and the rollout read them. */
export interface ModelParams {
  config: ModelConfig;
  blocks: readonly BlockSpec[];
  encParams: readonly BlockParams[];
  encRunning: readonly (BlockRunning | undefined)[];
  predParams: readonly LayerParams[];
}

/** Parameters prepared for the packed layout. */
export interface PreparedModel<A extends AnyPreparedAutoencoder = PreparedAutoencoder> {
  autoencoder: A;
  layers: PreparedLayer[];
}

export function prepareAutoencoder(p: ModelParams): PreparedAutoencoder {
  return { specs: p.blocks, blocks: p.blocks.map((spec, i) => prepareBlock(spec, p.encParams[i]!)), running: p.encRunning };
}

/** Packed conv filters etc. for one loss/predict call (tensors; dispose or build inside a tidy). */
export function prepareModel(p: ModelParams): PreparedModel {
  return { autoencoder: prepareAutoencoder(p), layers: p.predParams.map((l) => prepareLayer(l)) };
}

/** What the test rollout runs on (see prepareInference). */
export interface InferenceModel {
  autoencoder: AnyPreparedAutoencoder;
  layers: InferenceLayer[];
}

/**
 * The prepared model of the test rollout (eval-mode normalisation, no gradients): batch-norm blocks
 * with their running statistics folded into the convolutions, no adjoint filters, and from
 * SPLIT_MIN_CHANNELS latent channels predictor convs split by output frame (predictor-inference.ts).
 */
export function prepareInference(p: ModelParams): InferenceModel {
  const fold = p.config.norm === 'batch';
  const blocks = p.blocks.map((spec, i) => (fold ? prepareFoldedBlock(spec, p.encParams[i]!, p.encRunning[i]!) : prepareBlock(spec, p.encParams[i]!)));
  const split = p.blocks[p.blocks.length - 1]!.cout >= SPLIT_MIN_CHANNELS;
  const layers = p.predParams.map((l) => (split ? prepareSplitLayer(l) : prepareLayer(l, { adjoint: false })));
  return { autoencoder: { specs: p.blocks, blocks, running: p.encRunning }, layers };
}

export function disposePrepared(k: PreparedModel<AnyPreparedAutoencoder> | InferenceModel): void {
  tf.dispose(preparedTensors(k));
}

/** Every tensor a prepared model owns (not the weights it was made from). */
export function preparedTensors(k: PreparedModel<AnyPreparedAutoencoder> | InferenceModel): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  const add = (c: PackedConv) => out.push(c.f, ...(c.bias ? [c.bias] : []), ...(c.fAdj ? [c.fAdj] : []));
  for (const b of k.autoencoder.blocks) {
    if ('folded' in b) out.push(...foldedBlockTensors(b));
    else for (const c of [b.conv1, b.conv2, b.conv3]) add(c);
  }
  for (const l of k.layers) {
    if ('split' in l) out.push(...splitLayerTensors(l));
    else for (const c of [l.g1, l.g2, l.o, l.w11, l.att]) add(c);
  }
  return out;
}

/** Context of one encoder/decoder call over `groups` clips per sample (keys: their running-stat update order). */
export function normContext(config: ModelConfig, mode: NormMode, groups: number, keys?: number[], collector?: RunningStatsCollector): NormContext {
  const ctx: NormContext = { mode, kind: config.norm, groups };
  if (keys) ctx.keys = keys;
  if (collector) ctx.collector = collector;
  return ctx;
}

export function runEncode(config: ModelConfig, k: PreparedModel, x: tf.Tensor5D, ctx: NormContext): [tf.Tensor4D, tf.Tensor4D] {
  if (config.reversibleBackprop && ctx.mode === 'train') return reversibleEncode(k.autoencoder, x, ctx);
  return encode(k.autoencoder, x, ctx);
}

export function runDecode(config: ModelConfig, k: PreparedModel, z1: tf.Tensor4D, z2: tf.Tensor4D, ctx: NormContext): tf.Tensor5D {
  if (config.reversibleBackprop && ctx.mode === 'train') return reversibleDecode(k.autoencoder, z1, z2, ctx);
  return decode(k.autoencoder, z1, z2, ctx);
}
