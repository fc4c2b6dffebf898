/**
 * Training configs (src/train/config.ts): the train section's defaults and schedules, bad values refused
 * in one line naming the field, the loss options taken whole from the settings, and options that were
 * removed: accepted at their neutral value (old configs and runs), refused otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../src/runtime/errors.js';
import { DEFAULT_LOSS_OPTIONS, LossOptionsSchema } from '../src/model/crevnet-loss.js';
import { loadTrainingConfig, lossOptionsOf, parseTrainConfig, parseTrainingConfig, removedOptionIn, TrainConfigSchema } from '../src/train/config.js';

const model = { imageSize: [64, 64, 1], nBlocks: [2, 2], strides: [1, 2], predictorLayers: 2 };

function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, re);
    return true;
  });
}

test('named configs carry their training settings; train section defaults and schedules', async () => {
  const paper = await loadTrainingConfig('paper');
  assert.equal(paper.model.predictorLayers, 8);
  assert.equal(paper.train.batch, 16);
  assert.deepEqual(paper.train.schedule, { type: 'step', milestones: [250000], gamma: 0.2 });
  const t = TrainConfigSchema.parse({});
  assert.equal(t.lr, 5e-4);
  assert.equal(t.mode, 'teacher');
  assert.equal(t.context, 10);
  assert.equal(t.gradClip, null);
  assert.deepEqual(t.schedule, { type: 'constant' });
  const oc = TrainConfigSchema.parse({ schedule: { type: 'onecycle' } });
  assert.deepEqual(oc.schedule, { type: 'onecycle', pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4, anneal: 'cos' });
  assert.equal(parseTrainingConfig({ model }, 'inline', 'mine').train.batch, 4, 'no train section: defaults');
  assert.equal((await loadTrainingConfig('tiny')).train.workers, 'auto', "train.workers defaults to 'auto'");
  assert.equal(parseTrainConfig({ workers: 2 }, 'x').workers, 2);
});

test('bad train sections are refused with a one-line UserError naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ model, train: { schedule: { type: 'cosine' } } }, /^configs\/x\.json: train\.schedule/],
    [{ model, train: { lr: -1 } }, /^configs\/x\.json: train\.lr must be > 0 \(got number -1\)$/],
    [{ model, train: { l1: -0.5 } }, /^configs\/x\.json: train\.l1 must be ≥ 0 \(got number -0\.5\)$/],
    [{ model, train: { clipLoss: 'yes' } }, /^configs\/x\.json: train\.clipLoss must be a boolean/],
    [{ model, train: { mode: 'free' } }, /^configs\/x\.json: train\.mode has an invalid value/],
    [{ model, train: { context: 2 } }, /^configs\/x\.json: train\.context must be ≥ 3/],
    [{ model, train: { workers: 0 } }, /^configs\/x\.json: train\.workers/],
    [{ model, train: { workers: 'many' } }, /^configs\/x\.json: train\.workers/],
    [{ model, train: { learningRate: 1 } }, /^configs\/x\.json: train\.learningRate: unknown key$/],
    [{ model: { ...model, predictorLayers: 3 } }, /^configs\/x\.json: model\.predictorLayers must be even/],
  ];
  for (const [json, re] of cases) refused(() => parseTrainingConfig(json, 'configs/x.json'), re);
});

test('the loss options are the settings\' own values, whole: every key of the loss schema, nothing else', () => {
  const s = parseTrainConfig({ mode: 'rollout', context: 4, l1: 3, ssim: 2, clipLoss: true, freezeNorm: true, gradClip: 10, lr: 1e-4 }, 'x');
  assert.deepEqual(lossOptionsOf(s), { mode: 'rollout', context: 4, l1: 3, ssim: 2, clipLoss: true, freezeNorm: true });
  assert.deepEqual(Object.keys(lossOptionsOf(s)).sort(), Object.keys(LossOptionsSchema.shape).sort());
  assert.deepEqual(lossOptionsOf(parseTrainConfig({}, 'x')), { ...DEFAULT_LOSS_OPTIONS });
});

test('removed options: the neutral value of an old config or run still loads; any other is refused naming the option', () => {
  const old = { batch: 2, mode: 'rollout', horizonRamp: 0, ssimRamp: 0, clipLoss: true };
  assert.equal(removedOptionIn(old), undefined);
  const s = parseTrainConfig(old, 'old.json');
  assert.equal(s.clipLoss, true);
  assert.ok(!('horizonRamp' in s) && !('ssimRamp' in s), 'the neutral ramps are dropped');
  assert.equal(parseTrainConfig({ clipLoss: false }, 'x').clipLoss, false);
  for (const [train, re] of [
    [{ horizonRamp: 2 }, /^old\.json: train\.horizonRamp = 2 \(--horizon-ramp\) is an option that has been removed; remove it from the config$/],
    [{ mode: 'rollout', ssimRamp: 0.5 }, /^old\.json: train\.ssimRamp = 0\.5 \(--ssim-ramp\) is an option/],
    [{ ssim: 1, clipLoss: 'ssim' }, /^old\.json: train\.clipLoss = "ssim" \(--clip-loss ssim\) is an option that has been removed/],
  ] as [Record<string, unknown>, RegExp][]) {
    refused(() => parseTrainConfig(train, 'old.json'), re);
  }
  refused(() => parseTrainConfig({ horizonRamp: 1 }, 'run/last', 'start a new run'), /removed; start a new run$/);
});
