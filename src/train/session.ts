/**
 * The start of a training session: a new run (config + overrides, fresh model — or a checkpoint's
 * weights with `initFrom` — Adam and data stream) or a resume from last/ (the checkpoint's model, Adam
 * state incl. its bias-correction accumulators, data RNG state and step; overrides checked against what
 * a run must keep fixed).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { loadMnistDigits } from '../data/idx.js';
import { Rng, type RngState } from '../data/rng.js';
import { MovingMnistStream } from '../data/moving-mnist.js';
import { configToJson, type ModelConfig } from '../model/config.js';
import { loadConfig } from '../model/config-file.js';
import { createOptimizer, loadTrainingConfig, parseTrainConfig, removedOptionIn, type TrainConfig } from './config.js';
import { closeVideos, decodeProgressLine, openVideoData, skippedLine, VideoWindowStream, type DecodedVideo, type ImageSize, type SkippedVideo } from '../video/dataset.js';
import { movingMnistRecord, type DatasetRecord } from '../data/dataset-record.js';
import { CrevNet } from '../model/crevnet.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { parseTrainState, restoreAdamAccumulators, type BestScore, type SavedTrainData } from './state.js';
import type { TrainData, TrainOptions, TrainOverrides } from './types.js';

/** Where training batches come from: uint8 time-major [T, B, H, W, C]; the RNG state resumes the stream. */
export interface BatchStream {
  nextBatch(batch: number): Uint8Array | Promise<Uint8Array>;
  rngState(): RngState;
}

/** A video run's data: the training stream's videos and the held-out ones (validation). */
export interface SessionVideos {
  train: DecodedVideo[];
  val: DecodedVideo[];
  saved: SavedTrainData;
}

export interface Session {
  model: CrevNet;
  optimizer: tf.AdamOptimizer;
  stream: BatchStream;
  settings: TrainConfig;
  step: number;
  best: BestScore | null;
  trainSeconds: number;
  config: ModelConfig;
  /** what the model is trained on (recorded in every checkpoint) */
  dataset: DatasetRecord;
  /** video runs only */
  videos?: SessionVideos;
  /** release the data (open cache files) */
  close(): Promise<void>;
}

/** Open the videos of a run (decode once, .npy caches in runDir/cache) and its training stream. */
async function openVideos(
  d: SavedTrainData,
  config: ModelConfig,
  frames: number,
  rng: Rng,
  runDir: string,
  note: (s: string) => void,
  memoryBudget: number | undefined,
): Promise<{ stream: VideoWindowStream; videos: SessionVideos; dataset: DatasetRecord }> {
  let lastNote = 0;
  const data = await openVideoData({
    inputs: d.inputs,
    valInputs: d.valInputs,
    valSplit: d.valSplit,
    imageSize: config.imageSize as ImageSize,
    fit: d.fit,
    frames,
    frameStep: d.frameStep,
    cacheDir: join(runDir, 'cache'),
    memoryBudget,
    onProgress: (p) => {
      // the first decode of a large folder takes a while: a line every 5 s and at the end
      const now = performance.now();
      if (p.done === p.total || now - lastNote > 5000) {
        lastNote = now;
        note(decodeProgressLine(p));
      }
    },
  });
  if (data.skipped.length > 0) note(`warning: ${skippedLine(data.skipped as SkippedVideo[])}`);
  const stream = new VideoWindowStream(data.train, frames, d.frameStep, config.imageSize as ImageSize, rng);
  const r = data.record;
  note(
    `data: ${r.files} training video${r.files === 1 ? '' : 's'} (${r.frames} frames, ${stream.windows} windows of ${frames} frames${d.frameStep > 1 ? `, every ${d.frameStep}th frame` : ''}), ` +
      `${r.valFiles} held out (${r.valFrames} frames)`,
  );
  if (d.valSplit === undefined && !d.valInputs && data.val.length === 0) {
    note('one video: no file is held out, so no validation (give --val-data <videos> to validate on others)');
  }
  const saved: SavedTrainData = {
    ...d,
    valSplit: data.valSplit,
    files: data.train.map((v) => ({ path: resolve(v.path), frames: v.frames })),
    valFiles: data.val.map((v) => resolve(v.path)),
  };
  return { stream, videos: { train: data.train, val: data.val, saved }, dataset: r };
}

