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
  return { count, batch, context: settings.context, horizon, source, baselines };
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
    best: improved,
    sec,
  };
}

/** One progress line: the scores next to the black-frame baseline. */
export function validationNote(step: number, v: ValidationSet, m: MetricsReport, improved: boolean): string {
  const zeros = v.baselines.zeros;
  return `validation @${step}: SSIM ${m.ssim.toFixed(4)} MSE ${m.mse.toFixed(1)} (black frames ${zeros.ssim.toFixed(4)} / ${zeros.mse.toFixed(1)})${improved ? ' → best/' : ''}`;
}
