/**
 * Exact resume on the cpu backend: N iterations straight equal N/2 + --resume N/2 bit for bit
 * (weights incl. BN running stats, Adam state, losses), with a one-cycle schedule and active
 * gradient clipping so the schedule position and the optimizer state both matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { readJsonl, tempDir, tinyConfig } from './train-helpers.js';

test('N iterations straight = N/2 + resume N/2, bit for bit (cpu)', async () => {
  await initBackend('cpu');
  const { dir, cleanup } = await tempDir('crevnet-exact-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), {
      batch: 1,
      iterations: 4,
      checkpointEvery: 2,
      validateEvery: 2,
      validationSequences: 2,
      gradClip: 1,
      schedule: { type: 'onecycle', pctStart: 0.5 },
    });
    const before = tf.memory().numTensors;
    const a = await train({ config: cfg, out: join(dir, 'a'), skipReport: true });
    assert.equal(a.status, 'completed');
    assert.equal(tf.memory().numTensors, before, 'training leaks no tensors');

    const b1 = await train({ config: cfg, out: join(dir, 'b'), stopAt: 2, skipReport: true });
    assert.equal(b1.status, 'stopped');
    assert.equal(b1.step, 2);
    const b2 = await train({ out: join(dir, 'b'), resume: true, skipReport: true });
    assert.equal(b2.status, 'completed');
    assert.equal(b2.step, 4);
    assert.equal(tf.memory().numTensors, before);

    for (const f of ['weights.bin', 'optimizer.bin']) {
      const x = await readFile(join(dir, 'a', 'last', f));
      const y = await readFile(join(dir, 'b', 'last', f));
      assert.ok(x.equals(y), `last/${f} differs between the straight and the resumed run`);
    }
    const losses = async (d: string) =>
      readJsonl(await readFile(join(dir, d, 'metrics.jsonl'), 'utf8'))
        .filter((r) => r.type === 'train')
        .map((r) => [r.step, r.loss, r.lr, r.gradNorm]);
    const la = await losses('a');
    assert.equal(la.length, 4);
    assert.deepEqual(await losses('b'), la);
    assert.ok(la.some((r) => (r[3] as number) > 1), 'gradient clipping was active');
    assert.notEqual(la[0]![2], la[2]![2], 'the learning rate follows the schedule');

    const ck = await loadCheckpoint(join(dir, 'b', 'last'));
    try {
      assert.equal(ck.state.step, 4);
      const iter = ck.optimizerWeights?.find((w) => w.name === 'iter');
      assert.equal(iter?.tensor.dataSync()[0], 4, 'Adam iteration count survives save → load → save');
      assert.deepEqual(ck.state.adam, (await loadCheckpoint(join(dir, 'a', 'last')).then((c) => { c.model.dispose(); return c.state.adam; })));
    } finally {
      ck.model.dispose();
      for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
    }
  } finally {
    await cleanup();
  }
});
