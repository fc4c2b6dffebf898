/**
 * Normalisation + ReLU on packed clips [G·N, H, W, 3C] (packed.ts; C = γ's length) or any tensor
 * whose last axis is a multiple of C with channel c = index mod C (see docs/architecture.md,
 * BatchNorm modes).
 *
 * BatchNorm3d semantics, per channel, statistics over (T,B,H,W) of one call ([G, N·H·W·3, C] view):
 *  - 'train': normalise with the batch mean and biased variance; running stats are updated with the
 *    unbiased variance (× n/(n−1)) and momentum 0.1: r ← 0.9·r + 0.1·stat.
 *  - 'eval': running statistics (a fixed affine map, batch independent).
 *  - 'recompute': batch statistics but running stats untouched (reversible-backprop recomputation).
 * GroupNorm(1,C) ('group'): per-sample statistics over (T,H,W,C), affine per channel, no running stats
 * (train = eval); the documented deviation for tiny batches.
 *
 * Several independent calls can be folded into axis 0 (`groups` G, group-major, equal sizes): each
 * group gets its own batch statistics, exactly as if the calls had been made one by one. Running-stat
 * updates are given ordering keys so a RunningStatsCollector can apply all the updates of a training
 * step in closed form, r_n = 0.9ⁿ·r_0 + Σ_j 0.1·0.9^(n−j)·s_j — identical to n sequential updates.
 *
 * The train-mode BN+ReLU is one tf.customGrad op (fewer kernels than autodiff of the composition):
 *   y = relu(x̂·γ + β),  x̂ = (x − μ)/√(σ² + ε)
 *   dβ = Σ d,  dγ = Σ d·x̂,  dx = γ/√(σ²+ε) · (d − mean(d) − x̂·mean(d·x̂)),  d = dy·[y > 0]
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export type NormMode = 'train' | 'eval' | 'recompute';
export type NormKind = 'batch' | 'group';

export interface NormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/** BatchNorm running statistics (non-trainable variables). */
export interface RunningStats {
  mean: tf.Variable;
  variance: tf.Variable;
}

export interface NormContext {
  mode: NormMode;
  kind: NormKind;
  /** independent calls folded into axis 0 (default 1) */
  groups?: number;
  /** train mode: where batch statistics go; without one they are applied at once, in group order */
  collector?: RunningStatsCollector;
  /** ordering keys of the groups for the collector (default 0..G−1) */
  keys?: readonly number[];
}

interface StatRecord {
  /** [G, C] batch means and unbiased variances */
  mean: tf.Tensor2D;
  variance: tf.Tensor2D;
  keys: number[];
}

/**
 * Collects the batch statistics of a training step and applies the running-stat updates once, in
 * the logical order given by the keys (e.g. 2·step + (decoder ? 1 : 0): E₁, D₁, E₂, D₂, …).
 */
export class RunningStatsCollector {
  private readonly records = new Map<RunningStats, StatRecord[]>();

  /** Takes ownership of `mean` and `variance` ([G,C], unbiased variance). */
  record(running: RunningStats, mean: tf.Tensor2D, variance: tf.Tensor2D, keys: readonly number[]): void {
    if (keys.length !== mean.shape[0]) throw new Error(`RunningStatsCollector: ${keys.length} keys for ${mean.shape[0]} groups`);
    let list = this.records.get(running);
    if (!list) this.records.set(running, (list = []));
    list.push({ mean, variance, keys: [...keys] });
  }

  get size(): number {
    return this.records.size;
  }

  /** Apply all recorded updates to the running stats, then release the recorded tensors. */
  apply(momentum = BN_MOMENTUM): void {
    for (const [running, list] of this.records) applyUpdates(running, list, momentum);
    this.dispose();
  }

  dispose(): void {
    for (const list of this.records.values()) for (const r of list) tf.dispose([r.mean, r.variance]);
    this.records.clear();
  }
}

/** Closed form of sequential momentum updates ordered by key. */
function applyUpdates(running: RunningStats, list: StatRecord[], momentum: number): void {
  const all = list.flatMap((r, ri) => r.keys.map((k, g) => ({ k, ri, g })));
  const order = all.map((e, i) => ({ ...e, i })).sort((a, b) => a.k - b.k || a.i - b.i);
  const n = order.length;
  const decay = 1 - momentum;
  const weights = list.map((r) => new Float32Array(r.keys.length));
  order.forEach((e, rank) => {
    weights[e.ri]![e.g] = momentum * decay ** (n - 1 - rank);
  });
  tf.tidy(() => {
    const keep = decay ** n;
    const update = (r: tf.Variable, pick: (s: StatRecord) => tf.Tensor2D) => {
      const terms = list.map((s, i) => tf.matMul(tf.tensor2d(weights[i]!, [1, s.keys.length]), pick(s)).reshape([-1]));
      r.assign(tf.addN([tf.mul(r, keep), ...terms]));
    };
    update(running.mean, (s) => s.mean);
    update(running.variance, (s) => s.variance);
  });
}

