/**
 * When a training loop stops before its last iteration: an aborted `signal` (Ctrl-C) → 'interrupted',
 * `stopAt` iterations done → 'stopped'. Either way the loop saves a checkpoint and returns.
 */
import { UserError } from '../runtime/errors.js';
import type { TrainOptions, TrainResult } from './types.js';

export type EarlyStop = Exclude<TrainResult['status'], 'completed'>;

export function checkStopAt(stopAt: number | undefined): void {
  if (stopAt !== undefined && (!Number.isInteger(stopAt) || stopAt < 1)) throw new UserError(`--stop-at must be a positive integer, got ${stopAt}`);
}

/** Checked before each iteration, with `step` iterations done. */
export async function earlyStop(o: Pick<TrainOptions, 'signal' | 'stopAt'>, step: number): Promise<EarlyStop | undefined> {
  // Let pending macrotasks run (signal handlers): tensor reads resolve as microtasks only, so
  // without this a Ctrl-C would be noticed only at the next checkpoint's file I/O.
  await new Promise<void>((r) => setImmediate(r));
  if (o.signal?.aborted) return 'interrupted';
  if (o.stopAt !== undefined && step >= o.stopAt) return 'stopped';
  return undefined;
}

/** Status after the loop: 'interrupted' when aborted with iterations left. */
export function finalStatus(o: Pick<TrainOptions, 'signal'>, status: TrainResult['status'], step: number, iterations: number): TrainResult['status'] {
  return o.signal?.aborted && status === 'completed' && step < iterations ? 'interrupted' : status;
}
