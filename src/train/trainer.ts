/**
 * `crevnet train` as a library: CrevNet on Moving MNIST generated on the fly from MNIST train
 * digits, or on the user's videos (--data; windows of the training files, validation on held-out files,
 * src/data/video-dataset.ts), Adam with the config's learning-rate schedule, optional global-norm gradient clipping,
 * periodic validation (10→10 rollout on a fixed set generated from MNIST test digits), atomic
 * checkpoints (last/ and best/), exact resume, Ctrl-C handling and a report at the end.
 * This file is the loop; its parts: session.ts (new run or resume), step.ts (one update),
 * validation.ts, checkpoints.ts, stopping.ts (Ctrl-C, --stop-at), rundir.ts, types.ts (the API types).
 *
 * Run directory:
 *   command.txt    every command line that worked on this run (appended on each resume)
 *   metrics.jsonl  one JSON object per line: {"type":"train",step,loss,lr,gradNorm,sec,data} for every
 *                  iteration, {"type":"val",step,mse,mae,ssim,ssimStrict,psnr,best} per validation
 *   last/          checkpoint of the latest saved step (model, Adam state, data RNG, schedule position)
 *   best/          checkpoint with the highest validation SSIM (R = 2) so far (no optimizer state)
 *   cache/         video runs: each decoded video as .npy (+ .json naming its source), read again on resume
 *   loss_curve.{svg,png}, summary.json   written at the end (and on Ctrl-C / --stop-at)
 *
 * Exact resume: the schedule is a function of the step; the data stream is restored from its RNG
 * state; Adam's moments, iteration count and bias-correction accumulators are restored; so on the
 * cpu backend N iterations straight equal N/2 + --resume N/2 bit for bit.
 *
 * Data parallel (train.workers / --workers, src/run/parallel.ts): with more than one thread the batch is
 * split into shards, the main thread computes one and worker threads (own tfjs each) the others; losses,
 * gradients and BatchNorm running statistics are averaged by shard size and Adam runs once in the main
 * thread, which sends the weights with every step. Deterministic for a given seed and thread count;
 * BatchNorm batch statistics are per shard (like DDP without SyncBatchNorm). Runs saved before
 * train.workers existed resume single-threaded.
 */
import { appendFileSync } from 'node:fs';
import { appendFile, mkdir, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { configToJson } from '../model/config.js';
import { loadConfig } from '../model/config-file.js';
import { learningRateAt } from './schedule.js';
import { silentProgress, type TrainProgress } from './progress.js';
import { setLearningRate } from './state.js';
import { readMetrics, writeRunReport } from './report.js';
import { lockRunDir, recoverCheckpoint, truncateMetrics } from './rundir.js';
import { DataParallel, resolveWorkers, shardSizes } from '../run/parallel.js';
import { startSession } from './session.js';
import { optimizeStep, stepContext, type StepSetup } from './step.js';
import { improvesOn, prepareValidation, prepareVideoValidation, scoreModel, validationNote, validationRecord, VALIDATION_SEED, type ValidationSet } from './validation.js';
import type { ImageSize } from '../video/dataset.js';
import { saveBestCheckpoint, saveLastCheckpoint, trainState } from './checkpoints.js';
import { checkStopAt, earlyStop, finalStatus } from './stopping.js';
import type { StepRecord, TrainHooks, TrainOptions, TrainResult } from './types.js';
import { backendName } from '../runtime/backend.js';

export type { TrainOverrides, TrainOptions, TrainData, StepRecord, ValidationRecord, TrainHooks, TrainResult } from './types.js';
export { NonFiniteLossError } from './step.js';
export { VALIDATION_SEED } from './validation.js';

function shardList(batch: number, threads: number): string {
  return shardSizes(batch, threads).join('+');
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Run (or continue) a training run. */
export async function train(o: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const progress = o.progress ?? silentProgress;
  const note = (s: string) => progress.message(s);
  if (o.resume && !o.out) throw new UserError('--resume needs --out DIR (the run directory to continue)');
  checkStopAt(o.stopAt);

  let runDir: string;
  if (o.out) runDir = resolve(o.out);
  else {
    if (!o.config) throw new UserError('--config is required for a new training run');
    const name = (await loadConfig(o.config)).name;
    runDir = resolve('outputs', 'runs', `${name}-${timestamp()}`);
  }

  // the first directory this call creates (undefined if runDir existed): removed again if left empty
  const created = await mkdir(runDir, { recursive: true });
  try {
    const unlock = await lockRunDir(runDir);
    try {
      if (o.resume) {
        for (const name of ['last', 'best']) {
          const r = await recoverCheckpoint(runDir, name);
          if (r) note(r);
        }
      }
      return await trainLocked(o, hooks, runDir, progress, note);
    } finally {
      await unlock();
    }
  } catch (err) {
    // a run refused before it wrote anything (bad settings, bad config) leaves no empty directory behind
    if (created) await removeEmptyDirs(runDir, resolve(created));
    throw err;
  }
}

/** rmdir `dir` and its parents up to and including `top` while they are empty. */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === top) return;
  }
}

