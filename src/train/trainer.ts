/**
 * `crevnet train` as a library: CrevNet on Moving MNIST generated on the fly from MNIST train
 * digits, Adam with the config's learning-rate schedule, optional global-norm gradient clipping,
 * periodic validation (10→10 rollout on a fixed set generated from MNIST test digits), atomic
 * checkpoints (last/ and best/), exact resume, Ctrl-C handling and a report at the end.
 *
 * Run directory:
 *   command.txt    every command line that worked on this run (appended on each resume)
 *   metrics.jsonl  one JSON object per line: {"type":"train",step,loss,lr,gradNorm,sec} for every
 *                  iteration, {"type":"val",step,mse,mae,ssim,ssimStrict,psnr,best} per validation
 *   last/          checkpoint of the latest saved step (model, Adam state, data RNG, schedule position)
 *   best/          checkpoint with the highest validation SSIM (R = 2) so far (no optimizer state)
 *   loss_curve.{svg,png}, summary.json   written at the end (and on Ctrl-C / --stop-at)
 *
 * Exact resume: the schedule is a function of the step; the data stream is restored from its RNG
 * state; Adam's moments, iteration count and bias-correction accumulators are restored; so on the
 * cpu backend N iterations straight equal N/2 + --resume N/2 bit for bit.
 *
 * Data parallel (train.workers / --workers, src/train/parallel.ts): with more than one thread the batch is
 * split into shards, the main thread computes one and worker threads (own tfjs each) the others; losses,
 * gradients and BatchNorm running statistics are averaged by shard size and Adam runs once in the main
 * thread, which sends the weights with every step. Deterministic for a given seed and thread count;
 * BatchNorm batch statistics are per shard (like DDP without SyncBatchNorm). Runs saved before
 * train.workers existed resume single-threaded.
 *
 * "best" is chosen by validation SSIM (OpenSTL convention, R = 2) rather than MSE: under a short
 * budget the rollout first learns a blurry mean, which lowers MSE while SSIM (which punishes haze
 * on the black background) still gets worse — SSIM tracks visual quality and the bar of issue 7.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CrevnetError, UserError } from '../runtime/errors.js';
import { loadMnistDigits } from '../data/idx.js';
import { Rng } from '../data/rng.js';
import { MovingMnistStream, generateSequences } from '../data/moving-mnist.js';
import { configToJson, loadConfig, TrainConfigSchema, type ModelConfig, type TrainConfig } from '../model/config.js';
import { CrevNet } from '../model/crevnet.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { ArraySequenceSource, u8ToFloat } from '../eval/sources.js';
import { copyLastForecaster, modelForecaster, runForecasters, zerosForecaster } from '../eval/forecast.js';
import { writeFileAtomic } from '../report/files.js';
import { learningRateAt } from './schedule.js';
import { silentProgress, type TrainProgress } from './progress.js';
import {
  adamAccumulators,
  parseTrainState,
  restoreAdamAccumulators,
  setLearningRate,
  TRAIN_STATE_KIND,
  TRAIN_STATE_VERSION,
  type BestScore,
  type TrainState,
} from './state.js';
import { readMetrics, writeRunReport, type ValidationBaselines } from './report.js';
import { lockRunDir, recoverCheckpoint } from './rundir.js';
import { DataParallel, resolveWorkers, shardSizes } from './parallel.js';

/** Seed of the validation set (MNIST test digits); `crevnet eval` uses seed 0, so the two differ. */
export const VALIDATION_SEED = 1;

export type TrainOverrides = Partial<
  Pick<TrainConfig, 'iterations' | 'batch' | 'lr' | 'seed' | 'mode' | 'gradClip' | 'checkpointEvery' | 'validateEvery' | 'validationSequences' | 'logEvery' | 'workers'>
>;

