/**
 * Where a training step's time goes: tf.profile's kernel list aggregated by kernel name (count, total
 * ms, share) and, for the top kernels, by input shapes. Profiling adds per-kernel overhead, so the
 * summed kernel time is less than the wall time of the step and the gap is JS/tape overhead.
 */
import * as tf from '@tensorflow/tfjs';
import { CrevNet } from '../model/crevnet.js';
import type { ModelConfig } from '../model/config.js';
import { loadTrainingConfig, parseTrainConfig, type TrainConfig } from '../train/config.js';
import { benchTrainStep } from './harness.js';

export interface KernelStat {
  name: string;
  /** a composite op (tf.customGrad body, fused-op wrapper) whose time includes the kernels it ran */
  scope: boolean;
  count: number;
  totalMs: number;
  share: number;
}

export interface ShapeStat {
  name: string;
  inputShapes: string;
  count: number;
  totalMs: number;
}

export interface StepProfile {
  backend: string;
  config: string;
  batch: number;
  frames: number;
  /** wall time of the profiled step (inflated by profiling) */
  wallMs: number;
  /** wall time of an unprofiled step */
  plainWallMs: number;
  /** summed time of real kernels (scopes excluded) */
  kernelMs: number;
  /** real kernels run (scopes excluded) */
  kernelCount: number;
  peakBytes: number;
  byKernel: KernelStat[];
  byShape: ShapeStat[];
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
  const data = tf.tidy(() => tf.randomUniform([frames, batch, h, w, c], 0, 1, 'float32', 1).dataSync() as Float32Array).slice();
  const step = benchTrainStep(model, settings, data, [frames, batch, h, w, c]);
  try {
    await step.run(); // warm-up (XNNPACK operator set-up, Adam state)
    let t0 = performance.now();
    await step.run();
    const plainWallMs = performance.now() - t0;
    t0 = performance.now();
    const info = await tf.profile(async () => {
      await step.run();
    });
    const wallMs = performance.now() - t0;
    const byName = new Map<string, { count: number; totalMs: number }>();
    const byShapeMap = new Map<string, ShapeStat>();
    let kernelMs = 0;
    let kernelCount = 0;
    const backend = tf.getBackend();
    const isScope = (name: string) => tf.getKernel(name, backend) === undefined;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      if (!isScope(k.name)) {
        kernelMs += ms;
        kernelCount++;
      }
      const e = byName.get(k.name) ?? { count: 0, totalMs: 0 };
      e.count++;
      e.totalMs += ms;
      byName.set(k.name, e);
      const shapes = JSON.stringify(k.inputShapes);
      const key = `${k.name} ${shapes}`;
      const s = byShapeMap.get(key) ?? { name: k.name, inputShapes: shapes, count: 0, totalMs: 0 };
      s.count++;
      s.totalMs += ms;
      byShapeMap.set(key, s);
    }
    const byKernel = [...byName.entries()]
      .map(([name, e]) => ({ name, scope: isScope(name), count: e.count, totalMs: e.totalMs, share: kernelMs > 0 ? e.totalMs / kernelMs : 0 }))
      .sort((a, b) => b.totalMs - a.totalMs);
    const byShape = [...byShapeMap.values()]
      .filter((s) => !isScope(s.name))
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, o.topShapes ?? 25);
    return {
      backend: tf.getBackend(),
      config: config.name,
      batch,
      frames,
      wallMs,
      plainWallMs,
      kernelMs,
      kernelCount,
      peakBytes: info.peakBytes,
      byKernel,
      byShape,
    };
  } finally {
    step.dispose();
    model.dispose();
  }
}

export function formatProfile(p: StepProfile, top = 20): string {
  const lines = [
    `training step profile: ${p.config} on ${p.backend}, batch ${p.batch}, ${p.frames} frames, one thread (tf.profile cannot see worker threads)`,
    `unprofiled step ${p.plainWallMs.toFixed(0)} ms; profiled step ${p.wallMs.toFixed(0)} ms; ${p.kernelCount} kernels, ${p.kernelMs.toFixed(0)} ms in kernels (rest: JS, tape, profiler); peak ${(p.peakBytes / 2 ** 20).toFixed(1)} MiB`,
    '',
    `${'kernel'.padEnd(24)}${'count'.padStart(7)}${'ms'.padStart(10)}${'share'.padStart(8)}${'ms/call'.padStart(10)}`,
  ];
  for (const k of p.byKernel.filter((x) => !x.scope).slice(0, top)) {
    lines.push(`${k.name.padEnd(24)}${String(k.count).padStart(7)}${k.totalMs.toFixed(1).padStart(10)}${(100 * k.share).toFixed(1).padStart(7)}%${(k.totalMs / k.count).toFixed(3).padStart(10)}`);
  }
  const scopes = p.byKernel.filter((x) => x.scope);
  if (scopes.length > 0) {
    lines.push('', 'composite ops (time includes their kernels above):');
    for (const k of scopes) lines.push(`${k.name.padEnd(24)}${String(k.count).padStart(7)}${k.totalMs.toFixed(1).padStart(10)}`);
  }
  lines.push('', 'top kernel × input shapes:');
  for (const s of p.byShape) lines.push(`${s.totalMs.toFixed(1).padStart(8)} ms ${String(s.count).padStart(5)}× ${s.name} ${s.inputShapes}`);
  return lines.join('\n');
}
