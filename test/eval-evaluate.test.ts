/**
 * evaluate() (src/eval/evaluate.ts) and `crevnet eval` with a real (untrained, tiny) checkpoint: finite
 * metrics, per-frame arrays of the horizon's length and both baselines, workers, the --json shape and
 * the report files, one-line exit-2 errors for every kind of bad input; and with in-memory predictors
 * whose scores are known (black frames = the zeros baseline, last frame repeated = copy-last), --versus.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { UserError } from '../src/runtime/errors.js';
import { modelForecaster } from '../src/eval/forecast.js';
import { formatEvalTable, perFrameCsv } from '../src/eval/report.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { CrevNet } from '../src/model/crevnet.js';
import { loadConfig } from '../src/model/config-file.js';
import { evaluate } from '../src/eval/evaluate.js';
import { writeNpy } from '../src/data/npy.js';
import { runCli, tempDir } from './train-helpers.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
let ck = '';

before(async () => {
  await initBackend('wasm');
  ({ dir, cleanup } = await tempDir('crevnet-eval-'));
  ck = join(dir, 'run', 'best');
  const model = CrevNet.create(await loadConfig('tiny'), 1);
  try {
    await saveCheckpoint(ck, { model, state: { step: 0 } });
  } finally {
    model.dispose();
  }
});
after(() => cleanup());

test('eval on a small generated set: finite metrics, per-frame arrays of horizon length, both baselines', async () => {
  const { report } = await evaluate({ model: join(dir, 'run'), count: 5, context: 4, horizon: 3, batch: 2, stripCount: 0 });
  assert.equal(report.model, join(dir, 'run', 'best'), 'a run directory resolves to its best/ checkpoint');
  assert.equal(report.count, 5);
  assert.deepEqual(report.frameIndex, [4, 5, 6]);
  for (const m of [report, report.baseline.copyLast, report.baseline.zeros]) {
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict'] as const) {
      assert.ok(Number.isFinite(m[k]), k);
      assert.equal(m.perFrame[k].length, 3);
      assert.ok(m.perFrame[k].every(Number.isFinite));
    }
    assert.equal(m.perFrame.psnr.length, 3);
  }
  assert.ok(report.ssim <= 1 && report.mse >= 0);
});

test('evaluate with 2 workers gives the metrics of 1 worker (batch 3: shards 2+1)', async () => {
  const opts = { model: ck, count: 5, context: 4, horizon: 3, batch: 3, stripCount: 0 };
  const one = (await evaluate({ ...opts, workers: 1 })).report;
  const two = (await evaluate({ ...opts, workers: 2 })).report;
  assert.equal(one.workers, 1);
  assert.equal(two.workers, 2);
  for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const) {
    assert.ok(Math.abs(one[k] - two[k]) <= 1e-5 * Math.max(1, Math.abs(one[k])), `${k}: ${one[k]} vs ${two[k]}`);
    one.perFrame[k].forEach((v, i) => assert.ok(Math.abs(v - two.perFrame[k][i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `${k}[${i}]`));
  }
  assert.deepEqual(two.baseline, one.baseline);
});

test('--raw-output scores the decoder\'s raw frames: MSE and MAE rise, SSIM and PSNR do not move (1 and 2 workers)', async () => {
  const opts = { model: ck, count: 4, context: 4, horizon: 3, batch: 2, stripCount: 0 };
  const clamped = (await evaluate({ ...opts, workers: 1 })).report;
  assert.equal(clamped.output, 'clamped');
  for (const workers of [1, 2]) {
    const raw = (await evaluate({ ...opts, workers, rawOutput: true })).report;
    assert.equal(raw.output, 'raw');
    // the untrained model overshoots [0, 1] (checked in model-crevnet.test.ts); clamping only removes error
    assert.ok(raw.mse > clamped.mse * (1 + 1e-6), `workers ${workers}: raw MSE ${raw.mse} vs clamped ${clamped.mse}`);
    assert.ok(raw.mae > clamped.mae * (1 + 1e-6), `workers ${workers}: raw MAE ${raw.mae} vs clamped ${clamped.mae}`);
    for (const k of ['ssim', 'ssimStrict', 'psnr'] as const) assert.ok(Math.abs(raw[k] - clamped[k]) <= 1e-5 * Math.abs(clamped[k]), `${k}: ${raw[k]} vs ${clamped[k]}`);
    assert.deepEqual(raw.baseline, clamped.baseline);
  }
  const cli = await runCli(['--backend', 'wasm', 'eval', '--model', ck, '--count', '2', '--context', '4', '--horizon', '2', '--workers', '1', '--raw-output']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /raw decoder frames \(--raw-output\)/);
});

test('--json prints the documented keys; --out writes report.json, per_frame.csv and the plots', async () => {
  const out = join(dir, 'out');
  const r = await runCli(['--backend', 'wasm', 'eval', '--model', ck, '--count', '3', '--context', '4', '--horizon', '4', '--workers', '2', '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of ['model', 'data', 'count', 'mse', 'mae', 'ssim', 'ssimStrict', 'psnr', 'perFrame', 'baseline', 'seconds', 'backend']) assert.ok(k in j, k);
  assert.equal(j.count, 3);
  assert.equal(j.backend, 'wasm');
  assert.equal(j.workers, 2);
  const base = j.baseline as Record<string, Record<string, unknown>>;
  for (const b of ['copyLast', 'zeros']) {
    for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr', 'perFrame']) assert.ok(k in base[b]!, `${b}.${k}`);
    assert.equal((base[b]!.perFrame as { ssim: number[] }).ssim.length, 4);
  }
  assert.equal((j.perFrame as { mse: number[] }).mse.length, 4);
  const cmp = j.comparison as { zeros: { ssim: { lo: number; hi: number; verdict: string }[] }; bothBaselines: { mse: string[]; ssim: string[] } };
  assert.equal(cmp.zeros.ssim.length, 4);
  for (const c of cmp.zeros.ssim) assert.ok(c.lo <= c.hi && ['better', 'tied', 'worse'].includes(c.verdict));
  assert.equal(cmp.bothBaselines.mse.length, 4);
  for (const f of ['report.json', 'per_frame.csv', 'per_frame.png', 'per_frame.svg', 'samples.png', 'samples.svg']) assert.ok(existsSync(join(out, f)), f);
});

test('--versus: the second model is scored on the same sequences; the table and JSON carry model − versus', async () => {
  // the same checkpoint on both sides: identical scores, every frame tied
  const r = await runCli(['--backend', 'wasm', 'eval', '--model', ck, '--versus', ck, '--count', '3', '--context', '4', '--horizon', '3', '--workers', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { perFrame: { ssim: number[] }; versus: { model: string; perFrame: { ssim: number[] }; comparison: { mse: { diff: number; verdict: string }[]; ssim: { diff: number; verdict: string }[] } } };
  assert.equal(j.versus.model, ck);
  assert.deepEqual(j.versus.perFrame.ssim, j.perFrame.ssim);
  for (const c of [...j.versus.comparison.mse, ...j.versus.comparison.ssim]) {
    assert.equal(c.diff, 0);
    assert.equal(c.verdict, 'tied');
  }
  const t = await runCli(['--backend', 'wasm', 'eval', '--model', ck, '--versus', ck, '--count', '2', '--context', '4', '--horizon', '3']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^versus /m);
  assert.match(t.stdout, /model − versus .*per frame, paired 95% interval/);
  assert.match(t.stdout, /by more than noise: SSIM on 0\/3 frames \(tied 3, worse 0\), MSE on 0\/3 frames \(tied 3, worse 0\)/);
});

/** A .npy with an arbitrary descr (writeNpy only writes supported dtypes). */
async function rawNpy(path: string, descr: string, shape: number[], itemBytes: number): Promise<void> {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  await writeFile(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.alloc(shape.reduce((a, b) => a * b, 1) * itemBytes)]));
}

