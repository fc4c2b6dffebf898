/**
 * Data-parallel training over worker_threads (src/run/parallel.ts): shard arithmetic, gradients equal
 * to a single-thread step where they must be (identical shards bit for bit; GroupNorm to 1e-5), no
 * tensor leaks, errors and dead workers reported instead of hanging, a 2-thread training run that
 * resumes bit for bit, and the sharded test rollout (predict) equal to the single-thread one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { type ModelConfig } from '../src/model/config.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet, DEFAULT_LOSS_OPTIONS } from '../src/model/crevnet.js';
import { DataParallel, placeSamples, resolveWorkers, shardSizes, sliceSamples } from '../src/run/parallel.js';
import { train } from '../src/train/trainer.js';
import { readJsonl, runCli, tempDir, tinyConfig } from './train-helpers.js';

test('shard sizes, sample slicing and worker resolution', () => {
  assert.deepEqual(shardSizes(4, 2), [2, 2]);
  assert.deepEqual(shardSizes(5, 2), [3, 2]);
  assert.deepEqual(shardSizes(1, 2), [1]);
  assert.deepEqual(shardSizes(7, 3), [3, 2, 2]);
  // time-major [T=2, B=3, 2 values]
  const a = Float32Array.from({ length: 12 }, (_, i) => i);
  assert.deepEqual([...sliceSamples(a, 2, 3, 1, 2)], [2, 3, 4, 5, 8, 9, 10, 11]);
  assert.deepEqual([...sliceSamples(a, 2, 3, 0, 1)], [0, 1, 6, 7]);
  const back = new Float32Array(12);
  placeSamples(back, sliceSamples(a, 2, 3, 0, 1), 2, 3, 0, 1);
  placeSamples(back, sliceSamples(a, 2, 3, 1, 2), 2, 3, 1, 2);
  assert.deepEqual(back, a, 'placeSamples inverts sliceSamples');
  assert.equal(resolveWorkers(3, 'wasm'), 3);
  assert.equal(resolveWorkers('auto', 'tensorflow'), 1);
  assert.ok([1, 2].includes(resolveWorkers('auto', 'wasm')));

});

function seqData(cfg: ModelConfig, frames: number, batch: number, seed: number): Float32Array {
  const [h, w, c] = cfg.imageSize;
  return tf.tidy(() => tf.randomUniform([frames, batch, h, w, c], 0, 1, 'float32', seed).dataSync() as Float32Array).slice();
}

/** Loss, gradients (trainable order) and running statistics after one step, on the main thread only. */
function singleStep(model: CrevNet, data: Float32Array, shape: [number, number, number, number, number]) {
  const x = tf.tensor5d(data, shape);
  const { value, grads } = tf.variableGrads(() => model.loss(x), model.trainableVariables());
  const out = {
    loss: value.dataSync()[0]!,
    grads: model.trainableVariables().map((v) => grads[v.name]!.dataSync().slice() as Float32Array),
    running: model.namedWeights().filter((w) => !w.trainable).map((w) => w.variable.dataSync().slice() as Float32Array),
  };
  tf.dispose([x, value, ...Object.values(grads)]);
  return out;
}

