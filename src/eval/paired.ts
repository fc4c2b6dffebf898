/**
 * Is the model better than a baseline on a predicted frame, or is the gap noise? Both forecasters
 * score the same sequences, so the question is about the mean of the per-sequence differences
 * (model − baseline), whose 95% interval is mean ± 1.96·sd/√n (normal approximation; n is in the
 * hundreds or thousands here). A frame is "better" or "worse" only when the interval excludes 0.
 */
import type { MetricsAccumulator } from './metrics.js';

export type Verdict = 'better' | 'tied' | 'worse';

export interface FrameComparison {
  /** mean over sequences of model − baseline */
  diff: number;
  /** 95% interval of that mean */
  lo: number;
  hi: number;
  /** from the model's side: 'better' when the whole interval favours the model */
  verdict: Verdict;
}

/** two-sided 95% normal quantile */
export const Z95 = 1.959964;

export const PAIRED_METHOD =
  'per predicted frame, mean over the same sequences of (model − baseline), 95% interval mean ± 1.96·sd/√n; "better"/"worse" only when the interval excludes 0';

/**
 * Per step: `model[t][i]` and `baseline[t][i]` are the scores of sequence i at step t.
 * `higherIsBetter` is true for SSIM, false for MSE.
 */
export function pairedComparison(
  model: readonly (readonly number[])[],
  baseline: readonly (readonly number[])[],
  higherIsBetter: boolean,
  z = Z95,
): FrameComparison[] {
  if (model.length !== baseline.length) throw new RangeError(`pairedComparison: ${model.length} steps vs ${baseline.length}`);
  return model.map((m, t) => {
    const b = baseline[t]!;
    const n = m.length;
    if (b.length !== n) throw new RangeError(`pairedComparison: step ${t} has ${n} model scores but ${b.length} baseline scores`);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += m[i]! - b[i]!;
    const diff = n > 0 ? sum / n : NaN;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (m[i]! - b[i]! - diff) ** 2;
    // one sequence says nothing about the spread: an unbounded interval, hence "tied"
    const half = n > 1 ? (z * Math.sqrt(ss / (n - 1))) / Math.sqrt(n) : Infinity;
    const lo = diff - half;
    const hi = diff + half;
    const favours = (v: number) => (higherIsBetter ? v > 0 : v < 0);
    const verdict: Verdict = !Number.isFinite(lo) || !Number.isFinite(hi) ? 'tied' : favours(lo) && favours(hi) ? 'better' : favours(-lo) && favours(-hi) ? 'worse' : 'tied';
    return { diff, lo, hi, verdict };
  });
}

/** Against several baselines at once: better only if better than each, worse if worse than any. */
export function combineVerdicts(perBaseline: readonly (readonly FrameComparison[])[]): Verdict[] {
  const steps = perBaseline[0]?.length ?? 0;
  return Array.from({ length: steps }, (_, t) => {
    const v = perBaseline.map((c) => c[t]!.verdict);
    return v.includes('worse') ? 'worse' : v.every((x) => x === 'better') ? 'better' : 'tied';
  });
}

export function countVerdicts(v: readonly Verdict[]): Record<Verdict, number> {
  const c: Record<Verdict, number> = { better: 0, tied: 0, worse: 0 };
  for (const x of v) c[x]++;
  return c;
}

export interface PairedMetrics {
  mse: FrameComparison[];
  ssim: FrameComparison[];
}

/** Per frame, in MSE and SSIM, `model` − `other` on the sequences both scored (a baseline or a second model). */
export function comparePaired(model: MetricsAccumulator, other: MetricsAccumulator): PairedMetrics {
  return {
    mse: pairedComparison(model.sequenceScores('mse'), other.sequenceScores('mse'), false),
    ssim: pairedComparison(model.sequenceScores('ssim'), other.sequenceScores('ssim'), true),
  };
}

/** The model against both baselines, per frame, in MSE and SSIM (the comparison section of an eval report). */
export interface EvalComparison {
  method: string;
  copyLast: PairedMetrics;
  zeros: PairedMetrics;
  /** per frame, against both baselines: better than each, worse than either, or tied */
  bothBaselines: { mse: Verdict[]; ssim: Verdict[] };
}

/** Per frame, in MSE and SSIM: is the model's gap to each baseline more than noise? */
export function compareWithBaselines(model: MetricsAccumulator, copyLast: MetricsAccumulator, zeros: MetricsAccumulator): EvalComparison {
  const c = comparePaired(model, copyLast);
  const z = comparePaired(model, zeros);
  return {
    method: PAIRED_METHOD,
    copyLast: c,
    zeros: z,
    bothBaselines: { mse: combineVerdicts([c.mse, z.mse]), ssim: combineVerdicts([c.ssim, z.ssim]) },
  };
}
