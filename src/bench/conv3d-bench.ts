/**
 * Micro-benchmark of the 3×3×3 conv variants (conv3d-variants.ts) at a config's real shapes: forward and
 * forward+backward (dx and dW) CPU milliseconds per call. 'packed' is the model path (no layout
 * transposes: the model keeps clips packed); 'banded' is the same conv reached from the time-major
 * folded layout, i.e. with the pack/unpack transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { conv3dPacked, packedConv } from '../model/conv3d.js';
import { planBlocks } from '../model/block.js';
import type { ModelConfig } from '../model/config.js';
import { pack } from '../model/packed.js';
import { CONV3D_VARIANTS, conv3d, type Conv3dVariant } from './conv3d-variants.js';

export interface ConvShape {
  label: string;
  /** folded time-major input [3N,H,W,Cin] */
  n: number;
  h: number;
  cin: number;
  cout: number;
  stride: 1 | 2;
}

export interface ConvBenchRow {
  shape: string;
  variant: Conv3dVariant | 'packed';
  forwardMs: number;
  forwardBackwardMs: number;
}

/** The distinct conv shapes of one training step of `config` at `batch`, `clipsPerCall` clips per E/D call (teacher forcing: frames − 3). */
export function convShapes(config: ModelConfig, batch: number, clipsPerCall: number): ConvShape[] {
  const out: ConvShape[] = [];
  const n = clipsPerCall * batch;
  const seen = new Set<string>();
  for (const s of planBlocks(config)) {
    for (const [cin, cout, stride, h] of [
      [s.cin, s.mid, s.stride, s.height],
      [s.mid, s.mid, 1, s.height / s.stride],
      [s.mid, s.cout, 1, s.height / s.stride],
    ] as [number, number, 1 | 2, number][]) {
      const key = `${cin}-${cout}-${stride}-${h}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ label: `encoder ${cin}→${cout} s${stride} @${h}² (${clipsPerCall}×B clips)`, n, h, cin, cout, stride });
    }
  }
  const last = planBlocks(config).at(-1)!;
  const c = last.cout;
  const h = last.height / last.stride;
  out.push({ label: `predictor gates ${3 * c}→${3 * c} @${h}²`, n: batch, h, cin: 3 * c, cout: 3 * c, stride: 1 });
  out.push({ label: `predictor output ${4 * c}→${c} @${h}²`, n: batch, h, cin: 4 * c, cout: c, stride: 1 });
  return out;
}

/** CPU ms per call: the best of 3 rounds of `reps` calls (the machine is shared; CPU time, not wall). */
function cpuMs(fn: () => void, reps: number): number {
  fn();
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) fn();
    const d = process.cpuUsage(c0);
    best = Math.min(best, (d.user + d.system) / 1000 / reps);
  }
  return best;
}

export function benchConv3d(shapes: ConvShape[], reps = 5): ConvBenchRow[] {
  const rows: ConvBenchRow[] = [];
  for (const s of shapes) {
    const x = tf.randomNormal([3 * s.n, s.h, s.h, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, s.cin, s.cout], 0, 0.1, 'float32', 2) as tf.Tensor5D;
    const dy = tf.randomNormal([3 * s.n, s.h / s.stride, s.h / s.stride, s.cout], 0, 1, 'float32', 3) as tf.Tensor4D;
    const xp = pack(x);
    const dyp = pack(dy);
    const run = (f: () => tf.Tensor | tf.Tensor[]) => () => {
      const r = f();
      const a = Array.isArray(r) ? r : [r];
      a[0]!.dataSync();
      tf.dispose(a);
    };
    const variants: [Conv3dVariant | 'packed', (a: tf.Tensor4D, b: tf.Tensor5D) => tf.Tensor4D, tf.Tensor4D, tf.Tensor4D][] = [
      ...CONV3D_VARIANTS.map((v) => [v, (a: tf.Tensor4D, b: tf.Tensor5D) => conv3d(a, b, { stride: s.stride, variant: v }), x, dy] as [Conv3dVariant, (a: tf.Tensor4D, b: tf.Tensor5D) => tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]),
      ['packed', (a, b) => conv3dPacked(a, packedConv(b, { stride: s.stride })), xp, dyp],
    ];
    for (const [name, f, xin, dyin] of variants) {
      const fwd = cpuMs(run(() => tf.tidy(() => f(xin, w))), reps);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor5D).mul(dyin).sum());
      const both = cpuMs(run(() => g([xin, w])), reps);
      rows.push({ shape: s.label, variant: name, forwardMs: fwd, forwardBackwardMs: both });
    }
    tf.dispose([x, w, dy, xp, dyp]);
  }
  return rows;
}