async function parallelStep(pool: DataParallel, model: CrevNet, data: Float32Array, shape: [number, number, number, number, number]) {
  const { value, grads, shards } = await pool.gradients(data, shape);
  const out = {
    shards,
    loss: value.dataSync()[0]!,
    grads: model.trainableVariables().map((v) => grads[v.name]!.dataSync().slice() as Float32Array),
    running: model.namedWeights().filter((w) => !w.trainable).map((w) => w.variable.dataSync().slice() as Float32Array),
  };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

test('2 threads on two identical samples equal one sample on one thread, bit for bit (BatchNorm, wasm)', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [h, w, c] = cfg.imageSize;
  const T = 6;
  const one = seqData(cfg, T, 1, 3);
  // [T, 2, …] with sample 1 = sample 0
  const two = new Float32Array(one.length * 2);
  for (let t = 0; t < T; t++) {
    const f = one.subarray(t * h * w * c, (t + 1) * h * w * c);
    two.set(f, 2 * t * h * w * c);
    two.set(f, (2 * t + 1) * h * w * c);
  }
  const ref = CrevNet.create(cfg, 5);
  const model = CrevNet.create(cfg, 5);
  const pool = await DataParallel.start(model, 2);
  const before = tf.memory().numTensors;
  try {
    assert.equal(pool.threads, 2);
    for (let step = 0; step < 2; step++) {
      const a = singleStep(ref, one, [T, 1, h, w, c]);
      const b = await parallelStep(pool, model, two, [T, 2, h, w, c]);
      assert.deepEqual(b.shards, [1, 1]);
      assert.equal(b.loss, a.loss, `step ${step}: loss`);
      a.grads.forEach((g, i) => assert.deepEqual(b.grads[i], g, `step ${step}: gradient ${i}`));
      a.running.forEach((r, i) => assert.deepEqual(b.running[i], r, `step ${step}: running statistics ${i}`));
      // the next step starts from changed weights: the workers must receive them
      for (const m of [ref, model]) tf.tidy(() => m.trainableVariables().forEach((v, i) => v.assign(tf.add(v, tf.mul(a.grads[i]!.length, 1e-4)))));
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  } finally {
    await pool.close();
    await pool.close(); // idempotent
    ref.dispose();
    model.dispose();
  }
});

test('with GroupNorm (no batch coupling) 2 threads equal one thread on the same batch up to summation order (wasm)', async () => {
  await initBackend('wasm');
  const base = await loadConfig('tiny');
  const cfg: ModelConfig = { ...base, norm: 'group' };
  const [h, w, c] = cfg.imageSize;
  const shape: [number, number, number, number, number] = [6, 3, h, w, c];
  const data = seqData(cfg, 6, 3, 9);
  const ref = CrevNet.create(cfg, 6);
  const model = CrevNet.create(cfg, 6);
  const pool = await DataParallel.start(model, 2);
  try {
    const a = singleStep(ref, data, shape);
    const b = await parallelStep(pool, model, data, shape);
    assert.deepEqual(b.shards, [2, 1]);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * a.loss, `loss ${a.loss} vs ${b.loss}`);
    // per variable, relative to its own scale floored at 1% of the largest gradient (a γ gradient
    // near zero by cancellation only carries float noise); the shards sum in another order (1e-4, as the
    // cpu/wasm agreement test of model-crevnet)
    const top = Math.max(...a.grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    a.grads.forEach((g, i) => {
      let num = 0;
      let den = 0.01 * top;
      g.forEach((v, j) => {
        num = Math.max(num, Math.abs(v - b.grads[i]![j]!));
        den = Math.max(den, Math.abs(v));
      });
      assert.ok(num <= 1e-4 * den, `gradient ${i}: ${num / den}`);
    });
  } finally {
    await pool.close();
    ref.dispose();
    model.dispose();
  }
});

test('errors: a failing main shard and a dead worker reject instead of hanging, without leaks', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [h, w, c] = cfg.imageSize;
  const shape: [number, number, number, number, number] = [5, 2, h, w, c];
  const data = seqData(cfg, 5, 2, 4);
  const model = CrevNet.create(cfg, 1);
  const pool = await DataParallel.start(model, 2);
  try {
    await assert.rejects(
      pool.gradients(data, shape, DEFAULT_LOSS_OPTIONS, () => {
        throw new Error('boom in the main shard');
      }),
      /boom in the main shard/,
    );
    // (tfjs itself keeps the saved tensors of a gradient tape whose function threw, so count from here)
    const before = tf.memory().numTensors;
    // the pool still works after the failed step: the late worker reply is dropped
    const ok = await pool.gradients(data, shape);
    assert.ok(Number.isFinite(ok.value.dataSync()[0]!));
    tf.dispose([ok.value, ...Object.values(ok.grads)]);
    assert.equal(tf.memory().numTensors, before);
    // a worker that dies is reported
    await (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0]!.worker.terminate();
    await assert.rejects(pool.gradients(data, shape), /training worker 1 exited/);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await pool.close();
    model.dispose();
  }
});

test('crevnet training with 2 threads: N straight = N/2 + resume N/2 bit for bit (wasm)', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-parallel-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), {
      batch: 2,
      frames: 6,
      iterations: 4,
      checkpointEvery: 2,
      validateEvery: 1000,
      validationSequences: 2,
      workers: 2,
    });
    const notes: string[] = [];
    const progress = { start() {}, step() {}, message: (s: string) => notes.push(s), stop() {} };
    const before = tf.memory().numTensors;
    const a = await train({ config: cfg, out: join(dir, 'a'), skipReport: true, progress });
    assert.equal(a.status, 'completed');
    assert.equal(a.settings.workers, 2);
    assert.ok(notes.some((n) => /data parallel: 2 threads/.test(n)), notes.join('\n'));
    assert.equal(tf.memory().numTensors, before, 'training leaks no tensors');
    await train({ config: cfg, out: join(dir, 'b'), stopAt: 2, skipReport: true });
    const b = await train({ out: join(dir, 'b'), resume: true, skipReport: true });
    assert.equal(b.step, 4);
    for (const f of ['weights.bin', 'optimizer.bin']) {
      const x = await readFile(join(dir, 'a', 'last', f));
      const y = await readFile(join(dir, 'b', 'last', f));
      assert.ok(x.equals(y), `last/${f} differs between the straight and the resumed run`);
    }
    const losses = async (d: string) =>
      readJsonl(await readFile(join(dir, d, 'metrics.jsonl'), 'utf8'))
        .filter((r) => r.type === 'train')
        .map((r) => [r.step, r.loss, r.gradNorm]);
    assert.deepEqual(await losses('b'), await losses('a'));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    await cleanup();
  }
});

