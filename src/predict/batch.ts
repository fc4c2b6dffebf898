/**
 * Predict many videos: inputs are files, directories (their videos, by extension) and glob patterns.
 * Decoding and encoding (ffmpeg child processes) run on an I/O queue with bounded concurrency. Inference
 * runs on every core: the clips decoded while a rollout runs are batched into the next one, which is split
 * over `workers` threads (DataParallel, src/run/parallel.ts); the frames do not depend on the batching or
 * the thread count (eval-mode normalisation is per sample). One input runs on this thread alone: a single
 * sequence's rollout is a chain of dependent steps that data parallelism cannot split.
 * One bad file does not stop the others: each input gets either a PredictResult or a failure with its message.
 */
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import PQueue from 'p-queue';
import type { CrevNet } from '../model/crevnet.js';
import { DataParallel, resolveWorkers, type WorkersSetting } from '../run/parallel.js';
import { CrevnetError, errorMessage, exitCodeOf, UserError } from '../runtime/errors.js';
import { checkWritableOutput, type VideoFormat } from '../video/ffmpeg.js';
import {
  DEFAULT_OUT_DIR,
  formatFromPath,
  inferClips,
  loadClip,
  makeResult,
  meanSsim,
  modelClipPredictor,
  modelFrameSize,
  writePrediction,
  type Clip,
  type ClipPrediction,
  type ClipPredictor,
  type PredictOptions,
  type PredictResult,
} from './predict.js';

export interface BatchFailure {
  input: string;
  error: string;
  /** 2 = bad input, 1 = internal failure */
  exitCode: number;
}

export type BatchResult = PredictResult | BatchFailure;

export function isFailure(r: BatchResult): r is BatchFailure {
  return 'error' in r;
}

export interface BatchOptions extends Omit<PredictOptions, 'out' | 'probe'> {
  /** one input: the output file (or an existing directory to put it in); several: an existing directory */
  out?: string;
  /** concurrent ffmpeg processes (decode/encode); default os.availableParallelism() */
  concurrency?: number;
  /** threads for the rollouts (main included): a count, or 'auto' (default; see resolveWorkers); one input uses one */
  workers?: WorkersSetting;
  /** called with one line per finished input (success or failure) and its result */
  onProgress?: (line: string, result: BatchResult) => void;
}

export interface OutputPlan {
  input: string;
  out: string;
  format: VideoFormat;
}

export { expandInputs } from '../video/inputs.js';

/**
 * Decide every output path up front and check that each can be written (before anything is decoded).
 * Default: outputs/predict/<input name>.<format> (the directory is created). Name clashes get a -2, -3… suffix,
 * and an output never overwrites one of the inputs.
 */
export async function planOutputs(inputs: string[], opts: { out?: string; format?: VideoFormat }): Promise<OutputPlan[]> {
  const single = inputs.length === 1;
  let dir: string | undefined;
  let file: string | undefined;
  if (opts.out) {
    const st = await stat(opts.out).catch(() => undefined);
    if (st?.isDirectory()) dir = opts.out;
    else if (single) file = opts.out;
    else if (st) throw new UserError(`--out ${opts.out} is a file; with ${inputs.length} inputs it must be a directory`);
    else throw new UserError(`output directory ${opts.out} does not exist (with several inputs --out is a directory)`);
  } else {
    dir = DEFAULT_OUT_DIR; // created when the first output is written
  }
  const format = opts.format ?? (file ? formatFromPath(file) : undefined) ?? 'mp4';
  const taken = new Set(inputs.map((i) => resolve(i)));
  const plans: OutputPlan[] = [];
  for (const input of inputs) {
    let out: string;
    if (file) {
      out = file;
      if (taken.has(resolve(out))) throw new UserError(`--out ${file} is the input itself; choose another name`);
    } else {
      const name = basename(input, extname(input)) || 'video';
      out = join(dir as string, `${name}.${format}`);
      for (let k = 2; taken.has(resolve(out)); k++) out = join(dir as string, `${name}-${k}.${format}`);
    }
    taken.add(resolve(out));
    await checkWritableOutput(out, { createDirs: !opts.out });
    plans.push({ input, out, format });
  }
  return plans;
}