export interface TrainOptions {
  /** config name or path; required for a new run, optional with `resume` (must match the checkpoint) */
  config?: string;
  /** run directory (default outputs/runs/<config>-<timestamp>; required with `resume`) */
  out?: string;
  resume?: boolean;
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

/** A non-finite loss or gradient: training stops without touching the last checkpoint. */
export class NonFiniteLossError extends CrevnetError {
  constructor(
    message: string,
    readonly iteration: number,
  ) {
    super(message, 1);
    this.name = 'NonFiniteLossError';
  }
}

function shardList(batch: number, threads: number): string {
  return shardSizes(batch, threads).join('+');
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function validateSettings(s: unknown, source: string): TrainConfig {
  const r = TrainConfigSchema.safeParse(s);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(`${source}: train.${i.path.map(String).join('.')}: ${i.message}`);
  }
  return r.data;
}

function definedOverrides(o: TrainOverrides | undefined): TrainOverrides {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out as TrainOverrides;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Keep only metrics.jsonl records up to `step` (lines written after the checkpoint are replayed). */
async function truncateMetrics(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const keep: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { step?: number };
      if (typeof r.step === 'number' && r.step <= step) keep.push(line);
    } catch {
      // a line cut by a kill: drop it
    }
  }
  await writeFileAtomic(path, keep.length ? `${keep.join('\n')}\n` : '');
}

interface Session {
  model: CrevNet;
  optimizer: tf.AdamOptimizer;
  stream: MovingMnistStream;
  settings: TrainConfig;
  step: number;
  best: BestScore | null;
  trainSeconds: number;
  config: ModelConfig;
}

async function startSession(o: TrainOptions, runDir: string, note: (s: string) => void): Promise<Session> {
  const overrides = definedOverrides(o.overrides);
  const lastDir = join(runDir, 'last');
  if (!o.resume) {
    if (!o.config) throw new UserError('--config is required for a new training run');
    if (existsSync(lastDir)) throw new UserError(`${runDir} already holds a training run (last/); pass --resume to continue it or choose another --out`);
    const config = await loadConfig(o.config);
    const settings = validateSettings({ ...config.train, ...overrides }, o.config);
    config.train = settings;
    const model = CrevNet.create(config, settings.seed);
    const optimizer = tf.train.adam(settings.lr, settings.betas[0], settings.betas[1], settings.epsilon);
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, new Rng(settings.seed), { frames: settings.frames, size: config.imageSize[0] });
    return { model, optimizer, stream, settings, step: 0, best: null, trainSeconds: 0, config };
  }

  if (!existsSync(lastDir)) throw new UserError(`nothing to resume: ${lastDir} does not exist`);
  const ck = await loadCheckpoint(lastDir);
  try {
    const state = parseTrainState(ck.state, lastDir);
    const saved = ck.model.config;
    if (o.config) {
      const given = await loadConfig(o.config);
      const a = configToJson(given);
      const b = configToJson(saved);
      if (!sameJson(a.model, b.model)) {
        throw new UserError(`--config ${o.config} describes a different model than the checkpoint in ${lastDir} (config "${saved.name}"); resume without --config or start a new run with another --out`);
      }
    }
    if (overrides.seed !== undefined && overrides.seed !== state.settings.seed) {
      throw new UserError(`--seed ${overrides.seed} differs from the run's seed ${state.settings.seed}; the seed only applies to a new run`);
    }
    if (overrides.validationSequences !== undefined && overrides.validationSequences !== state.settings.validationSequences) {
      throw new UserError(`the validation set size is fixed for a run (${state.settings.validationSequences} sequences); start a new run to change it`);
    }
    // runs saved before train.workers existed were trained single-threaded: keep that on resume
    const settings = validateSettings({ workers: 1, ...(state.settings as Partial<TrainConfig>), ...overrides }, lastDir);
    for (const k of Object.keys(overrides) as (keyof TrainOverrides)[]) {
      if (!sameJson(state.settings[k], settings[k])) note(`resume: ${k} ${JSON.stringify(state.settings[k])} → ${JSON.stringify(settings[k])}`);
    }
    if (settings.iterations !== state.settings.iterations && settings.schedule.type === 'onecycle') {
      note('warning: changing --iterations reshapes the one-cycle schedule from here on');
    }
    const config = saved;
    config.train = settings;
    const optimizer = tf.train.adam(settings.lr, settings.betas[0], settings.betas[1], settings.epsilon);
    if (ck.optimizerWeights && ck.optimizerWeights.length > 0) {
      await optimizer.setWeights(ck.optimizerWeights);
      if (state.adam) restoreAdamAccumulators(optimizer, state.adam);
    } else if (state.step > 0) {
      throw new UserError(`${lastDir} has no optimizer state; it cannot be resumed exactly`);
    }
    const digits = await loadMnistDigits('train');
    const stream = new MovingMnistStream(digits, Rng.fromState(state.rngState), { frames: settings.frames, size: config.imageSize[0] });
    return { model: ck.model, optimizer, stream, settings, step: state.step, best: state.best, trainSeconds: state.trainSeconds ?? 0, config };
  } catch (err) {
    ck.model.dispose();
    throw err;
  } finally {
    for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
  }
}