test('crevnet train/bench reject a bad --workers with a one-line error', async () => {
  for (const args of [
    ['train', '--config', 'tiny', '--workers', '0'],
    ['bench', '--config', 'tiny', '--workers', 'lots'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), /^error: --workers must be 'auto' or an integer from 1 to 64/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('predict on 2 threads equals the single-thread rollout per sequence (batch 3: shards 2+1), current weights, no leaks; a closed pool refuses (wasm)', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [h, w, c] = cfg.imageSize;
  const K = 4;
  const horizon = 3;
  const B = 3;
  const shape: [number, number, number, number, number] = [K, B, h, w, c];
  const context = seqData(cfg, K, B, 11);
  const model = CrevNet.create(cfg, 2);
  const pool = await DataParallel.start(model, 2);
  const frame = h * w * c;
  /** prediction of sequence b, [horizon, H·W·C] flattened */
  const sequence = (y: Float32Array, b: number) => {
    const out = new Float32Array(horizon * frame);
    for (let t = 0; t < horizon; t++) out.set(y.subarray((t * B + b) * frame, (t * B + b + 1) * frame), t * frame);
    return out;
  };
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  // the model keeps the filters it prepares for predict; make them before counting tensors
  tf.dispose(model.predict(tf.tensor5d(context, shape), horizon));
  try {
    for (let round = 0; round < 2; round++) {
      const before = tf.memory().numTensors;
      const got = await pool.predict(context, shape, horizon);
      assert.equal(tf.memory().numTensors, before, `round ${round}: no tensors leak`);
      const ref = tf.tidy(() => model.predict(tf.tensor5d(context, shape), horizon).dataSync().slice() as Float32Array);
      assert.equal(got.length, ref.length);
      for (let b = 0; b < B; b++) {
        const d = maxDiff(sequence(got, b), sequence(ref, b));
        assert.ok(d <= 1e-5, `round ${round}, sequence ${b}: max |Δ| ${d}`);
      }
      // the sequences differ, so a swapped shard would show
      assert.ok(maxDiff(sequence(ref, 0), sequence(ref, 2)) > 1e-3);
      // raw frames reach every shard too (sequence 2 is a worker's): the decoder's output, not clamped
      const gotRaw = await pool.predict(context, shape, horizon, true);
      const refRaw = tf.tidy(() => model.predict(tf.tensor5d(context, shape), horizon, { raw: true }).dataSync().slice() as Float32Array);
      for (let b = 0; b < B; b++) assert.ok(maxDiff(sequence(gotRaw, b), sequence(refRaw, b)) <= 1e-5, `round ${round}, raw sequence ${b}`);
      assert.ok(sequence(refRaw, 2).some((v) => v < 0 || v > 1), 'the worker shard has raw values outside [0, 1]');
      // the workers must use the weights of the next request, incl. running statistics
      tf.tidy(() => model.namedWeights().forEach((nw) => nw.variable.assign(tf.mul(nw.variable, 1.1))));
    }
  } finally {
    await pool.close();
  }
  try {
    await assert.rejects(pool.predict(context, shape, horizon), /closed/);
  } finally {
    model.dispose();
  }
});

test('inference has the same numbers for any thread count: 1, 2 and 3 threads give identical frames; repeated calls agree and an update reaches every worker (wasm)', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const [h, w, c] = cfg.imageSize;
  const K = 5;
  const horizon = 4;
  const B = 5;
  const shape: [number, number, number, number, number] = [K, B, h, w, c];
  const context = seqData(cfg, K, B, 17);
  const model = CrevNet.create(cfg, 6);
  const results: Float32Array[] = [];
  for (const threads of [1, 2, 3]) {
    const pool = await DataParallel.start(model, threads);
    try {
      const first = await pool.predict(context, shape, horizon);
      // a second call with unchanged weights: the workers keep theirs and their prepared filters
      const second = await pool.predict(context, shape, horizon);
      assert.deepEqual(second, first, `${threads} threads: a repeated call differs`);
      results.push(first);
      if (threads === 3) {
        // an update reaches every worker on the next call (shards of 2+2+1: sequence 4 is a worker's)
        tf.tidy(() => model.namedWeights().forEach((nw) => nw.variable.assign(tf.mul(nw.variable, 0.9))));
        const updated = await pool.predict(context, shape, horizon);
        const ref = tf.tidy(() => model.predict(tf.tensor5d(context, shape), horizon).dataSync().slice() as Float32Array);
        assert.deepEqual(updated, ref, 'after an update the pool equals the updated model');
        assert.notDeepEqual(updated, first);
      }
    } finally {
      await pool.close();
    }
  }
  assert.deepEqual(results[1], results[0], '2 threads equal 1 thread');
  assert.deepEqual(results[2], results[0], '3 threads equal 1 thread');
  model.dispose();
});