function fmtSeconds(s: number): string {
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

function fmtFps(f: number): string {
  return Number.isInteger(f) ? String(f) : f.toFixed(2);
}

/**
 * Batches the clips that arrive while a rollout runs into the next rollout (at most `max` clips): one
 * rollout at a time, each over all threads of the predictor.
 */
export class ClipBatcher {
  private pending: { clip: Clip; resolve: (p: ClipPrediction) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  /** clips per rollout, in order (for tests and progress) */
  readonly batches: number[] = [];

  constructor(
    private readonly predictor: ClipPredictor,
    private readonly max: number,
  ) {}

  infer(clip: Clip): Promise<ClipPrediction> {
    return new Promise((resolve, reject) => {
      this.pending.push({ clip, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const batch = this.pending.splice(0, this.max);
    this.batches.push(batch.length);
    inferClips(
      this.predictor,
      batch.map((b) => b.clip),
    )
      .then((r) => batch.forEach((b, i) => b.resolve(r[i]!)))
      .catch((e: unknown) => batch.forEach((b) => b.reject(e)))
      .finally(() => {
        this.running = false;
        this.next();
      });
  }
}

/** Run the prediction pipeline over planned inputs; never throws for a single bad input. */
export async function predictBatch(model: CrevNet, plans: OutputPlan[], opts: BatchOptions = {}): Promise<BatchResult[]> {
  const size = modelFrameSize(model);
  const ioConcurrency = opts.concurrency ?? availableParallelism();
  const io = new PQueue({ concurrency: ioConcurrency });
  // one input: no pool (a batch of one runs on one thread anyway, and starting workers takes time)
  const threads = Math.max(1, Math.min(resolveWorkers(opts.workers ?? 'auto'), plans.length));
  const pool = threads > 1 ? await DataParallel.start(model, threads) : undefined;
  // two clips per thread: enough to keep every thread busy, few enough to start writing early
  const maxBatch = 2 * threads;
  const batcher = new ClipBatcher(pool ? (d, sh, h) => pool.predict(d, sh, h) : modelClipPredictor(model), maxBatch);
  // bound the number of inputs in flight so decoded clips do not pile up in memory waiting for inference
  const slots = new PQueue({ concurrency: ioConcurrency + maxBatch });
  const results: BatchResult[] = new Array(plans.length);
  let finished = 0;
  const total = plans.length;
  const width = String(total).length;
  const progress = (line: string, result: BatchResult): void => {
    finished++;
    opts.onProgress?.(`[${String(finished).padStart(width)}/${total}] ${line}`, result);
  };
  const context = opts.context ?? 10;

  const one = async (plan: OutputPlan, index: number): Promise<void> => {
    const t0 = performance.now();
    try {
      const clip = await io.add(() => loadClip(plan.input, size, opts));
      const prediction = await batcher.infer(clip);
      // encodes go first on the I/O queue: they finish work that is already paid for
      await io.add(
        () => writePrediction(clip, prediction, plan.out, { format: plan.format, compare: opts.compare, scale: opts.scale }),
        { priority: 1 },
      );
      const r = makeResult(clip, prediction, plan.out, context, (performance.now() - t0) / 1000);
      results[index] = r;
      const ssim = meanSsim(r);
      progress(
        `${plan.input}: ${r.inputFrames} frames @ ${fmtFps(r.fps)} fps → ${plan.out} (${fmtSeconds(r.seconds)} s` +
          `${ssim === undefined ? '' : `, SSIM ${ssim.toFixed(3)}`})`,
        r,
      );
    } catch (err) {
      const msg = errorMessage(err);
      const failure: BatchFailure = {
        input: plan.input,
        error: msg,
        exitCode: err instanceof CrevnetError ? exitCodeOf(err) : 1,
      };
      results[index] = failure;
      progress(`${plan.input}: failed: ${msg}`, failure);
    }
  };

  try {
    await Promise.all(plans.map((p, i) => slots.add(() => one(p, i))));
    await io.onIdle();
  } finally {
    await pool?.close();
  }
  return results;
}

/** Summary table: input, frames, fps, output, seconds, SSIM (mean over the ground-truth frames, where it exists). */
export function summaryTable(results: BatchResult[]): string {
  const header = ['input', 'frames', 'fps', 'output', 'seconds', 'SSIM'];
  const rows = results.map((r) =>
    isFailure(r)
      ? [r.input, '-', '-', 'FAILED (below)', '-', '-']
      : [
          r.input,
          String(r.inputFrames),
          fmtFps(r.fps),
          r.output,
          fmtSeconds(r.seconds),
          meanSsim(r)?.toFixed(3) ?? '-',
        ],
  );
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const numeric = new Set([1, 2, 4, 5]);
  const line = (row: string[]): string =>
    row
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : c === row.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const failed = results.filter(isFailure);
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (failed.length === 0) {
    lines.push(`${results.length} input${results.length === 1 ? '' : 's'}, all predicted`);
  } else {
    lines.push(`${failed.length} of ${results.length} input${results.length === 1 ? '' : 's'} failed:`);
    for (const f of failed) lines.push(`  ${f.input}: ${f.error}`);
  }
  return lines.join('\n');
}

/** Exit code for a batch: 0 when all succeeded; 1 if any failure was internal; else 2 (bad input). */
export function batchExitCode(results: BatchResult[]): number {
  const failed = results.filter(isFailure);
  if (failed.length === 0) return 0;
  return failed.some((f) => f.exitCode !== 2) ? 1 : 2;
}
