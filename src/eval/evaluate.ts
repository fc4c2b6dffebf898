/**
 * `crevnet eval` as a library: the 10→10 test rollout of a checkpoint on a data set (the published
 * mnist_test_seq.npy, any .npy in its layout, or sequences generated from MNIST test digits), scored
 * with the OpenSTL metrics beside two trivial baselines (copy the last context frame; black frames),
 * in batches, with optional report files. The model's rollout runs on `workers` threads
 * (DataParallel, src/run/parallel.ts): each batch is split over the main thread and worker threads.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { CrevNet } from '../model/crevnet.js';
import { DataParallel, resolveWorkers, type WorkersSetting } from '../run/parallel.js';
import { GeneratedSequenceSource, NpySequenceSource, DEFAULT_EVAL_COUNT, DEFAULT_EVAL_SEED, openVideoSequenceSource, type SequenceSource } from './sources.js';
import type { DecodeProgress, ImageSize, SkippedVideo } from '../video/dataset.js';
import type { FitMode } from '../video/ffmpeg.js';
import { datasetRecordOf, describeDataset, savedTrainDataOf, type DatasetRecord, type SavedTrainData } from '../data/dataset-record.js';
import { splitFiles } from '../video/dataset.js';
import { expandInputs } from '../video/inputs.js';

/** The held-out files of a video run: as its checkpoint lists them, or (older checkpoints) its split made again. */
async function heldOutFiles(d: SavedTrainData | undefined, label: string): Promise<string[]> {
  if (!d) throw new UserError(`--held-out needs a model trained on videos (crevnet train --data); ${label} was not`);
  let files = d.valFiles;
  if (!files) {
    const all = await expandInputs(d.inputs, '--data');
    files = d.valInputs && d.valInputs.length > 0 ? await expandInputs(d.valInputs, '--val-data') : splitFiles(all, { valSplit: d.valSplit }).val;
  }
  if (files.length === 0) throw new UserError(`${label} held out no videos (trained with --val-split 0); give --data <videos> instead`);
  return files;
}
import { copyLastForecaster, modelForecaster, parallelModelForecaster, runForecasters, zerosForecaster, type Forecaster, type Predictor } from './forecast.js';
import { METRIC_CONVENTIONS, metricsSummary, writeEvalOutputs, type EvalReport, type WrittenEvalFiles } from './report.js';
import { resolveModelDir } from '../model/pretrained.js';
import { comparePaired, compareWithBaselines } from './paired.js';
import { backendName } from '../runtime/backend.js';

/** Length of a generated evaluation sequence (the protocol's 20 frames). */
export const GENERATED_FRAMES = 20;

export interface EvalOptions {
  /** checkpoint or run directory; undefined or 'default' = the bundled model */
  model?: string;
  /**
   * one .npy file (time-major uint8 (T, N, H, W) or (T, N, H, W, C)), or videos (files, directories, globs: fixed
   * windows of context + horizon frames, src/video/dataset.ts); otherwise sequences are generated
   */
  data?: string | string[];
  /**
   * score the held-out videos of the model's own training run (a model trained with --data): the files its
   * checkpoint names as held out, with the run's frame step and fit
   */
  heldOut?: boolean;
  /** videos: take every k-th frame (default 1) */
  frameStep?: number;
  /** videos: fit of the frames to the model's size (default crop) */
  fit?: FitMode;
  /** videos: progress of the decode */
  onDecode?: (p: DecodeProgress) => void;
  /** videos: a file that was skipped (undecodable or too short), reported once */
  onSkip?: (s: SkippedVideo) => void;
  /** generated: number of sequences (default 10 000); with --data: evaluate only the first `count` */
  count?: number;
  /** generated: seed (default 0) */
  seed?: number;
  context?: number;
  horizon?: number;
  batch?: number;
  /** directory for report.json, per_frame.csv, per_frame.png/.svg, samples.png/.svg */
  out?: string;
  /** sequences in the strip image (default 4) */
  stripCount?: number;
  /** threads for the model's rollout (main included): a count, or 'auto' (default; see resolveWorkers) */
  workers?: WorkersSetting;
  /**
   * score the decoder's raw frames instead of the frames the model returns, clamped to [0, 1]
   * (both models of a --versus test); SSIM and PSNR clip anyway, so only MSE and MAE change
   */
  rawOutput?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** use this predictor instead of loading a checkpoint (tests, the trainer) */
  predictor?: EvalPredictor;
  modelLabel?: string;
  /**
   * a second model (checkpoint or run directory, or a bundled model's name) scored on the same
   * sequences; the report's `versus` gives model − versus per frame with a paired 95% interval
   */
  versus?: string;
  /** use this predictor as the versus model instead of loading `versus` (tests) */
  versusPredictor?: EvalPredictor;
  versusLabel?: string;
  signal?: AbortSignal;
}