/** Run (or continue) a training run. */
export async function train(o: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const progress = o.progress ?? silentProgress;
  const note = (s: string) => progress.message(s);
  if (o.resume && !o.out) throw new UserError('--resume needs --out DIR (the run directory to continue)');
  if (o.stopAt !== undefined && (!Number.isInteger(o.stopAt) || o.stopAt < 1)) throw new UserError(`--stop-at must be a positive integer, got ${o.stopAt}`);

  let runDir: string;
  if (o.out) runDir = resolve(o.out);
  else {
    if (!o.config) throw new UserError('--config is required for a new training run');
    const name = (await loadConfig(o.config)).name;
    runDir = resolve('outputs', 'runs', `${name}-${timestamp()}`);
  }

  await mkdir(runDir, { recursive: true });
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
}

async function trainLocked(o: TrainOptions, hooks: TrainHooks, runDir: string, progress: TrainProgress, note: (s: string) => void): Promise<TrainResult> {
  const s = await startSession(o, runDir, note);
  const { model, optimizer, stream, settings } = s;
  const metricsPath = join(runDir, 'metrics.jsonl');
  const [H, W] = s.config.imageSize;
  const horizon = settings.frames - settings.context;
  let pool: DataParallel | undefined;
  try {
    if (horizon < 1) throw new UserError(`train.context (${settings.context}) must be smaller than train.frames (${settings.frames})`);
    // resume: drop records written after the checkpoint; new run: drop those of a run that died before its first checkpoint
    await truncateMetrics(metricsPath, s.step);
    if (o.command) {
      await appendFile(
        join(runDir, 'command.txt'),
        `# ${new Date().toISOString()} ${o.resume ? `resume at iteration ${s.step}` : 'start'} (backend ${tf.getBackend()})\n${o.command}\n`,
      );
    }

    // Fixed validation set from MNIST test digits, and the two baselines on it (for the plot).
    const testDigits = await loadMnistDigits('test');
    const valCount = settings.validationSequences;
    const valData = generateSequences(testDigits, valCount, new Rng(VALIDATION_SEED), { frames: settings.frames, size: H });
    const valSource = () => new ArraySequenceSource(valData, settings.frames, valCount, H, W, `validation: ${valCount} sequences, MNIST test digits, seed ${VALIDATION_SEED}`);
    const valBatch = Math.min(valCount, 16);
    const base = await runForecasters(valSource(), { copyLast: copyLastForecaster, zeros: zerosForecaster }, { context: settings.context, horizon, batch: valBatch });
    const baselines: ValidationBaselines = {
      copyLast: { mse: base.reports.copyLast!.mse, ssim: base.reports.copyLast!.ssim },
      zeros: { mse: base.reports.zeros!.mse, ssim: base.reports.zeros!.ssim },
    };

    const vars = model.trainableVariables();
    // Data parallel: the main thread and threads − 1 workers each compute one shard of the batch.
    const threads = Math.min(resolveWorkers(settings.workers), settings.batch);
    if (threads > 1) {
      pool = await DataParallel.start(model, threads);
      note(`data parallel: ${threads} threads (worker_threads), batch ${settings.batch} in shards of ${shardList(settings.batch, threads)}; BatchNorm statistics per shard`);
    }
    let best = s.best;
    let lastLoss = NaN;
    let lr = learningRateAt(settings.schedule, settings.lr, Math.max(0, s.step - 1), settings.iterations);
    let sessionSeconds = 0;
    let sessionSteps = 0;
    let trainSeconds = s.trainSeconds;
    let savedStep = o.resume ? s.step : -1;
    const recent: number[] = [];

    const state = (step: number): TrainState => ({
      kind: TRAIN_STATE_KIND,
      version: TRAIN_STATE_VERSION,
      step,
      rngState: stream.rngState(),
      settings,
      best,
      adam: adamAccumulators(optimizer),
      trainSeconds,
      lr,
      savedAt: new Date().toISOString(),
    });

    const saveLast = async (step: number) => {
      // getWeights() creates a fresh int32 'iter' scalar (the other tensors are the optimizer's own
      // variables); checkpoints hold float32 only, and float32 counts exactly up to 2^24 iterations.
      const weights = await optimizer.getWeights();
      const fresh = weights.filter((w) => w.name === 'iter').map((w) => w.tensor);
      // (not toFloat(): on cpu an int32→float32 cast keeps the Int32Array, so its bytes would be ints)
      const saved = weights.map((w) => (w.name === 'iter' ? { name: w.name, tensor: tf.scalar(w.tensor.dataSync()[0]!, 'float32') } : w));
      for (const w of saved) if (w.name === 'iter') fresh.push(w.tensor);
      try {
        await saveCheckpoint(join(runDir, 'last'), { model, optimizerWeights: saved, state: state(step) as unknown as Record<string, unknown> });
      } finally {
        tf.dispose(fresh);
      }
      savedStep = step;
      await hooks.onCheckpoint?.('last', join(runDir, 'last'), step);
    };

    const validate = async (step: number) => {
      const t0 = performance.now();
      const r = await runForecasters(valSource(), { model: modelForecaster(model) }, { context: settings.context, horizon, batch: valBatch });
      const m = r.reports.model!;
      const improved = Number.isFinite(m.ssim) && (best === null || m.ssim > best.value);
      if (improved) {
        best = { metric: 'ssim', value: m.ssim, mse: m.mse, step };
        await saveCheckpoint(join(runDir, 'best'), { model, state: state(step) as unknown as Record<string, unknown> });
        await hooks.onCheckpoint?.('best', join(runDir, 'best'), step);
      }
      const rec: ValidationRecord = {
        type: 'val',
        step,
        count: valCount,
        mse: m.mse,
        mae: m.mae,
        ssim: m.ssim,
        ssimStrict: m.ssimStrict,
        psnr: m.psnr,
        best: improved,
        sec: (performance.now() - t0) / 1000,
      };
      appendFileSync(metricsPath, `${JSON.stringify(rec)}\n`);
      hooks.onValidation?.(rec);
      note(
        `validation @${step}: SSIM ${m.ssim.toFixed(4)} MSE ${m.mse.toFixed(1)} (black frames ${baselines.zeros.ssim.toFixed(4)} / ${baselines.zeros.mse.toFixed(1)})${improved ? ' → best/' : ''}`,
      );
    };

    let status: TrainResult['status'] = 'completed';
    progress.start(settings.iterations, s.step, settings.logEvery);
    if (s.step >= settings.iterations) note(`already at iteration ${s.step} of ${settings.iterations}; nothing to train (raise --iterations to continue)`);

    let step = s.step;
    while (step < settings.iterations) {
      // Let pending macrotasks run (signal handlers): tensor reads resolve as microtasks only, so
      // without this a Ctrl-C would be noticed only at the next checkpoint's file I/O.
      await new Promise<void>((r) => setImmediate(r));
      if (o.signal?.aborted) {
        status = 'interrupted';
        break;
      }
      if (o.stopAt !== undefined && step >= o.stopAt) {
        status = 'stopped';
        break;
      }
      const iteration = step + 1;
      const t0 = performance.now();
      lr = learningRateAt(settings.schedule, settings.lr, step, settings.iterations);
      setLearningRate(optimizer, lr);
      const batch = stream.nextBatch(settings.batch);
      const shape: [number, number, number, number, number] = [settings.frames, settings.batch, H, W, 1];
      const lossOpts = { mode: settings.mode, context: settings.context };
      let lossValue: number;
      let normValue: number;
      let value: tf.Scalar;
      let grads: tf.NamedTensorMap;
      if (pool) {
        ({ value, grads } = await pool.gradients(u8ToFloat(batch), shape, lossOpts, hooks.lossHook ? (l) => hooks.lossHook!(iteration, l) : undefined));
      } else {
        const x = tf.tensor5d(u8ToFloat(batch), shape);
        try {
          ({ value, grads } = tf.variableGrads(() => {
            const l = model.loss(x, lossOpts);
            return hooks.lossHook ? hooks.lossHook(iteration, l) : l;
          }, vars));
        } finally {
          x.dispose();
        }
      }
      try {
        const list = vars.map((v) => ({ name: v.name, tensor: grads[v.name] ?? tf.zerosLike(v) }));
        const norm = tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g.tensor))))));
        [lossValue, normValue] = [(await value.data())[0]!, (await norm.data())[0]!];
        norm.dispose();
        if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
          const what = !Number.isFinite(lossValue) ? `loss (${lossValue})` : `gradient norm (${normValue})`;
          appendFileSync(metricsPath, `${JSON.stringify({ type: 'error', step: iteration, loss: String(lossValue), gradNorm: String(normValue), lr })}\n`);
          const kept = savedStep >= 0 ? `the last good checkpoint ${join(runDir, 'last')} (iteration ${savedStep}) is untouched` : 'no checkpoint was written';
          throw new NonFiniteLossError(`non-finite ${what} at iteration ${iteration} (lr ${lr.toExponential(2)}); training stopped, ${kept}; lower --lr or set train.gradClip`, iteration);
        }
        const clip = settings.gradClip;
        if (clip !== null && normValue > clip) {
          const scale = clip / (normValue + 1e-6);
          const clipped = list.map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, scale) }));
          optimizer.applyGradients(clipped);
          tf.dispose(clipped.map((g) => g.tensor));
        } else {
          optimizer.applyGradients(list);
        }
        for (const g of list) if (!grads[g.name]) g.tensor.dispose();
      } finally {
        value.dispose();
        tf.dispose(Object.values(grads));
      }
      step = iteration;
      lastLoss = lossValue;
      const sec = (performance.now() - t0) / 1000;
      sessionSeconds += sec;
      sessionSteps++;
      trainSeconds += sec;
      recent.push(sec);
      if (recent.length > 20) recent.shift();
      const rec: StepRecord = { type: 'train', step, loss: lossValue, lr, gradNorm: normValue, sec: Math.round(sec * 1e4) / 1e4 };
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
    if (o.signal?.aborted && status === 'completed' && step < settings.iterations) status = 'interrupted';
    if (savedStep !== step) {
      await saveLast(step);
      note(`checkpoint @${step} → ${join(runDir, 'last')}${status === 'interrupted' ? ' (interrupted; continue with --resume)' : ''}`);
    }
    progress.stop();

    if (!o.skipReport) {
      const metrics = readMetrics(metricsPath);
      await writeRunReport(runDir, {
        metrics,
        baselines,
        status,
        step,
        settings,
        config: configToJson(s.config),
        params: model.paramCounts(),
        best,
        trainSeconds,
        sessionSecondsPerIteration: sessionSteps ? sessionSeconds / sessionSteps : NaN,
        backend: tf.getBackend(),
        validation: { count: valCount, seed: VALIDATION_SEED, context: settings.context, horizon },
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
  }
}
