/**
 * Where a training step's or a rollout's time goes: tf.profile's kernel list aggregated by kernel name
 * (count, total ms, share) and, for the top kernels, by input shapes, with the multiply-accumulates of
 * the convolution and matmul kernels and the rate they ran at (GMAC/s). Profiling adds per-kernel
 * overhead, so compare shares within one profile; the gap between the unprofiled wall time and the
 * summed kernel time is JS work between kernels (tape, tensor bookkeeping) plus the profiler's own.
 */
import * as tf from '@tensorflow/tfjs';
import { CrevNet } from '../model/crevnet.js';
import type { ModelConfig } from '../model/config.js';
import { loadConfig } from '../model/config-file.js';
import { loadTrainingConfig, parseTrainConfig, type TrainConfig } from '../train/config.js';
import { benchTrainStep } from './harness.js';
import { backendName } from '../runtime/backend.js';

export interface KernelStat {
  name: string;
  /** a composite op (tf.customGrad body, fused-op wrapper) whose time includes the kernels it ran */
  scope: boolean;
  count: number;
  totalMs: number;
  share: number;
  /** multiply-accumulates of all calls (convolutions and matmuls; 0 for other kernels) */
  macs: number;
}

export interface ShapeStat {
  name: string;
  inputShapes: string;
  count: number;
  totalMs: number;
  macs: number;
}

export interface StepProfile {
  /** what was profiled: one training step or one test rollout */
  kind: 'train' | 'rollout';
  backend: string;
  config: string;
  batch: number;
  /** training: frames per sequence; rollout: context + horizon */
  frames: number;
  /** wall time of the profiled run (inflated by profiling) */
  wallMs: number;
  /** wall time of an unprofiled run (median of a few) */
  plainWallMs: number;
  /** summed time of real kernels (scopes excluded) */
  kernelMs: number;
  /** real kernels run (scopes excluded) */
  kernelCount: number;
  /** convolution + matmul multiply-accumulates of the run */
  macs: number;
  /** time of the kernels that do them */
  macKernelMs: number;
  peakBytes: number;
  byKernel: KernelStat[];
  byShape: ShapeStat[];
}

const prod = (s: readonly number[] | undefined) => (s ? s.reduce((a, b) => a * b, 1) : 0);

/**
 * Multiply-accumulates of one kernel call from its input and output shapes: a conv2d does
 * |output| · kh·kw·Cin, a weight gradient |dy| · kh·kw·Cin (its output is the filter), a batched
 * matmul |output| · K. 0 for every other kernel.
 */
export function kernelMacs(name: string, inputShapes: (number[] | undefined)[], outputShapes: (number[] | undefined)[]): number {
  const out = outputShapes[0];
  if (!out) return 0;
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const f = inputShapes[1];
      return f && f.length === 4 ? prod(out) * f[0]! * f[1]! * f[2]! : 0;
    }
    case 'Conv2DBackpropFilter': {
      const dy = inputShapes[1];
      return dy && out.length === 4 ? prod(dy) * out[0]! * out[1]! * out[2]! : 0;
    }
    case 'Conv2DBackpropInput': {
      // inputs: dy, filter [kh,kw,Cin,Cout]; output dx: |dx| · kh·kw·Cout (stride 1)
      const f = inputShapes[1];
      return f && f.length === 4 ? prod(out) * f[0]! * f[1]! * f[3]! : 0;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = inputShapes[0];
      if (!a || a.length < 2 || out.length < 2) return 0;
      // K: the dimension of a that is neither its batch nor one of the output's m/n dims
      const batch = prod(out.slice(0, -2));
      const m = out[out.length - 2]!;
      const n = out[out.length - 1]!;
      const k = prod(a) / batch / m;
      return Number.isInteger(k) ? batch * m * n * k : batch * m * n * (prod(a) / batch / n);
    }
    default:
      return 0;
  }
}