export type EvalPredictor = Predictor & { config?: { name?: string; imageSize?: number[] } };

interface LoadedPredictor {
  predictor: Predictor;
  label: string;
  configName?: string;
  imageSize: number[];
  /** what the checkpoint was trained on */
  dataset?: DatasetRecord;
  /** a video run's data (the checkpoint's training state) */
  trainData?: SavedTrainData;
  dispose: () => void;
}

/** The in-memory predictor if given, else the checkpoint that `model` names (undefined = the default). */
async function loadPredictor(model: string | undefined, given: EvalPredictor | undefined, label: string | undefined): Promise<LoadedPredictor> {
  if (given) {
    return { predictor: given, label: label ?? 'in-memory model', configName: given.config?.name, imageSize: given.config?.imageSize ?? [64, 64, 1], dispose: () => {} };
  }
  const where = resolveModelDir(model);
  const ck = await loadCheckpoint(where.dir);
  for (const t of ck.optimizerWeights ?? []) t.tensor.dispose();
  return {
    predictor: ck.model,
    label: label ?? where.label,
    configName: ck.model.config.name,
    imageSize: ck.model.config.imageSize,
    dataset: datasetRecordOf(ck.state, ck.model.config.imageSize),
    trainData: savedTrainDataOf(ck.state),
    dispose: () => ck.model.dispose(),
  };
}

export interface EvalResult {
  report: EvalReport;
  files?: WrittenEvalFiles;
}

function checkProtocol(context: number, horizon: number): void {
  if (!Number.isInteger(context) || context < 3) throw new UserError(`--context must be an integer ≥ 3 (the rollout needs 3 known frames), got ${context}`);
  if (!Number.isInteger(horizon) || horizon < 1) throw new UserError(`--horizon must be a positive integer, got ${horizon}`);
}

/** One .npy file is a sequence array; anything else given to --data is videos. */
export function isNpyData(data: string | string[]): data is string | [string] {
  const list = typeof data === 'string' ? [data] : data;
  return list.length === 1 && /\.npy$/i.test(list[0]!);
}

/** Open the data source named by the options (validates shape against the model's frame size). */
export async function openEvalSource(o: {
  data?: string | string[];
  count?: number;
  seed?: number;
  height: number;
  width: number;
  channels?: number;
  /** frames per sequence for video windows (context + horizon) */
  frames?: number;
  frameStep?: number;
  fit?: FitMode;
  onDecode?: (p: DecodeProgress) => void;
  onSkip?: (s: SkippedVideo) => void;
}): Promise<SequenceSource> {
  if (o.count !== undefined && (!Number.isInteger(o.count) || o.count < 1)) throw new UserError(`--count must be a positive integer, got ${o.count}`);
  const channels = o.channels ?? 1;
  if (o.data !== undefined && (typeof o.data === 'string' || o.data.length > 0)) {
    if (o.seed !== undefined) throw new UserError('--seed applies to generated data only; it cannot be combined with --data');
    if (isNpyData(o.data)) {
      if (o.frameStep !== undefined || o.fit !== undefined) throw new UserError('--frame-step and --fit apply to videos, not to a .npy file');
      return NpySequenceSource.open(typeof o.data === 'string' ? o.data : o.data[0], { height: o.height, width: o.width, channels, count: o.count });
    }
    return openVideoSequenceSource({
      inputs: typeof o.data === 'string' ? [o.data] : o.data,
      frames: o.frames ?? GENERATED_FRAMES,
      frameStep: o.frameStep,
      fit: o.fit,
      imageSize: [o.height, o.width, channels] as ImageSize,
      count: o.count,
      onProgress: o.onDecode,
      onSkip: o.onSkip,
    });
  }
  if (o.frameStep !== undefined || o.fit !== undefined) throw new UserError('--frame-step and --fit apply to --data videos');
  if (channels !== 1) {
    throw new UserError(`the model takes ${channels}-channel frames; generated Moving MNIST is grayscale: evaluate it on its own kind of data with --data <videos or .npy>`);
  }
  if (o.height !== o.width) throw new UserError(`generated Moving MNIST frames are square; the model expects ${o.height}×${o.width}`);
  return GeneratedSequenceSource.create(o.count ?? DEFAULT_EVAL_COUNT, o.seed ?? DEFAULT_EVAL_SEED, GENERATED_FRAMES, o.height);
}

