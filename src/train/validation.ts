/**
 * Validation of a training run: a fixed set generated from MNIST test digits (the two baselines on it
 * are computed once, for the plot) and the periodic rollout scoring of the model on it (context →
 * frames − context, eval-mode normalisation).
 *
 * "best" is chosen by validation SSIM (OpenSTL convention, R = 2) rather than MSE: under a short
 * budget the rollout first learns a blurry mean, which lowers MSE while SSIM (which punishes haze
 * on the black background) still gets worse — SSIM tracks visual quality, and the bundled model's quality
 * bar is stated in it.
 */
import { loadMnistDigits } from '../data/idx.js';
import { Rng } from '../data/rng.js';
import { generateSequences } from '../data/moving-mnist.js';
import type { TrainConfig } from './config.js';
import { fixedWindows, materialiseWindows, type DecodedVideo, type ImageSize } from '../video/dataset.js';
import type { CrevNet } from '../model/crevnet.js';
import { ArraySequenceSource } from '../eval/sources.js';
import { copyLastForecaster, modelForecaster, parallelModelForecaster, runForecasters, zerosForecaster, type ArrayPredictor } from '../eval/forecast.js';
import type { MetricsAccumulator, MetricsReport } from '../eval/metrics.js';
import { compareWithBaselines, countVerdicts, type Verdict } from '../eval/paired.js';
import type { ValidationBaselines } from './report.js';
import type { BestScore } from './state.js';
import type { ValidationRecord } from './types.js';

/** Seed of the validation set (MNIST test digits); `crevnet eval` uses seed 0, so the two differ. */
export const VALIDATION_SEED = 1;

export interface ValidationSet {
  /** what the set is, for the run's summary (e.g. "MNIST test digits") */
  split: string;
  /** sequences */
  count: number;
  /** sequences per forecast call */
  batch: number;
  context: number;
  horizon: number;
  /** a fresh reader of the set */
  source(): ArraySequenceSource;
  baselines: ValidationBaselines;
  /** the baselines' per-frame scores (index = step of the horizon) */
  baselinesPerFrame: Record<keyof ValidationBaselines, FrameCurves>;
  /** the baselines' score of every frame, for the paired per-frame verdicts */
  baselineScores: Record<keyof ValidationBaselines, MetricsAccumulator>;
}

/** The model's scores on the validation set: the summary and every frame's score. */
export interface ModelScores {
  report: MetricsReport;
  scores: MetricsAccumulator;
}

/** Per-frame MSE and SSIM curves. */
export interface FrameCurves {
  mse: number[];
  ssim: number[];
}

function frameCurves(m: MetricsReport): FrameCurves {
  return { mse: m.perFrame.mse, ssim: m.perFrame.ssim };
}

/** Generate the run's validation set and score the copy-last and black-frame baselines on it. */
export async function prepareValidation(settings: TrainConfig, height: number, width: number, horizon: number): Promise<ValidationSet> {
  const testDigits = await loadMnistDigits('test');
  const count = settings.validationSequences;
  const data = generateSequences(testDigits, count, new Rng(VALIDATION_SEED), { frames: settings.frames, size: height });
  const source = () => new ArraySequenceSource(data, settings.frames, count, height, width, `validation: ${count} sequences, MNIST test digits, seed ${VALIDATION_SEED}`);
  return withBaselines(settings, horizon, count, source, 'MNIST test digits');
}

/**
 * A video run's validation set: fixed windows of the held-out files (non-overlapping, round-robin over the files,
 * at most train.validationSequences), never a window of a training file.
 */
export async function prepareVideoValidation(settings: TrainConfig, videos: DecodedVideo[], frameStep: number, imageSize: ImageSize, horizon: number): Promise<ValidationSet> {
  const refs = fixedWindows(videos, settings.frames, frameStep, settings.validationSequences);
  const data = await materialiseWindows(videos, refs, settings.frames, frameStep, imageSize);
  const [height, width, channels] = imageSize;
  const count = refs.length;
  const what = `validation: ${count} windows of ${videos.length} held-out video${videos.length === 1 ? '' : 's'}`;
  const source = () => new ArraySequenceSource(data, settings.frames, count, height, width, what, channels);
  return withBaselines(settings, horizon, count, source, `held-out videos (${videos.length} files)`);
}

