/**
 * The start of a training session: a new run (config + overrides, fresh model — or a checkpoint's
 * weights with `initFrom` — Adam and data stream) or a resume from last/ (the checkpoint's model, Adam
 * state incl. its bias-correction accumulators, data RNG state and step; overrides checked against what
 * a run must keep fixed).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { loadMnistDigits } from '../data/idx.js';
import { Rng } from '../data/rng.js';
import { MovingMnistStream } from '../data/moving-mnist.js';
import { configToJson, type ModelConfig } from '../model/config.js';
import { loadConfig } from '../model/config-file.js';
import { createOptimizer, loadTrainingConfig, parseTrainConfig, removedOptionIn, type TrainConfig } from './config.js';
import { CrevNet } from '../model/crevnet.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { parseTrainState, restoreAdamAccumulators, type BestScore } from './state.js';
import type { TrainOptions, TrainOverrides } from './types.js';

export interface Session {
  model: CrevNet;
  optimizer: tf.AdamOptimizer;
  stream: MovingMnistStream;
  settings: TrainConfig;
  step: number;
  best: BestScore | null;
  trainSeconds: number;
  config: ModelConfig;
}

function definedOverrides(o: TrainOverrides | undefined): TrainOverrides {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out as TrainOverrides;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function startSession(o: TrainOptions, runDir: string, note: (s: string) => void): Promise<Session> {
  const overrides = definedOverrides(o.overrides);
  const lastDir = join(runDir, 'last');
  if (!o.resume) {
    if (!o.config) throw new UserError('--config is required for a new training run');
    if (existsSync(lastDir)) throw new UserError(`${runDir} already holds a training run (last/); pass --resume to continue it or choose another --out`);
    const { model: config, train } = await loadTrainingConfig(o.config);
    const settings = parseTrainConfig({ ...train, ...overrides }, o.config);
    const model = o.initFrom ? await initialWeights(o.initFrom, config, o.config) : CrevNet.create(config, settings.seed);
    if (o.initFrom) note(`new run from the weights of ${o.initFrom}`);
    const optimizer = createOptimizer(settings);
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, new Rng(settings.seed), { frames: settings.frames, size: config.imageSize[0] });
    return { model, optimizer, stream, settings, step: 0, best: null, trainSeconds: 0, config };
  }

  if (o.initFrom) throw new UserError('--init-from starts a new run; it cannot be combined with --resume');
  if (!existsSync(lastDir)) throw new UserError(`nothing to resume: ${lastDir} does not exist`);
  const ck = await loadCheckpoint(lastDir);
  try {
    const state = parseTrainState(ck.state, lastDir);
    // a run trained with an option that has since been removed cannot be continued exactly
    const removed = removedOptionIn(state.settings as unknown as Record<string, unknown>);
    if (removed) {
      throw new UserError(
        `${lastDir}: this run trained with ${removed}, an option that has been removed, so it cannot be resumed; its weights still load for predict and eval, and crevnet train --config FILE --init-from ${lastDir} --out NEW_DIR starts a new run from them`,
      );
    }
    const saved = ck.model.config;
    if (o.config) {
      const given = await loadConfig(o.config);
      const a = configToJson(given);
      const b = configToJson(saved);
      if (!sameJson(a.model, b.model)) {
        throw new UserError(`--config ${o.config} describes a different model than the checkpoint in ${lastDir} (config "${saved.name}"); resume without --config or start a new run with another --out`);
      }
    }
    if (overrides.seed !== undefined && overrides.seed !== state.settings.seed) {
      throw new UserError(`--seed ${overrides.seed} differs from the run's seed ${state.settings.seed}; the seed only applies to a new run`);
    }
    // Scores on another validation set are not comparable: a new size starts a new best/ series.
    const newValidationSet = overrides.validationSequences !== undefined && overrides.validationSequences !== state.settings.validationSequences;
    if (newValidationSet) note(`resume: new validation set (${overrides.validationSequences} sequences); best/ is replaced at the next validation`);
    // runs saved before train.workers existed were trained single-threaded: keep that on resume
    const savedSettings = parseTrainConfig({ workers: 1, ...(state.settings as Partial<TrainConfig>) }, lastDir);
    const settings = parseTrainConfig({ ...savedSettings, ...overrides }, lastDir);
    // compared with the saved settings after defaults, so a setting newer than the run shows its default
    for (const k of Object.keys(overrides) as (keyof TrainOverrides)[]) {
      if (!sameJson(savedSettings[k], settings[k])) note(`resume: ${k} ${JSON.stringify(savedSettings[k])} → ${JSON.stringify(settings[k])}`);
    }
    if (settings.iterations !== state.settings.iterations && settings.schedule.type === 'onecycle') {
      note('warning: changing --iterations reshapes the one-cycle schedule from here on');
    }
    const config = saved;
    const optimizer = createOptimizer(settings);
    if (ck.optimizerWeights && ck.optimizerWeights.length > 0) {
      await optimizer.setWeights(ck.optimizerWeights);
      if (state.adam) restoreAdamAccumulators(optimizer, state.adam);
    } else if (state.step > 0) {
      throw new UserError(`${lastDir} has no optimizer state; it cannot be resumed exactly`);
    }
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, Rng.fromState(state.rngState), { frames: settings.frames, size: config.imageSize[0] });
    return { model: ck.model, optimizer, stream, settings, step: state.step, best: newValidationSet ? null : state.best, trainSeconds: state.trainSeconds ?? 0, config };
  } catch (err) {
    ck.model.dispose();
    throw err;
  } finally {
    for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
  }
}

/** The weights of checkpoint `dir` for a new run of `config` (same architecture required). */
async function initialWeights(dir: string, config: ModelConfig, configName: string): Promise<CrevNet> {
  const ck = await loadCheckpoint(dir);
  for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
  if (!sameJson(configToJson(ck.model.config).model, configToJson(config).model)) {
    ck.model.dispose();
    throw new UserError(`--init-from ${dir}: the checkpoint's model (config "${ck.model.config.name}") differs from the one --config ${configName} describes`);
  }
  // the run is named after its config; the weights are what the checkpoint holds
  const model = CrevNet.fromWeights(config, new Map(ck.model.namedWeights().map((w) => [w.name, w.variable as tf.Tensor])), dir);
  ck.model.dispose();
  return model;
}