export async function evaluate(o: EvalOptions): Promise<EvalResult> {
  const context = o.context ?? 10;
  const horizon = o.horizon ?? 10;
  const batch = o.batch ?? 16;
  checkProtocol(context, horizon);
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`--batch must be a positive integer, got ${batch}`);
  const workers = o.workers ?? 'auto';
  if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1)) throw new UserError(`--workers must be 'auto' or a positive integer, got ${String(workers)}`);
  if (!o.data && !o.heldOut && context + horizon > GENERATED_FRAMES) {
    throw new UserError(`--context ${context} + --horizon ${horizon} = ${context + horizon} frames, but generated sequences have ${GENERATED_FRAMES}`);
  }

  const loaded: LoadedPredictor[] = [];
  const pools: DataParallel[] = [];
  try {
    const main = await loadPredictor(o.model, o.predictor, o.modelLabel);
    loaded.push(main);
    let data = o.data;
    let frameStep = o.frameStep;
    let fit = o.fit;
    if (o.heldOut) {
      if (o.data !== undefined) throw new UserError('--held-out takes the files from the model\'s run; it cannot be combined with --data');
      data = await heldOutFiles(main.trainData, main.label);
      frameStep ??= main.trainData!.frameStep;
      fit ??= main.trainData!.fit;
    }
    const versus = o.versus !== undefined || o.versusPredictor ? await loadPredictor(o.versus, o.versusPredictor, o.versusLabel) : undefined;
    if (versus) {
      loaded.push(versus);
      if (versus.imageSize.join('×') !== main.imageSize.join('×')) {
        throw new UserError(`--versus: the two models take different frames (${main.imageSize.join('×')} vs ${versus.imageSize.join('×')})`);
      }
    }
    const [height, width, channels] = main.imageSize as [number, number, number];
    const source = await openEvalSource({
      data,
      count: o.count,
      seed: o.seed,
      height,
      width,
      channels,
      frames: context + horizon,
      frameStep,
      fit,
      onDecode: o.onDecode,
      onSkip: o.onSkip,
    });
    try {
      if (context + horizon > source.frames) {
        throw new UserError(`--context ${context} + --horizon ${horizon} = ${context + horizon} frames, but ${typeof data === 'string' ? data : (data?.join(' ') ?? 'the data')} has ${source.frames} frames per sequence`);
      }
      const threadsWanted = Math.min(resolveWorkers(workers), batch, source.count);
      const raw = o.rawOutput ?? false;
      // only a CrevNet can be copied into worker threads
      const forecasterOf = async (p: Predictor): Promise<{ forecaster: Forecaster; threads: number }> => {
        if (!(p instanceof CrevNet) || threadsWanted <= 1) return { forecaster: modelForecaster(p, raw), threads: 1 };
        const pool = await DataParallel.start(p, threadsWanted);
        pools.push(pool);
        return { forecaster: parallelModelForecaster(pool, raw), threads: threadsWanted };
      };
      const { forecaster: model, threads } = await forecasterOf(main.predictor);
      const forecasters: Record<string, Forecaster> = { model };
      if (versus) forecasters.versus = (await forecasterOf(versus.predictor)).forecaster;
      forecasters.copyLast = copyLastForecaster;
      forecasters.zeros = zerosForecaster;
      const run = await runForecasters(source, forecasters, { context, horizon, batch, stripCount: o.stripCount ?? 4, stripOf: 'model', onProgress: o.onProgress, signal: o.signal });
      const m = run.reports.model!;
      const report: EvalReport = {
        model: main.label,
        ...(main.configName ? { modelConfig: main.configName } : {}),
        ...(main.dataset ? { trainedOn: describeDataset(main.dataset) } : {}),
        data: source.description,
        dataInfo: source.info,
        standard: source.standard && run.count === source.count,
        count: run.count,
        context,
        horizon,
        frameIndex: Array.from({ length: horizon }, (_, i) => context + i),
        output: raw ? 'raw' : 'clamped',
        mse: m.mse,
        mae: m.mae,
        ssim: m.ssim,
        ssimStrict: m.ssimStrict,
        psnr: m.psnr,
        perFrame: m.perFrame,
        baseline: { copyLast: metricsSummary(run.reports.copyLast!), zeros: metricsSummary(run.reports.zeros!) },
        comparison: compareWithBaselines(run.accumulators.model!, run.accumulators.copyLast!, run.accumulators.zeros!),
        ...(versus
          ? {
              versus: {
                model: versus.label,
                ...(versus.configName ? { modelConfig: versus.configName } : {}),
                ...metricsSummary(run.reports.versus!),
                comparison: comparePaired(run.accumulators.model!, run.accumulators.versus!),
              },
            }
          : {}),
        seconds: run.seconds,
        sequencesPerSecond: run.count / Math.max(run.seconds, 1e-9),
        backend: backendName(),
        workers: threads,
        timing: run.timing,
        conventions: METRIC_CONVENTIONS,
      };
      const files = o.out ? await writeEvalOutputs(o.out, report, run.strips, height, width, channels) : undefined;
      return { report, files };
    } finally {
      await source.close();
    }
  } finally {
    for (const pool of pools) await pool.close();
    for (const l of loaded) l.dispose();
  }
}