test('bad input: one `error:` line and exit code 2', async () => {
  const bad = join(dir, 'bad');
  await mkdir(bad, { recursive: true });
  const corrupt = join(bad, 'corrupt');
  await cp(ck, corrupt, { recursive: true });
  await truncate(join(corrupt, 'weights.bin'), 100);
  await writeNpy(join(bad, 'rank3.npy'), { dtype: 'uint8', shape: [8, 32, 32], data: new Uint8Array(8 * 32 * 32) });
  await writeNpy(join(bad, 'size64.npy'), { dtype: 'uint8', shape: [8, 2, 64, 64], data: new Uint8Array(8 * 2 * 64 * 64) });
  await writeNpy(join(bad, 'short.npy'), { dtype: 'uint8', shape: [8, 2, 32, 32], data: new Uint8Array(8 * 2 * 32 * 32) });
  await rawNpy(join(bad, 'int16.npy'), '<i2', [8, 2, 32, 32], 2);
  await writeFile(join(bad, 'text.npy'), 'not a npy file');
  const cases: [string[], RegExp][] = [
    [['--model', join(bad, 'missing')], /model directory not found/],
    [['--model', bad], /holds no checkpoint/],
    [['--model', corrupt], /weights\.bin is 100 bytes/],
    [['--model', ck, '--data', join(bad, 'rank3.npy')], /expected a time-major uint8 array/],
    [['--model', ck, '--data', join(bad, 'size64.npy')], /frames are 64×64, the model expects 32×32/],
    [['--model', ck, '--data', join(bad, 'int16.npy')], /unsupported \.npy dtype '<i2'/],
    [['--model', ck, '--data', join(bad, 'text.npy')], /not a \.npy file/],
    [['--model', ck, '--data', join(bad, 'short.npy'), '--context', '4', '--horizon', '5'], /9 frames, but .* has 8 frames per sequence/],
    [['--model', ck, '--count', '2', '--context', '12', '--horizon', '10'], /22 frames, but generated sequences have 20/],
    [['--model', ck, '--count', '2', '--context', '2'], /--context must be an integer ≥ 3/],
    [['--model', ck, '--count', '0'], /--count must be a positive integer/],
    [['--model', ck, '--versus', join(bad, 'missing'), '--count', '2'], /model directory not found/],
  ];
  for (let i = 0; i < cases.length; i += 4) {
    const results = await Promise.all(cases.slice(i, i + 4).map(([args]) => runCli(['--backend', 'wasm', 'eval', ...args])));
    results.forEach((r, j) => {
      const [args, re] = cases[i + j]!;
      const what = args.join(' ');
      assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.trim());
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.match(lines[0]!, /^error: /, what);
      assert.match(lines[0]!, re, what);
      assert.equal(r.stdout, '', what);
    });
  }
});