/** tf.profile of `run` aggregated by kernel and by kernel × input shapes. */
export async function profileKernels(run: () => unknown, o: { topShapes?: number } = {}): Promise<Omit<StepProfile, 'kind' | 'config' | 'batch' | 'frames' | 'plainWallMs'>> {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await run();
  });
  const wallMs = performance.now() - t0;
  const byName = new Map<string, { count: number; totalMs: number; macs: number }>();
  const byShapeMap = new Map<string, ShapeStat>();
  let kernelMs = 0;
  let kernelCount = 0;
  let macs = 0;
  let macKernelMs = 0;
  const backend = tf.getBackend();
  const isScope = (name: string) => tf.getKernel(name, backend) === undefined;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const m = isScope(k.name) ? 0 : kernelMacs(k.name, k.inputShapes, k.outputShapes);
    if (!isScope(k.name)) {
      kernelMs += ms;
      kernelCount++;
      if (m > 0) {
        macs += m;
        macKernelMs += ms;
      }
    }
    const e = byName.get(k.name) ?? { count: 0, totalMs: 0, macs: 0 };
    e.count++;
    e.totalMs += ms;
    e.macs += m;
    byName.set(k.name, e);
    const shapes = JSON.stringify(k.inputShapes);
    const key = `${k.name} ${shapes}`;
    const s = byShapeMap.get(key) ?? { name: k.name, inputShapes: shapes, count: 0, totalMs: 0, macs: 0 };
    s.count++;
    s.totalMs += ms;
    s.macs += m;
    byShapeMap.set(key, s);
  }
  const byKernel = [...byName.entries()]
    .map(([name, e]) => ({ name, scope: isScope(name), count: e.count, totalMs: e.totalMs, share: kernelMs > 0 ? e.totalMs / kernelMs : 0, macs: e.macs }))
    .sort((a, b) => b.totalMs - a.totalMs);
  const byShape = [...byShapeMap.values()]
    .filter((s) => !isScope(s.name))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, o.topShapes ?? 25);
  return { backend, wallMs, kernelMs, kernelCount, macs, macKernelMs, peakBytes: info.peakBytes, byKernel, byShape };
}

async function medianMs(fn: () => unknown, runs: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}

/**
 * Profile one training step (`crevnet train`'s, see benchTrainStep) of a named config, or of a config
 * object with training settings `train` (default: the train section's defaults).
 */
export async function profileTrainStep(
  o: { config?: string | ModelConfig; train?: TrainConfig; batch?: number; frames?: number; seed?: number; topShapes?: number } = {},
): Promise<StepProfile> {
  const { model: config, train: settings } =
    typeof o.config === 'object' ? { model: o.config, train: o.train ?? parseTrainConfig({}, 'train defaults') } : await loadTrainingConfig(o.config ?? 'small');
  const batch = o.batch ?? 4;
  const frames = o.frames ?? 20;
  const [h, w, c] = config.imageSize;
  const model = CrevNet.create(config, o.seed ?? 0);
  const r = tf.randomUniform([frames, batch, h, w, c], 0, 1, 'float32', 1);
  const data = ((await r.data()) as Float32Array).slice();
  r.dispose();
  const step = benchTrainStep(model, settings, data, [frames, batch, h, w, c]);
  try {
    await step.run(); // warm-up (XNNPACK operator set-up, Adam state)
    const plainWallMs = await medianMs(() => step.run(), 3);
    const p = await profileKernels(() => step.run(), o);
    return { kind: 'train', config: config.name, batch, frames, plainWallMs, ...p };
  } finally {
    step.dispose();
    model.dispose();
  }
}

/** Profile of one context→horizon test rollout (CrevNet.predict) at `batch`. */
export async function profileRollout(o: { config?: string | ModelConfig; batch?: number; context?: number; horizon?: number; seed?: number; topShapes?: number } = {}): Promise<StepProfile> {
  const config = typeof o.config === 'object' ? o.config : await loadConfig(o.config ?? 'small');
  const batch = o.batch ?? 16;
  const context = o.context ?? 10;
  const horizon = o.horizon ?? 10;
  const [h, w, c] = config.imageSize;
  const model = CrevNet.create(config, o.seed ?? 0);
  const ctx = tf.randomUniform([context, batch, h, w, c], 0, 1, 'float32', 2) as tf.Tensor5D;
  try {
    const run = async () => {
      const y = model.predict(ctx, horizon);
      await y.data();
      y.dispose();
    };
    await run();
    const plainWallMs = await medianMs(run, 3);
    const p = await profileKernels(run, o);
    return { kind: 'rollout', config: config.name, batch, frames: context + horizon, plainWallMs, ...p };
  } finally {
    ctx.dispose();
    model.dispose();
  }
}

