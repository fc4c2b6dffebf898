/** Model configs: named configs, the architecture alone, bad configs rejected with one line naming the field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/runtime/errors.js';
import { configToJson, parseConfig } from '../src/model/config.js';
import { loadConfig, readConfigFile } from '../src/model/config-file.js';

test('named configs load with their documented shapes', async () => {
  const paper = await loadConfig('paper');
  assert.deepEqual([paper.nBlocks, paper.strides, paper.predictorLayers, paper.imageSize], [[4, 5, 3], [1, 2, 2], 8, [64, 64, 1]]);
  assert.deepEqual(paper.channels, [2, 8, 32]);
  assert.ok(!('train' in paper), 'a model config is the architecture only');
  const small = await loadConfig('small');
  assert.deepEqual([small.nBlocks, small.strides, small.predictorLayers, small.name], [[2, 2], [1, 2], 2, 'small']);
  assert.equal(small.reversibleBackprop, false);
  assert.equal(small.norm, 'batch');
  const tiny = await loadConfig('tiny');
  assert.deepEqual(tiny.imageSize, [32, 32, 1]);
  // the file form round-trips
  assert.deepEqual(parseConfig(configToJson(small), 'x'), small);
});

test('the train section is handed on as written: a model loads whatever training settings its file holds', async () => {
  const model = { imageSize: [32, 32, 1], nBlocks: [1], strides: [2], predictorLayers: 2 };
  const cfg = parseConfig({ model }, 'inline', 'mine');
  assert.equal(cfg.name, 'mine');
  // settings the training layer would refuse (or no longer knows) do not stop a model from loading
  assert.deepEqual(parseConfig({ model, train: { horizonRamp: 2, clipLoss: 'ssim', lr: -1 } }, 'inline', 'mine'), cfg);
  assert.deepEqual(configToJson(cfg, { lr: 1 }).train, { lr: 1 });
  assert.equal(configToJson(cfg).train, undefined);
  const f = await readConfigFile('tiny');
  assert.equal(f.source, 'configs/tiny.json');
  assert.equal(f.model.name, 'tiny');
  assert.equal(f.train.batch, 2);
});

test('bad configs are rejected with a one-line UserError naming the field', async () => {
  const model = { imageSize: [64, 64, 1], nBlocks: [2, 2], strides: [1, 2], predictorLayers: 2 };
  const cases: [unknown, RegExp][] = [
    [{ model: { ...model, predictorLayers: 3 } }, /^configs\/x\.json: model\.predictorLayers must be even \(got 3\)/],
    [{ model: { ...model, nBlocks: 'two' } }, /^configs\/x\.json: model\.nBlocks must be an array \(got string "two"\)/],
    [{ model: { ...model, extra: 1 } }, /^configs\/x\.json: model\.extra: unknown key/],
    [{ model, trian: {} }, /^configs\/x\.json: trian: unknown key/],
    [{ model: { ...model, channels: [2, 16] } }, /^configs\/x\.json: model\.channels\[1\] must be 8 \(got 16\)/],
    [{ model: { ...model, strides: [1, 2, 2] } }, /^configs\/x\.json: model\.strides must have one entry per stage/],
    [{ model: { ...model, strides: [1, 3] } }, /^configs\/x\.json: model\.strides\[1\]/],
    [{ model: { ...model, imageSize: [62, 64, 1] } }, /^configs\/x\.json: model\.imageSize height and width must be divisible by 4/],
    [{ model: { ...model, predictorLayers: 2.5 } }, /^configs\/x\.json: model\.predictorLayers must be an integer/],
    [{ model: { ...model, norm: 'layer' } }, /^configs\/x\.json: model\.norm has an invalid value/],
    [{ model: { ...model }, train: 'fast' }, /^configs\/x\.json: train must be an object \(got string "fast"\)/],
    [{}, /^configs\/x\.json: model is required/],
  ];
  for (const [json, re] of cases) {
    assert.throws(() => parseConfig(json, 'configs/x.json'), (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.match(e.message, re);
      return true;
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-config-'));
  try {
    await writeFile(join(dir, 'bad.json'), '{ "model": ');
    await assert.rejects(loadConfig(join(dir, 'bad.json')), (e: unknown) => e instanceof UserError && /invalid JSON/.test(e.message));
    await assert.rejects(loadConfig(join(dir, 'missing.json')), (e: unknown) => e instanceof UserError && /not found/.test(e.message));
    await assert.rejects(loadConfig('nonesuch'), (e: unknown) => e instanceof UserError && /not a built-in name/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