/** The saved form of --data options (absolute paths, so a resume from another directory finds them). */
function savedData(d: TrainData): SavedTrainData {
  const out: SavedTrainData = {
    kind: 'video',
    inputs: d.inputs.map((p) => (isPattern(p) ? p : resolve(p))),
    // undefined: the default of openVideoData (DEFAULT_VAL_SPLIT, none for a single video); the one used is saved
    ...(d.valInputs && d.valInputs.length > 0 ? { valSplit: 0 } : d.valSplit !== undefined ? { valSplit: d.valSplit } : {}),
    frameStep: d.frameStep ?? 1,
    fit: d.fit ?? 'crop',
    files: [],
  };
  if (d.valInputs && d.valInputs.length > 0) out.valInputs = d.valInputs.map((p) => (isPattern(p) ? p : resolve(p)));
  return out;
}

function isPattern(p: string): boolean {
  return /[*?[{]/.test(p) && !existsSync(p);
}

function definedOverrides(o: TrainOverrides | undefined): TrainOverrides {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out as TrainOverrides;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Moving MNIST is square and gray: a colour config needs --data. */
function checkMovingMnist(config: ModelConfig, source: string): void {
  const [h, w, c] = config.imageSize;
  if (c !== 1) {
    throw new UserError(`${source}: the model takes ${c}-channel frames, but without --data training uses Moving MNIST, which is gray; give --data <videos> to train on your own videos`);
  }
  if (h !== w) throw new UserError(`${source}: Moving MNIST frames are square, the model's are ${h}×${w}; give --data <videos>`);
}

export async function startSession(o: TrainOptions, runDir: string, note: (s: string) => void): Promise<Session> {
  const overrides = definedOverrides(o.overrides);
  const lastDir = join(runDir, 'last');
  if (!o.resume) {
    if (!o.config) throw new UserError('--config is required for a new training run');
    if (existsSync(lastDir)) throw new UserError(`${runDir} already holds a training run (last/); pass --resume to continue it or choose another --out`);
    const { model: config, train } = await loadTrainingConfig(o.config);
    const settings = parseTrainConfig({ ...train, ...overrides }, o.config);
    if (o.data) {
      // the data is opened (and checked) before the model exists: a folder without a usable video fails at once
      const v = await openVideos(savedData(o.data), config, settings.frames, new Rng(settings.seed), runDir, note, o.data.memoryBudget);
      try {
        const model = o.initFrom ? await initialWeights(o.initFrom, config, o.config) : CrevNet.create(config, settings.seed);
        if (o.initFrom) note(`new run from the weights of ${o.initFrom}`);
        const optimizer = createOptimizer(settings);
        return { model, optimizer, stream: v.stream, settings, step: 0, best: null, trainSeconds: 0, config, dataset: v.dataset, videos: v.videos, close: () => closeVideos([...v.videos.train, ...v.videos.val]) };
      } catch (err) {
        await closeVideos([...v.videos.train, ...v.videos.val]);
        throw err;
      }
    }
    checkMovingMnist(config, o.config);
    const model = o.initFrom ? await initialWeights(o.initFrom, config, o.config) : CrevNet.create(config, settings.seed);
    if (o.initFrom) note(`new run from the weights of ${o.initFrom}`);
    const optimizer = createOptimizer(settings);
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, new Rng(settings.seed), { frames: settings.frames, size: config.imageSize[0] });
    return { model, optimizer, stream, settings, step: 0, best: null, trainSeconds: 0, config, dataset: movingMnistRecord(config.imageSize), close: async () => {} };
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
    const base = { model: ck.model, optimizer, settings, step: state.step, best: newValidationSet ? null : state.best, trainSeconds: state.trainSeconds ?? 0, config };
    if (state.data) {
      if (o.data) note('resume: the run trains on the data it started with; --data, --val-data, --val-split, --frame-step and --fit apply to new runs only');
      const v = await openVideos(state.data, config, settings.frames, Rng.fromState(state.rngState), runDir, note, o.data?.memoryBudget);
      const now = JSON.stringify(v.videos.saved.files);
      if (now !== JSON.stringify(state.data.files)) {
        note(`warning: the training videos differ from those the run started with (files or frame counts); the resumed run draws other windows than an uninterrupted one would`);
      }
      return { ...base, stream: v.stream, dataset: v.dataset, videos: v.videos, close: () => closeVideos([...v.videos.train, ...v.videos.val]) };
    }
    if (o.data) throw new UserError(`${runDir} is a Moving MNIST run; --data starts a new run (choose another --out)`);
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, Rng.fromState(state.rngState), { frames: settings.frames, size: config.imageSize[0] });
    return { ...base, stream, dataset: movingMnistRecord(config.imageSize), close: async () => {} };
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
