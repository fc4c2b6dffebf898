/**
 * Timing statistics of the benchmark: a figure is the median of several samples with their range, taken
 * after a warm-up that runs until the step time settles; a figure whose samples spread by more than
 * SPREAD_WARNING of its median is flagged (the machine was busy, or the figure is noisy).
 */
import { median } from './timing.js';

/** Samples spread more than this fraction of their median: print a warning. */
export const SPREAD_WARNING = 0.2;

export interface Figure {
  /** seconds per run (or the unit named where the figure is reported) */
  median: number;
  min: number;
  max: number;
  /** (max − min) / median */
  spread: number;
  samples: number[];
}

export interface SettledTiming extends Figure {
  /** untimed runs before the timed ones */
  warmupRuns: number;
  /** false when the warm-up stopped at its limit before the step time settled */
  settled: boolean;
  warmupSamples: number[];
}

export function summarize(samples: readonly number[]): Figure {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const m = median([...samples]);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return { median: m, min, max, spread: m > 0 ? (max - min) / m : 0, samples: [...samples] };
}

export interface SettleOptions {
  /** timed runs after the warm-up (default 5) */
  repeats?: number;
  /** warm-up runs at least (default 1: the first run sets up XNNPACK operators and buffers) */
  minWarmup?: number;
  /** warm-up runs at most (default 10) */
  maxWarmup?: number;
  /** the last `window` warm-up runs must lie within `tolerance` of their median (default 3, 0.1) */
  window?: number;
  tolerance?: number;
  /** milliseconds clock (default performance.now; tests inject one) */
  now?: () => number;
}

/**
 * True when the last `window` samples lie within `tolerance` × their median of each other: the step
 * time no longer drifts (operator set-up, heap growth and JIT are done).
 */
export function isSettled(samples: readonly number[], window = 3, tolerance = 0.1): boolean {
  if (samples.length < window) return false;
  const last = samples.slice(-window);
  const m = median(last);
  return m > 0 && (Math.max(...last) - Math.min(...last)) / m <= tolerance;
}

/** Seconds of `run`: warm up until settled (or maxWarmup), then `repeats` timed runs. */
export async function timeSettled(run: () => unknown, o: SettleOptions = {}): Promise<SettledTiming> {
  const repeats = o.repeats ?? 5;
  const minWarmup = o.minWarmup ?? 1;
  const maxWarmup = Math.max(minWarmup, o.maxWarmup ?? 10);
  const window = o.window ?? 3;
  const tolerance = o.tolerance ?? 0.1;
  const now = o.now ?? (() => performance.now());
  const once = async () => {
    const t0 = now();
    await run();
    return (now() - t0) / 1000;
  };
  const warm: number[] = [];
  // the first run is never part of the window: it includes one-off set-up
  while (warm.length < maxWarmup && (warm.length < minWarmup || !isSettled(warm.slice(1), window, tolerance))) warm.push(await once());
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) samples.push(await once());
  return { ...summarize(samples), warmupRuns: warm.length, settled: isSettled(warm.slice(1), window, tolerance), warmupSamples: warm };
}

/** One warning line per figure whose samples spread by more than `limit` of the median. */
export function spreadWarnings(figures: Record<string, Figure | undefined>, limit = SPREAD_WARNING): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries(figures)) {
    if (!f || f.samples.length < 2 || !(f.spread > limit)) continue;
    out.push(
      `${name}: samples spread ${(100 * f.spread).toFixed(0)}% of the median (${f.min.toPrecision(3)}–${f.max.toPrecision(3)}, median ${f.median.toPrecision(3)}), more than ${(100 * limit).toFixed(0)}%: the machine is probably busy; compare ratios from one run`,
    );
  }
  return out;
}
