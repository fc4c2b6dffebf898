/** Checkpoints: save → load → identical outputs; optimizer/state round trip; atomic replace; corruption → UserError. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, truncate } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { UserError } from '../src/runtime/errors.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { loadCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-ckpt-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rewrite one file and fix its manifest entry (a consistent but semantically wrong checkpoint). */
async function rewrite(dir: string, name: string, data: Buffer): Promise<void> {
  await writeFile(join(dir, name), data);
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  m.files[name] = { bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') };
  const lines = Object.keys(m.files).sort().map((k) => `${k} ${m.files[k].bytes} ${m.files[k].sha256}\n`).join('');
  m.sha256 = createHash('sha256').update(lines).digest('hex');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
}

test('save → load gives identical weights, running stats, loss and predictions; optimizer weights and state survive', async () => {
  await initBackend('wasm');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 3);
  const [h, w, c] = cfg.imageSize;
  const seq = tf.randomUniform([5, 2, h, w, c], 0, 1, 'float32', 1) as tf.Tensor5D;
  const opt = tf.train.adam(1e-3);
  opt.minimize(() => model.loss(seq), true, model.trainableVariables())!.dispose(); // moves weights and running stats
  const optimizerWeights = await opt.getWeights();
  await withDir(async (dir) => {
    const ck = join(dir, 'run', 'last');
    await saveCheckpoint(ck, { model, optimizerWeights, state: { step: 1, rngState: { algorithm: 'x', state: [1, 2] } } });
    assert.deepEqual((await readdir(ck)).sort(), ['config.json', 'manifest.json', 'model.json', 'optimizer.bin', 'optimizer.json', 'state.json', 'weights.bin']);
    const loaded = await loadCheckpoint(ck);
    try {
      assert.deepEqual(loaded.state, { step: 1, rngState: { algorithm: 'x', state: [1, 2] } });
      assert.deepEqual(loaded.model.config, model.config);
      const a = model.namedWeights();
      const b = loaded.model.namedWeights();
      assert.deepEqual(b.map((x) => [x.name, x.trainable]), a.map((x) => [x.name, x.trainable]));
      a.forEach((x, i) => assert.deepEqual(Array.from(b[i]!.variable.dataSync()), Array.from(x.variable.dataSync()), x.name));
      assert.equal(loaded.optimizerWeights!.length, optimizerWeights.length);
      loaded.optimizerWeights!.forEach((x, i) => {
        assert.equal(x.name, optimizerWeights[i]!.name);
        assert.deepEqual(Array.from(x.tensor.dataSync()), Array.from(optimizerWeights[i]!.tensor.dataSync()));
      });
      const ctx = seq.slice([0], [4]) as tf.Tensor5D;
      const p1 = model.predict(ctx, 2);
      const p2 = loaded.model.predict(ctx, 2);
      assert.deepEqual(Array.from(p2.dataSync()), Array.from(p1.dataSync()));
      tf.dispose([ctx, p1, p2]);
      // saving again over it replaces it atomically (no temp or old dirs left behind)
      await saveCheckpoint(ck, { model: loaded.model, state: { step: 2 } });
      assert.deepEqual(await readdir(join(dir, 'run')), ['last']);
      const again = await loadCheckpoint(ck);
      assert.equal(again.state.step, 2);
      assert.equal(again.optimizerWeights, undefined);
      again.model.dispose();
    } finally {
      loaded.model.dispose();
      for (const x of loaded.optimizerWeights ?? []) x.tensor.dispose();
    }
  });
  tf.dispose([seq, ...optimizerWeights.map((x) => x.tensor)]);
  opt.dispose();
  model.dispose();
});

test('corrupt, truncated, incomplete or mismatched checkpoints are rejected with a UserError', async () => {
  await initBackend('cpu');
  const cfg = await loadConfig('tiny');
  const model = CrevNet.create(cfg, 1);
  await withDir(async (root) => {
    const fresh = async (name: string) => {
      const dir = join(root, name);
      await saveCheckpoint(dir, { model, state: { step: 0 } });
      return dir;
    };
    const expectError = async (dir: string, re: RegExp) => {
      const before = tf.memory().numTensors;
      await assert.rejects(loadCheckpoint(dir), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'));
      assert.equal(tf.memory().numTensors, before, 'nothing leaked on failure');
    };
    let dir = await fresh('flip');
    const bin = await readFile(join(dir, 'weights.bin'));
    bin[100] = bin[100]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), bin);
    await expectError(dir, /weights\.bin is corrupt \(sha256 mismatch\)/);

    dir = await fresh('trunc');
    await truncate(join(dir, 'weights.bin'), 1000);
    await expectError(dir, /weights\.bin is 1000 bytes, expected \d+ \(truncated/);

    dir = await fresh('nomanifest');
    await rm(join(dir, 'manifest.json'));
    await expectError(dir, /no manifest\.json/);

    dir = await fresh('missing');
    await rm(join(dir, 'state.json'));
    await expectError(dir, /state\.json is missing/);

    await expectError(join(root, 'nothing-here'), /does not exist/);

    // consistent hashes but a config that does not match the weights
    dir = await fresh('mismatch');
    const conf = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    conf.model.predictorLayers = 4;
    await rewrite(dir, 'config.json', Buffer.from(JSON.stringify(conf)));
    await expectError(dir, /weight "predictor\/layer2\/g1\/kernel" is missing/);

    dir = await fresh('badconfig');
    conf.model.predictorLayers = 3;
    await rewrite(dir, 'config.json', Buffer.from(JSON.stringify(conf)));
    await expectError(dir, /config\.json: model\.predictorLayers must be even/);

    // weights.bin consistent with the manifest but not with model.json's layout
    dir = await fresh('layout');
    await rewrite(dir, 'weights.bin', (await readFile(join(dir, 'weights.bin'))).subarray(0, 4000));
    await expectError(dir, /weights\.bin holds 4000 bytes, model\.json describes \d+/);
  });
  model.dispose();
});