const gmacs = (macs: number, ms: number) => (macs > 0 && ms > 0 ? (macs / ms / 1e6).toFixed(2) : '');

export function formatProfile(p: StepProfile, top = 20): string {
  const what = p.kind === 'rollout' ? `${p.frames} frames rollout` : `training step, ${p.frames} frames`;
  const lines = [
    `${what} profile: ${p.config} on ${p.backend}, batch ${p.batch}, one thread (tf.profile cannot see worker threads)`,
    `unprofiled ${p.plainWallMs.toFixed(0)} ms; profiled ${p.wallMs.toFixed(0)} ms; ${p.kernelCount} kernels, ${p.kernelMs.toFixed(0)} ms in kernels (rest: JS, tape, profiler); peak ${(p.peakBytes / 2 ** 20).toFixed(1)} MiB`,
    `convolutions and matmuls: ${(p.macs / 1e9).toFixed(2)} GMAC in ${p.macKernelMs.toFixed(0)} ms = ${gmacs(p.macs, p.macKernelMs)} GMAC/s (${((100 * p.macKernelMs) / Math.max(p.kernelMs, 1e-9)).toFixed(1)}% of kernel time)`,
    '',
    `${'kernel'.padEnd(24)}${'count'.padStart(7)}${'ms'.padStart(10)}${'share'.padStart(8)}${'ms/call'.padStart(10)}${'GMAC/s'.padStart(9)}`,
  ];
  for (const k of p.byKernel.filter((x) => !x.scope).slice(0, top)) {
    lines.push(`${k.name.padEnd(24)}${String(k.count).padStart(7)}${k.totalMs.toFixed(1).padStart(10)}${(100 * k.share).toFixed(1).padStart(7)}%${(k.totalMs / k.count).toFixed(3).padStart(10)}${gmacs(k.macs, k.totalMs).padStart(9)}`);
  }
  const scopes = p.byKernel.filter((x) => x.scope);
  if (scopes.length > 0) {
    lines.push('', 'composite ops (time includes their kernels above):');
    for (const k of scopes) lines.push(`${k.name.padEnd(24)}${String(k.count).padStart(7)}${k.totalMs.toFixed(1).padStart(10)}`);
  }
  lines.push('', 'top kernel × input shapes:');
  for (const s of p.byShape) {
    const rate = gmacs(s.macs, s.totalMs);
    lines.push(`${s.totalMs.toFixed(1).padStart(8)} ms ${String(s.count).padStart(5)}× ${s.name} ${s.inputShapes}${rate ? `  ${rate} GMAC/s` : ''}`);
  }
  return lines.join('\n');
}

/** `crevnet bench --profile`: a training step and a rollout profiled in one child process. */
export interface ProfileMeasurement {
  kind: 'profile';
  backend: string;
  config: string;
  train: StepProfile;
  rollout: StepProfile;
  tensorsLeaked: number;
  rssBytes: number;
}

export async function measureProfile(o: { config: ModelConfig; settings: TrainConfig; batch?: number; frames?: number; inferBatch?: number }): Promise<ProfileMeasurement> {
  const before = tf.memory().numTensors;
  const train = await profileTrainStep({ config: o.config, train: o.settings, batch: o.batch ?? 4, frames: o.frames ?? 20 });
  const rollout = await profileRollout({ config: o.config, batch: o.inferBatch ?? 16 });
  return { kind: 'profile', backend: backendName(), config: o.config.name, train, rollout, tensorsLeaked: tf.memory().numTensors - before, rssBytes: process.memoryUsage().rss };
}