test('evaluate() with an in-memory predictor: baselines beside it, report fields, protocol checks', async () => {
  await initBackend('cpu');
  // a "model" that predicts black frames must score exactly like the zeros baseline
  const blackModel = { predict: (ctx: tf.Tensor5D, horizon: number) => tf.zeros([horizon, ...ctx.shape.slice(1)] as [number, number, number, number, number]) as tf.Tensor5D, config: { name: 'black', imageSize: [64, 64, 1] } };
  const before = tf.memory().numTensors;
  const { report } = await evaluate({ predictor: blackModel, count: 4, batch: 3, stripCount: 0 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(report.count, 4);
  assert.equal(report.modelConfig, 'black');
  assert.deepEqual(report.frameIndex, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(report.mse, report.baseline.zeros.mse);
  assert.deepEqual(report.perFrame, report.baseline.zeros.perFrame);
  assert.equal(report.standard, false);
  assert.equal(report.backend, 'cpu');
  assert.ok(report.sequencesPerSecond > 0);
  await assert.rejects(evaluate({ predictor: blackModel, count: 2, context: 2 }), (e: unknown) => e instanceof UserError && /context must be an integer ≥ 3/.test(e.message));
  await assert.rejects(evaluate({ predictor: blackModel, count: 2, context: 12, horizon: 10 }), (e: unknown) => e instanceof UserError && /22 frames/.test(e.message));
  // the model forecaster checks the shape predict returns
  const wrong = modelForecaster({ predict: (ctx: tf.Tensor5D) => tf.zeros([1, ...ctx.shape.slice(1)] as [number, number, number, number, number]) as tf.Tensor5D });
  await assert.rejects(Promise.resolve(wrong({ sequences: new Float32Array(20 * 64 * 64), batch: 1, context: 10, horizon: 10, height: 64, width: 64, channels: 1 })), /returned shape/);
});

test('evaluate() --versus: a second model on the same sequences, with model − versus per frame', async () => {
  await initBackend('cpu');
  const frames = (ctx: tf.Tensor5D, horizon: number) => [horizon, ...ctx.shape.slice(1)] as [number, number, number, number, number];
  const blackModel = { predict: (ctx: tf.Tensor5D, horizon: number) => tf.zeros(frames(ctx, horizon)) as tf.Tensor5D, config: { name: 'black', imageSize: [64, 64, 1] } };
  // repeats the last context frame: must score exactly like the copy-last baseline
  const copyModel = {
    predict: (ctx: tf.Tensor5D, horizon: number) => tf.tidy(() => tf.concat(Array.from({ length: horizon }, () => ctx.slice([ctx.shape[0] - 1], [1])), 0) as tf.Tensor5D),
    config: { name: 'copy', imageSize: [64, 64, 1] },
  };
  const before = tf.memory().numTensors;
  const { report } = await evaluate({ predictor: blackModel, versusPredictor: copyModel, versusLabel: 'copy model', count: 6, batch: 4, stripCount: 0 });
  assert.equal(tf.memory().numTensors, before);
  const v = report.versus!;
  assert.equal(v.model, 'copy model');
  assert.equal(v.modelConfig, 'copy');
  // versus scores are the copy-last baseline's, and (black − copy) is the zeros-vs-copyLast comparison
  assert.deepEqual(v.perFrame, report.baseline.copyLast.perFrame);
  assert.equal(v.ssim, report.baseline.copyLast.ssim);
  assert.deepEqual(v.comparison, report.comparison.copyLast);
  assert.equal(v.comparison.mse.length, 10);
  assert.ok(v.comparison.mse.some((c) => c.verdict !== 'tied'), 'black vs copy-last differ beyond noise on some frame');
  const table = formatEvalTable(report);
  assert.match(table, /^versus {3}copy model \[copy\]$/m);
  assert.match(table, /better than copy model, by more than noise: SSIM on \d+\/10 frames/);
  assert.match(perFrameCsv(report).split('\n')[0]!, /,versus_mse,.*,copyLast_mse,/);
  // a model against itself: every difference is 0 and every frame is tied
  const self = await evaluate({ predictor: blackModel, versusPredictor: blackModel, count: 3, batch: 3, stripCount: 0 });
  for (const c of [...self.report.versus!.comparison.mse, ...self.report.versus!.comparison.ssim]) {
    assert.equal(c.diff, 0);
    assert.equal(c.verdict, 'tied');
  }
  const small = { ...copyModel, config: { name: 'small', imageSize: [32, 32, 1] } };
  await assert.rejects(evaluate({ predictor: blackModel, versusPredictor: small, count: 2 }), (e: unknown) => e instanceof UserError && /different frames \(64×64×1 vs 32×32×1\)/.test(e.message));
});