function reluMask(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.mul(dy, tf.step(y));
}

/**
 * Rows-per-vector factor k for per-channel broadcasting: a [R, C] tensor is viewed as [R/k, k·C] and
 * per-channel vectors are tiled k times. wasm's broadcasting binary ops walk the innermost run, so
 * [R,2]×[2] is ~10× slower than [R/32,64]×[64] (same values).
 */
export function widenFactor(rows: number, c: number, target = 64): number {
  let best = 1;
  for (let k = 1; k * c <= Math.max(c, target); k++) if (rows % k === 0) best = k;
  return best;
}

/** [G,1,C] → [G,1,k·C] (the per-channel vector repeated k times). */
function tileChannels(v: tf.Tensor, k: number): tf.Tensor {
  if (k === 1) return v;
  const [g, , c] = v.shape as [number, number, number];
  return tf.tile(v, [1, k, 1]).reshape([g, 1, k * c]);
}

/** Sum over axis 1 of [G, M/k, k·C] → per-channel [G, 1, C]. */
function channelSum(x: tf.Tensor, k: number, c: number): tf.Tensor {
  const g = x.shape[0]!;
  const s = x.sum(1);
  return k === 1 ? s.reshape([g, 1, c]) : s.reshape([g, k, c]).sum(1, true);
}

/**
 * Train/recompute BN + ReLU with per-group batch statistics. Returns y and, when `wantStats`, the
 * kept [G,C] batch mean and unbiased variance.
 */
function batchNormReluTrain(
  x: tf.Tensor4D,
  p: NormParams,
  groups: number,
  wantStats: boolean,
): { y: tf.Tensor4D; mean?: tf.Tensor2D; variance?: tf.Tensor2D } {
  const [n, h, w, ck] = x.shape;
  const c = p.gamma.shape[0];
  if (n % groups !== 0) throw new Error(`norm: batch ${n} is not a multiple of ${groups} groups`);
  if (ck % c !== 0) throw new Error(`norm: ${ck} channels is not a multiple of ${c}`);
  const m = (n / groups) * h * w * (ck / c);
  const k = widenFactor(m, c);
  let mean: tf.Tensor2D | undefined;
  let variance: tf.Tensor2D | undefined;
  const op = customOp<tf.Tensor4D>(([xi, gi, bi], save) => {
    if (!xi || !gi || !bi) throw new Error('norm: missing input');
    const xr = xi.reshape([groups, m / k, k * c]);
    const mu = tf.div(channelSum(xr, k, c), m); // [G,1,C]
    const xc = tf.sub(xr, tileChannels(mu, k));
    const v = tf.div(channelSum(tf.square(xc), k, c), m);
    const inv = tf.rsqrt(tf.add(v, BN_EPS));
    const a = tf.mul(inv, gi);
    const y = tf.relu(tf.add(tf.mul(xc, tileChannels(a, k)), tileChannels(tf.reshape(bi, [1, 1, c]).tile([groups, 1, 1]), k)));
    if (wantStats) {
      mean = tf.keep(mu.reshape<tf.Tensor2D>([groups, c]));
      variance = tf.keep(tf.mul(v, m > 1 ? m / (m - 1) : 1).reshape<tf.Tensor2D>([groups, c]));
    }
    save([xc, y, a, inv]);
    return {
      value: y.reshape<tf.Tensor4D>([n, h, w, ck]),
      gradFunc: (dy, saved) => {
        const [sxc, sy, sa, sinv] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const d = reluMask(dy.reshape([groups, m / k, k * c]), sy);
        const s1 = channelSum(d, k, c); // Σ d          [G,1,C]
        const s2 = channelSum(tf.mul(d, sxc), k, c); // Σ d·(x−μ)   [G,1,C]
        const dbeta = s1.sum([0, 1]);
        const dgamma = tf.mul(s2, sinv).sum([0, 1]);
        // dx = a·(d − s1/m − x̂·Σ d·x̂/m) = a·d − a·s1/m − (x−μ)·a·inv²·s2/m
        const k1 = tf.mul(sa, s1).div(m);
        const k2 = tf.mul(sa, tf.square(sinv)).mul(s2).div(m);
        const dx = tf.sub(tf.sub(tf.mul(d, tileChannels(sa, k)), tileChannels(k1, k)), tf.mul(sxc, tileChannels(k2, k)));
        return [dx.reshape([n, h, w, ck]), dgamma, dbeta];
      },
    };
  });
  const y = op(x, p.gamma, p.beta);
  const out: { y: tf.Tensor4D; mean?: tf.Tensor2D; variance?: tf.Tensor2D } = { y };
  if (mean) out.mean = mean;
  if (variance) out.variance = variance;
  return out;
}

