/**
 * Validation of a training run: a fixed set generated from MNIST test digits (the two baselines on it
 * are computed once, for the plot) and the periodic rollout scoring of the model on it (context →
 * frames − context, eval-mode normalisation).
 *
 * "best" is chosen by validation SSIM (OpenSTL convention, R = 2) rather than MSE: under a short
 * budget the rollout first learns a blurry mean, which lowers MSE while SSIM (which punishes haze
 * on the black background) still gets worse — SSIM tracks visual quality and the bar of issue 7.
 */
import { loadMnistDigits } from '../data/idx.js';
import { Rng } from '../data/rng.js';
import { generateSequences } from '../data/moving-mnist.js';
import type { TrainConfig } from '../model/config.js';
import type { CrevNet } from '../model/crevnet.js';
import { ArraySequenceSource } from '../eval/sources.js';
import { copyLastForecaster, modelForecaster, parallelModelForecaster, runForecasters, zerosForecaster, type ArrayPredictor } from '../eval/forecast.js';
import type { MetricsReport } from '../eval/metrics.js';
import type { ValidationBaselines } from './report.js';
import type { BestScore } from './state.js';
import type { ValidationRecord } from './types.js';

/** Seed of the validation set (MNIST test digits); `crevnet eval` uses seed 0, so the two differ. */
export const VALIDATION_SEED = 1;

export interface ValidationSet {
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
  const batch = Math.min(count, 16);
  const base = await runForecasters(source(), { copyLast: copyLastForecaster, zeros: zerosForecaster }, { context: settings.context, horizon, batch });
  const baselines: ValidationBaselines = {
    copyLast: { mse: base.reports.copyLast!.mse, ssim: base.reports.copyLast!.ssim },
    zeros: { mse: base.reports.zeros!.mse, ssim: base.reports.zeros!.ssim },
  };
  const baselinesPerFrame = { copyLast: frameCurves(base.reports.copyLast!), zeros: frameCurves(base.reports.zeros!) };
  return { count, batch, context: settings.context, horizon, source, baselines, baselinesPerFrame };
}

/** The model's scores on the validation set; with `pool` (the training DataParallel of `model`, which sends the current weights) the rollout is sharded over its threads. */
export async function scoreModel(v: ValidationSet, model: CrevNet, pool?: ArrayPredictor): Promise<MetricsReport> {
  const forecaster = pool ? parallelModelForecaster(pool) : modelForecaster(model);
  const r = await runForecasters(v.source(), { model: forecaster }, { context: v.context, horizon: v.horizon, batch: v.batch });
  return r.reports.model!;
}

/** A finite SSIM above the best so far. */
export function improvesOn(m: MetricsReport, best: BestScore | null): boolean {
  return Number.isFinite(m.ssim) && (best === null || m.ssim > best.value);
}

/**
 * On how many predicted frames the model beats both baselines (lower MSE, higher SSIM than copy-last and
 * black frames): the first half of the bundled model's quality bar.
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

export function validationRecord(step: number, v: ValidationSet, m: MetricsReport, improved: boolean, sec: number): ValidationRecord {
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
    best: improved,
    sec,
  };
}

/** One progress line: the scores next to the black-frame baseline. */
export function validationNote(step: number, v: ValidationSet, m: MetricsReport, improved: boolean): string {
  const zeros = v.baselines.zeros;
  const f = framesBeatingBaselines(m, v);
  return (
    `validation @${step}: SSIM ${m.ssim.toFixed(4)} MSE ${m.mse.toFixed(1)} (black frames ${zeros.ssim.toFixed(4)} / ${zeros.mse.toFixed(1)}); ` +
    `beats both baselines in SSIM on ${f.ssim}/${f.frames} frames, in MSE on ${f.mse}/${f.frames}${improved ? ' → best/' : ''}`
  );
}
