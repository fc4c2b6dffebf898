/** `crevnet metrics` (src/cli/metrics.ts): OpenSTL's ntchw float predictions against the published time-major uint8 layout, --json, one-line errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeNpy } from '../src/data/npy.js';
import { MetricsAccumulator } from '../src/eval/metrics.js';
import { Rng } from '../src/data/rng.js';
import { assertUserError, runCli, type CliResult } from './cli-helpers.js';

const crevnet = (args: string[]): Promise<CliResult> => runCli(args, { timeout: 60_000 });

test('crevnet metrics: OpenSTL ntchw float preds vs the published time-major uint8 layout, --json', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-met-'));
  try {
    const [N, H, W] = [3, 64, 64];
    const hw = H * W;
    const rng = new Rng(1);
    const truth = Uint8Array.from({ length: 20 * N * hw }, () => (rng.next() < 0.7 ? 0 : rng.int(256)));
    // preds (N, 10, 1, H, W) float32 = true frames 10..19 + noise (leaving [0, 1])
    const pred = new Float32Array(N * 10 * hw);
    for (let i = 0; i < N; i++) for (let t = 0; t < 10; t++) for (let k = 0; k < hw; k++) {
      pred[(i * 10 + t) * hw + k] = truth[((10 + t) * N + i) * hw + k]! / 255 + (rng.next() - 0.5) * 0.4;
    }
    await writeNpy(path.join(dir, 'true.npy'), { dtype: 'uint8', shape: [20, N, H, W], data: truth });
    await writeNpy(path.join(dir, 'pred.npy'), { dtype: 'float32', shape: [N, 10, 1, H, W], data: pred });
    // expected, through the library: time-major [10, N, H, W]
    const p = new Float32Array(10 * N * hw);
    const g = new Float32Array(10 * N * hw);
    for (let t = 0; t < 10; t++) for (let i = 0; i < N; i++) for (let k = 0; k < hw; k++) {
      p[(t * N + i) * hw + k] = pred[(i * 10 + t) * hw + k]!;
      g[(t * N + i) * hw + k] = truth[((10 + t) * N + i) * hw + k]! / 255;
    }
    const acc = new MetricsAccumulator(10, H, W);
    acc.add(p, g, N);
    const want = acc.result();

    const r = await crevnet(['metrics', '--pred', path.join(dir, 'pred.npy'), '--true', path.join(dir, 'true.npy'), '--true-start', '10', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(got), ['layout', 'channels', 'frames', 'mse', 'mae', 'ssim', 'ssimStrict', 'psnr', 'perFrame']);
    assert.deepEqual(got.layout, { pred: 'ntchw', true: 'tnhw', inferred: true });
    assert.equal(got.channels, 1);
    assert.deepEqual(Object.keys(got.perFrame), ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr']);
    assert.equal(got.frames, 30);
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
      assert.ok(Math.abs(got[k] - want[k]) < 1e-9, `${k}: ${got[k]} vs ${want[k]}`);
      assert.equal(got.perFrame[k].length, 10);
      for (let t = 0; t < 10; t++) assert.ok(Math.abs(got.perFrame[k][t] - want.perFrame[k][t]!) < 1e-9);
    }
    // the table output works too, and without --true-start the frame counts mismatch
    const table = await crevnet(['metrics', '--pred', path.join(dir, 'pred.npy'), '--true', path.join(dir, 'true.npy'), '--true-start', '10']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /SSIM strict/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('crevnet metrics: colour (N, T, 3, H, W) float preds vs (T, N, H, W, 3) uint8 truth; it says which layouts it assumed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-met-'));
  try {
    const [N, T, H, W, C] = [2, 3, 12, 10, 3];
    const px = H * W * C;
    const rng = new Rng(5);
    const truth = Uint8Array.from({ length: T * N * px }, () => rng.int(256));
    // channel-first predictions of the same frames plus noise
    const pred = new Float32Array(N * T * px);
    for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) for (let k = 0; k < H * W; k++) {
      pred[((i * T + t) * C + c) * H * W + k] = truth[(t * N + i) * px + k * C + c]! / 255 + (rng.next() - 0.5) * 0.3;
    }
    await writeNpy(path.join(dir, 'true.npy'), { dtype: 'uint8', shape: [T, N, H, W, C], data: truth });
    await writeNpy(path.join(dir, 'pred.npy'), { dtype: 'float32', shape: [N, T, C, H, W], data: pred });
    // expected: every frame through the library, channels last
    const acc = new MetricsAccumulator(T, H, W, C);
    const p = new Float32Array(T * N * px);
    for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) for (let k = 0; k < H * W; k++) {
      p[(t * N + i) * px + k * C + c] = pred[((i * T + t) * C + c) * H * W + k]!;
    }
    acc.add(p, Float32Array.from(truth, (v) => v / 255), N);
    const want = acc.result();
    const r = await crevnet(['metrics', '--pred', path.join(dir, 'pred.npy'), '--true', path.join(dir, 'true.npy'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got.layout, { pred: 'ntchw', true: 'tnhwc', inferred: true });
    assert.equal(got.channels, 3);
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-9, `${k}: ${got[k]} vs ${want[k]}`);
    const table = await crevnet(['metrics', '--pred', path.join(dir, 'pred.npy'), '--true', path.join(dir, 'true.npy')]);
    assert.match(table.stdout, /layout ntchw \(N, T, C, H, W\), inferred from the shape/);
    assert.match(table.stdout, /layout tnhwc \(T, N, H, W, C\), inferred from the shape/);
    assert.match(table.stdout, /12×10 RGB/);
    // a shape that fits both rank-5 layouts needs --layout
    await writeNpy(path.join(dir, 'odd.npy'), { dtype: 'uint8', shape: [2, 3, 3, 8, 3], data: new Uint8Array(2 * 3 * 3 * 8 * 3) });
    const odd = await crevnet(['metrics', '--pred', path.join(dir, 'odd.npy'), '--true', path.join(dir, 'odd.npy')]);
    assert.equal(odd.code, 2);
    assert.match(odd.stderr, /^error: .*cannot infer the layout of shape \(2, 3, 3, 8, 3\); pass --layout ntchw/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('crevnet metrics: bad inputs give one error line and exit code 2', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-met-'));
  try {
    const f = (name: string) => path.join(dir, name);
    await writeNpy(f('a.npy'), { dtype: 'float32', shape: [2, 3, 1, 8, 8], data: new Float32Array(2 * 3 * 64) });
    await writeNpy(f('b.npy'), { dtype: 'float32', shape: [2, 4, 1, 8, 8], data: new Float32Array(2 * 4 * 64) });
    await writeNpy(f('r4.npy'), { dtype: 'uint8', shape: [2, 3, 8, 8], data: new Uint8Array(2 * 3 * 64) });
    await writeNpy(f('small.npy'), { dtype: 'float32', shape: [2, 3, 1, 6, 6], data: new Float32Array(2 * 3 * 36) });
    await writeFile(f('text.npy'), 'not numpy at all\n');
    const cases: [string[], RegExp][] = [
      [['--pred', f('missing.npy'), '--true', f('a.npy')], /cannot open .*missing\.npy/],
      [['--pred', f('text.npy'), '--true', f('a.npy')], /text\.npy: not a .npy file/],
      [['--pred', f('a.npy'), '--true', f('b.npy')], /shape mismatch/],
      [['--pred', f('a.npy'), '--true', f('a.npy'), '--layout', 'tnhw'], /layout tnhw needs a rank-4 array/],
      [['--pred', f('r4.npy'), '--true', f('r4.npy')], /cannot infer the layout .*--layout/],
      [['--pred', f('small.npy'), '--true', f('small.npy')], /SSIM needs at least 7×7/],
    ];
    const results = await Promise.all(cases.map(([args]) => crevnet(['metrics', ...args])));
    results.forEach((r, i) => {
      const [args, re] = cases[i]!;
      assertUserError(r, re, args.join(' '));
      assert.equal(r.stdout, '');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