/**
 * Eval-mode BatchNorm as the per-channel affine map it is: y = x·scale + shift with
 * scale = γ/√(σ²_run + ε), shift = β − μ_run·scale (what inference folds into the convolutions).
 */
export function evalAffine(p: NormParams, running: RunningStats): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(running.variance, BN_EPS))) as tf.Tensor1D;
    return { scale, shift: tf.sub(p.beta, tf.mul(running.mean, scale)) as tf.Tensor1D };
  });
}

/** Per-channel vectors [C] widened for tensors of `rows` × C values (see widenFactor): [k·C] each. */
export function widenChannels(rows: number, ...v: tf.Tensor1D[]): tf.Tensor1D[] {
  const c = v[0]!.shape[0];
  const k = widenFactor(rows, c);
  return v.map((x) => (k === 1 ? x.clone() : (tf.tile(x, [k]) as tf.Tensor1D)));
}

/** y = relu(x·a + b) with per-channel vectors already widened by widenChannels (length k·C divides the size of x). */
export function widenedAffineRelu(x: tf.Tensor4D, a: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor4D {
  const kc = a.shape[0];
  return tf.relu(tf.add(tf.mul(x.reshape([-1, kc]), a), b)).reshape<tf.Tensor4D>(x.shape);
}

/** y = relu(x·a + b) with per-channel a, b [C] on a packed tensor (widened broadcasting). */
function affineRelu(x: tf.Tensor4D, a: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor4D {
  const c = a.shape[0];
  const k = widenFactor(x.size / c, c);
  const wa = tileChannels(a.reshape([1, 1, c]), k).reshape([k * c]);
  const wb = tileChannels(b.reshape([1, 1, c]), k).reshape([k * c]);
  return tf.relu(tf.add(tf.mul(x.reshape([-1, k * c]), wa), wb)).reshape<tf.Tensor4D>(x.shape);
}

/** GroupNorm(1,C) + ReLU: per-sample statistics over (T,H,W,C) = one row of the packed tensor. */
function groupNormRelu(x: tf.Tensor4D, p: NormParams): tf.Tensor4D {
  const [n, h, w, ck] = x.shape;
  return tf.tidy(() => {
    const xr = x.reshape([n, h * w * ck]);
    const { mean, variance } = tf.moments(xr, 1, true);
    const xhat = tf.mul(tf.sub(xr, mean), tf.rsqrt(tf.add(variance, BN_EPS))).reshape<tf.Tensor4D>([n, h, w, ck]);
    return affineRelu(xhat, p.gamma, p.beta);
  });
}

/** relu(norm(x)); see the module comment for the modes. */
export function normRelu(x: tf.Tensor4D, p: NormParams, running: RunningStats | undefined, ctx: NormContext): tf.Tensor4D {
  const groups = ctx.groups ?? 1;
  if (ctx.kind === 'group') return groupNormRelu(x, p);
  if (ctx.mode === 'eval') {
    if (!running) throw new Error('norm: eval mode needs running statistics');
    return tf.tidy(() => {
      const { scale, shift } = evalAffine(p, running);
      return affineRelu(x, scale, shift);
    });
  }
  const update = ctx.mode === 'train' && running !== undefined;
  const r = batchNormReluTrain(x, p, groups, update);
  if (update && r.mean && r.variance) {
    const keys = ctx.keys ? [...ctx.keys] : Array.from({ length: groups }, (_, i) => i);
    if (ctx.collector) {
      ctx.collector.record(running, r.mean, r.variance, keys);
    } else {
      const rec: StatRecord = { mean: r.mean, variance: r.variance, keys };
      applyUpdates(running, [rec], BN_MOMENTUM);
      tf.dispose([r.mean, r.variance]);
    }
  }
  return r.y;
}