async function trainLocked(o: TrainOptions, hooks: TrainHooks, runDir: string, progress: TrainProgress, note: (s: string) => void): Promise<TrainResult> {
  const s = await startSession(o, runDir, note);
  const { model, optimizer, stream, settings } = s;
  const metricsPath = join(runDir, 'metrics.jsonl');
  const [H, W, C] = s.config.imageSize;
  const horizon = settings.frames - settings.context;
  let pool: DataParallel | undefined;
  try {
    if (horizon < 1) throw new UserError(`train.context (${settings.context}) must be smaller than train.frames (${settings.frames})`);
    // resume: drop records written after the checkpoint; new run: drop those of a run that died before its first checkpoint
    await truncateMetrics(metricsPath, s.step);
    if (o.command) {
      await appendFile(
        join(runDir, 'command.txt'),
        `# ${new Date().toISOString()} ${o.resume ? `resume at iteration ${s.step}` : 'start'} (backend ${backendName()})\n${o.command}\n`,
      );
    }

    // video runs validate on windows of the held-out files; none held out (--val-split 0): no validation, no best/
    let validation: ValidationSet | undefined;
    if (!s.videos) validation = await prepareValidation(settings, H, W, horizon);
    else if (s.videos.val.length > 0) validation = await prepareVideoValidation(settings, s.videos.val, s.videos.saved.frameStep, s.config.imageSize as ImageSize, horizon);
    else note('no held-out videos (--val-split 0): no validation, no best/ checkpoint');

    // Data parallel: the main thread and threads − 1 workers each compute one shard of the batch.
    const threads = Math.min(resolveWorkers(settings.workers), settings.batch);
    if (threads > 1) {
      pool = await DataParallel.start(model, threads);
      const batchStatistics = model.config.norm === 'batch' && !settings.freezeNorm;
      note(`data parallel: ${threads} threads (worker_threads), batch ${settings.batch} in shards of ${shardList(settings.batch, threads)}${batchStatistics ? '; BatchNorm statistics per shard' : ''}`);
    }
    const setup: StepSetup = { step: stepContext(model, optimizer, settings, pool), settings, height: H, width: W, channels: C, hooks, metricsPath, lastDir: join(runDir, 'last') };
    let best = s.best;
    let lastLoss = NaN;
    let lr = learningRateAt(settings.schedule, settings.lr, Math.max(0, s.step - 1), settings.iterations);
    let sessionSeconds = 0;
    let sessionSteps = 0;
    let trainSeconds = s.trainSeconds;
    let savedStep = o.resume ? s.step : -1;
    const recent: number[] = [];

    const state = (step: number) => trainState(s, step, { best, trainSeconds, lr });

    const saveLast = async (step: number) => {
      await saveLastCheckpoint(join(runDir, 'last'), model, optimizer, () => state(step));
      savedStep = step;
      await hooks.onCheckpoint?.('last', join(runDir, 'last'), step);
    };

    const validate = async (step: number) => {
      if (!validation) return;
      const t0 = performance.now();
      const scored = await scoreModel(validation, model, pool);
      const m = scored.report;
      const improved = improvesOn(m, best);
      if (improved) {
        best = { metric: 'ssim', value: m.ssim, mse: m.mse, step };
        await saveBestCheckpoint(join(runDir, 'best'), model, state(step));
        await hooks.onCheckpoint?.('best', join(runDir, 'best'), step);
      }
      const rec = validationRecord(step, validation, scored, improved, (performance.now() - t0) / 1000);
      appendFileSync(metricsPath, `${JSON.stringify(rec)}\n`);
      hooks.onValidation?.(rec);
      note(validationNote(validation, rec));
    };

    let status: TrainResult['status'] = 'completed';
    progress.start(settings.iterations, s.step, settings.logEvery);
    if (s.step >= settings.iterations) note(`already at iteration ${s.step} of ${settings.iterations}; nothing to train (raise --iterations to continue)`);

    let step = s.step;
    while (step < settings.iterations) {
      const stop = await earlyStop(o, step);
      if (stop) {
        status = stop;
        break;
      }
      const iteration = step + 1;
      const t0 = performance.now();
      lr = learningRateAt(settings.schedule, settings.lr, step, settings.iterations);
      setLearningRate(optimizer, lr);
      const batch = await stream.nextBatch(settings.batch);
      const dataSec = (performance.now() - t0) / 1000;
      const { loss: lossValue, gradNorm: normValue } = await optimizeStep(setup, iteration, batch, lr, savedStep);
      step = iteration;
      lastLoss = lossValue;
      const sec = (performance.now() - t0) / 1000;
      sessionSeconds += sec;
      sessionSteps++;
      trainSeconds += sec;
      recent.push(sec);
      if (recent.length > 20) recent.shift();
      const rec: StepRecord = { type: 'train', step, loss: lossValue, lr, gradNorm: normValue, sec: Math.round(sec * 1e4) / 1e4, data: Math.round(dataSec * 1e5) / 1e5 };
      appendFileSync(metricsPath, `${JSON.stringify(rec)}\n`);
      hooks.onStep?.(rec);
      const meanSec = recent.reduce((a, b) => a + b, 0) / recent.length;
      progress.step({ step, total: settings.iterations, loss: lossValue, lr, rate: 1 / meanSec, eta: (settings.iterations - step) * meanSec });

      if (settings.validateEvery > 0 && (step % settings.validateEvery === 0 || step === settings.iterations)) await validate(step);
      if (step % settings.checkpointEvery === 0 || step === settings.iterations) {
        await saveLast(step);
        note(`checkpoint @${step} → ${join(runDir, 'last')}`);
      }
    }
    status = finalStatus(o, status, step, settings.iterations);
    if (savedStep !== step) {
      await saveLast(step);
      note(`checkpoint @${step} → ${join(runDir, 'last')}${status === 'interrupted' ? ' (interrupted; continue with --resume)' : ''}`);
    }
    progress.stop();

    if (!o.skipReport) {
      const metrics = readMetrics(metricsPath);
      await writeRunReport(runDir, {
        metrics,
        baselines: validation?.baselines ?? NO_BASELINES,
        dataset: s.dataset,
        status,
        step,
        settings,
        config: configToJson(s.config),
        params: model.paramCounts(),
        best,
        trainSeconds,
        sessionSecondsPerIteration: sessionSteps ? sessionSeconds / sessionSteps : NaN,
        backend: backendName(),
        validation: { count: validation?.count ?? 0, seed: VALIDATION_SEED, context: settings.context, horizon, split: validation?.split ?? 'none' },
      });
    }
    return {
      status,
      runDir,
      step,
      iterations: settings.iterations,
      lastLoss,
      best,
      secondsPerIteration: sessionSteps ? sessionSeconds / sessionSteps : NaN,
      settings,
    };
  } finally {
    progress.stop();
    await pool?.close();
    optimizer.dispose();
    model.dispose();
    await s.close();
  }
}

const NO_BASELINES = { copyLast: { mse: NaN, ssim: NaN }, zeros: { mse: NaN, ssim: NaN } };