async function withBaselines(settings: TrainConfig, horizon: number, count: number, source: () => ArraySequenceSource, split: string): Promise<ValidationSet> {
  const batch = Math.min(count, 16);
  const base = await runForecasters(source(), { copyLast: copyLastForecaster, zeros: zerosForecaster }, { context: settings.context, horizon, batch });
  const baselines: ValidationBaselines = {
    copyLast: { mse: base.reports.copyLast!.mse, ssim: base.reports.copyLast!.ssim },
    zeros: { mse: base.reports.zeros!.mse, ssim: base.reports.zeros!.ssim },
  };
  const baselinesPerFrame = { copyLast: frameCurves(base.reports.copyLast!), zeros: frameCurves(base.reports.zeros!) };
  const baselineScores = { copyLast: base.accumulators.copyLast!, zeros: base.accumulators.zeros! };
  return { split, count, batch, context: settings.context, horizon, source, baselines, baselinesPerFrame, baselineScores };
}

/** The model's scores on the validation set; with `pool` (the training DataParallel of `model`, which sends the current weights) the rollout is sharded over its threads. */
export async function scoreModel(v: ValidationSet, model: CrevNet, pool?: ArrayPredictor): Promise<ModelScores> {
  const forecaster = pool ? parallelModelForecaster(pool) : modelForecaster(model);
  const r = await runForecasters(v.source(), { model: forecaster }, { context: v.context, horizon: v.horizon, batch: v.batch });
  return { report: r.reports.model!, scores: r.accumulators.model! };
}

/** Per frame, against both baselines at once: better / tied / worse by the paired 95% interval (src/eval/paired.ts). */
export function frameVerdicts(s: ModelScores, v: ValidationSet): { mse: Verdict[]; ssim: Verdict[] } {
  return compareWithBaselines(s.scores, v.baselineScores.copyLast, v.baselineScores.zeros).bothBaselines;
}

/** A finite SSIM above the best so far. */
export function improvesOn(m: MetricsReport, best: BestScore | null): boolean {
  return Number.isFinite(m.ssim) && (best === null || m.ssim > best.value);
}

/**
 * On how many predicted frames the model's mean beats both baselines (lower MSE, higher SSIM than copy-last
 * and black frames), however small the margin; frameVerdicts says which margins are more than noise.
 */
export function framesBeatingBaselines(m: MetricsReport, v: ValidationSet): { mse: number; ssim: number; frames: number } {
  const b = Object.values(v.baselinesPerFrame);
  const count = (beats: (i: number) => boolean) => m.perFrame.mse.filter((_, i) => beats(i)).length;
  return {
    mse: count((i) => b.every((c) => m.perFrame.mse[i]! < c.mse[i]!)),
    ssim: count((i) => b.every((c) => m.perFrame.ssim[i]! > c.ssim[i]!)),
    frames: m.perFrame.mse.length,
  };
}

export function validationRecord(
  step: number,
  v: ValidationSet,
  s: ModelScores,
  improved: boolean,
  sec: number,
): ValidationRecord & { verdicts: { mse: Verdict[]; ssim: Verdict[] } } {
  const m = s.report;
  return {
    type: 'val',
    step,
    count: v.count,
    mse: m.mse,
    mae: m.mae,
    ssim: m.ssim,
    ssimStrict: m.ssimStrict,
    psnr: m.psnr,
    perFrame: frameCurves(m),
    framesBeatingBaselines: framesBeatingBaselines(m, v),
    verdicts: frameVerdicts(s, v),
    best: improved,
    sec,
  };
}

/** One progress line (from the record): the scores next to the black-frame baseline, and the frames won beyond noise. */
export function validationNote(v: ValidationSet, rec: ValidationRecord & { verdicts: { mse: Verdict[]; ssim: Verdict[] } }): string {
  const zeros = v.baselines.zeros;
  const { verdicts } = rec;
  const part = (name: string, x: Verdict[]) => {
    const c = countVerdicts(x);
    return `${name} on ${c.better}/${x.length} frames (worse on ${c.worse})`;
  };
  return (
    `validation @${rec.step}: SSIM ${rec.ssim.toFixed(4)} MSE ${rec.mse.toFixed(1)} (black frames ${zeros.ssim.toFixed(4)} / ${zeros.mse.toFixed(1)}); ` +
    `better than both baselines beyond noise in ${part('SSIM', verdicts.ssim)}, ${part('MSE', verdicts.mse)}${rec.best ? ' → best/' : ''}`
  );
}
