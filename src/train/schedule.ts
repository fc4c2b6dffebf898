/**
 * Learning-rate schedules, a pure function of the step (0-based index of the iteration about to
 * run), so a resumed run gets exactly the rates of an uninterrupted one.
 *
 * - constant:   lr
 * - step:       lr · gamma^(number of milestones ≤ step)          (PyTorch MultiStepLR)
 * - onecycle:   PyTorch OneCycleLR (cosine or linear annealing), three_phase = false:
 *               warm-up from lr/divFactor to lr over pctStart·total steps, then down to
 *               lr/(divFactor·finalDivFactor) at the last step; `lr` is the peak (max_lr).
 */

import type { ScheduleConfig } from './config.js';

/** The `train.schedule` section of a config (src/train/config.ts); `anneal` defaults to 'cos'. */
export type Schedule =
  | { type: 'constant' }
  | { type: 'step'; milestones: number[]; gamma: number }
  | { type: 'onecycle'; pctStart: number; divFactor: number; finalDivFactor: number; anneal?: 'cos' | 'linear' };

// The config schema's parsed type must be usable as a Schedule.
const _check: (s: ScheduleConfig) => Schedule = (s) => s;
void _check;

function cosineAnneal(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

function linearAnneal(start: number, end: number, pct: number): number {
  return (end - start) * pct + start;
}

/**
 * Learning rate for iteration `step` (0-based) of a run of `totalSteps` iterations with base
 * (peak, for one-cycle) rate `lr`. Steps at or past the end keep the final rate.
 */
export function learningRateAt(schedule: Schedule, lr: number, step: number, totalSteps: number): number {
  switch (schedule.type) {
    case 'constant':
      return lr;
    case 'step': {
      let k = 0;
      for (const m of schedule.milestones) if (step >= m) k++;
      return lr * schedule.gamma ** k;
    }
    case 'onecycle': {
      const initial = lr / schedule.divFactor;
      const min = initial / schedule.finalDivFactor;
      // PyTorch: phase ends at float(pct_start * total_steps) - 1 and total_steps - 1.
      const end1 = schedule.pctStart * totalSteps - 1;
      const end2 = totalSteps - 1;
      const anneal = schedule.anneal === 'linear' ? linearAnneal : cosineAnneal;
      const s = Math.min(step, end2);
      if (s <= end1) return end1 <= 0 ? lr : anneal(initial, lr, s / end1);
      const span = end2 - end1;
      return span <= 0 ? min : anneal(lr, min, (s - end1) / span);
    }
  }
}

/** One-line description, e.g. "onecycle(peak 5e-4, 30% warm-up)". */
export function describeSchedule(schedule: Schedule, lr: number): string {
  switch (schedule.type) {
    case 'constant':
      return `constant ${lr}`;
    case 'step':
      return `step decay from ${lr}, ×${schedule.gamma} at [${schedule.milestones.join(', ')}]`;
    case 'onecycle':
      return `one-cycle, peak ${lr}, ${Math.round(schedule.pctStart * 100)}% warm-up, div ${schedule.divFactor}/${schedule.finalDivFactor}`;
  }
}
