/** The public contract of `train()` (trainer.ts): its options and hooks, the records it logs, its result. */
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config.js';
import type { TrainProgress } from './progress.js';
import type { BestScore } from './state.js';
import type { Verdict } from '../eval/paired.js';
import type { FitMode } from '../video/ffmpeg.js';

/**
 * Training settings that override the config's (or, on resume, the run's). The sequence shape
 * (frames, context) and the optimizer's constants (betas, epsilon, schedule) come from the config only.
 */
export type TrainOverrides = Partial<Omit<TrainConfig, 'frames' | 'context' | 'betas' | 'epsilon' | 'schedule'>>;

/** Train on the user's videos instead of Moving MNIST (src/data/video-dataset.ts). */
export interface TrainData {
  /** files, directories, globs */
  inputs: string[];
  /** held-out files, directories, globs (instead of valSplit) */
  valInputs?: string[];
  /** fraction of the files held out for validation, by file (default 0.2 for 2 or more files) */
  valSplit?: number;
  /** take every k-th frame (default 1) */
  frameStep?: number;
  /** fit of the frames to the config's imageSize (default crop) */
  fit?: FitMode;
  /** bytes of decoded frames kept in memory (default 2 GiB; the rest is read from the run's .npy cache) */
  memoryBudget?: number;
}

export interface TrainOptions {
  /** videos to train on (default: Moving MNIST generated on the fly); on resume the run's own data is used */
  data?: TrainData;
  /** config name or path; required for a new run, optional with `resume` (must match the checkpoint) */
  config?: string;
  /** run directory (default outputs/runs/<config>-<timestamp>; required with `resume`) */
  out?: string;
  resume?: boolean;
  /** new run: start from this checkpoint's weights (its architecture must match the config) instead of a fresh init */
  initFrom?: string;
  overrides?: TrainOverrides;
  /** save a checkpoint and stop once this many iterations are done (the schedule still spans `iterations`) */
  stopAt?: number;
  /** aborting saves a checkpoint after the current iteration and returns status 'interrupted' */
  signal?: AbortSignal;
  /** the command line, appended to command.txt */
  command?: string;
  progress?: TrainProgress;
  /** skip loss_curve/summary at the end (tests) */
  skipReport?: boolean;
}

export interface StepRecord {
  type: 'train';
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  sec: number;
  /** seconds of `sec` spent waiting for the batch (data loading) */
  data?: number;
}

export interface ValidationRecord {
  type: 'val';
  step: number;
  count: number;
  mse: number;
  mae: number;
  ssim: number;
  ssimStrict: number;
  psnr: number;
  /** per predicted frame (absent in logs written before it was added) */
  perFrame?: { mse: number[]; ssim: number[] };
  /** frames on which the model beats both the copy-last and black-frame baselines, per metric */
  framesBeatingBaselines?: { mse: number; ssim: number; frames: number };
  /** per frame, against both baselines: better / tied / worse by a paired 95% interval (absent in older logs) */
  verdicts?: { mse: Verdict[]; ssim: Verdict[] };
  best: boolean;
  sec: number;
}

export interface TrainHooks {
  onStep?(r: StepRecord): void;
  onValidation?(r: ValidationRecord): void;
  onCheckpoint?(kind: 'last' | 'best', dir: string, step: number): void | Promise<void>;
  /** test hook: transform the loss inside the gradient tape (e.g. inject a NaN) */
  lossHook?(iteration: number, loss: tf.Scalar): tf.Scalar;
}

export interface TrainResult {
  status: 'completed' | 'interrupted' | 'stopped';
  runDir: string;
  step: number;
  iterations: number;
  lastLoss: number;
  best: BestScore | null;
  /** mean seconds per iteration in this session (validation and checkpoints excluded) */
  secondsPerIteration: number;
  settings: TrainConfig;
}
