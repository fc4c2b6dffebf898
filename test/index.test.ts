/**
 * The library API (src/index.ts): the README's example compiles against it and runs (a tiny prediction
 * with the bundled model and with a fresh tiny model), every name the README imports from 'crevnet' is
 * exported, and the exported values are exactly the deliberate list below (an internal that leaks into
 * the API, or a name that disappears, fails here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
// the names of the README's library example
import { initBackend, loadCheckpoint, defaultModelDir, predictVideo, evaluate, train, loadConfig, CrevNet } from '../src/index.js';
import * as api from '../src/index.js';
import { ROOT } from './cli-helpers.js';

const EXPORTED_VALUES = [
  'ArraySequenceSource', 'BACKEND_CHOICES', 'BUILTIN_CONFIGS', 'CrevNet', 'CrevnetError', 'DEFAULT_CONTEXT', 'DEFAULT_HORIZON',
  'DEFAULT_MODEL_NAME', 'FIT_MODES', 'GeneratedSequenceSource', 'InternalError', 'MOVING_MNIST_DEFAULTS', 'MetricsAccumulator',
  'MovingMnistStream', 'NonFiniteLossError', 'NpyFile', 'NpySequenceSource', 'NpyWriter', 'Rng', 'SSIM_WINDOW', 'UserError',
  'VIDEO_FORMATS', 'backendInfo', 'bundledModelNames', 'bundledModelsDir', 'configToJson', 'decodeGray', 'defaultModelDir',
  'encodeFrames', 'evaluate', 'expandInputs', 'floatToUint8', 'formatEvalTable', 'frameScores', 'generateSequences', 'inferClip',
  'initBackend', 'isCheckpoint', 'isFailure', 'loadCheckpoint', 'loadClip', 'loadConfig', 'loadMnistDigits', 'lossOptions', 'mae', 'mse',
  'paramCountsFor', 'parseBackendChoice', 'parseConfig', 'parseIdxImages', 'planOutputs', 'predictBatch', 'predictVideo',
  'probeVideo', 'psnr', 'readIdxImages', 'readNpy', 'readTimeMajorBatch', 'resolveModelDir', 'saveCheckpoint', 'shutdownBackend', 'ssim', 'ssimMulti',
  'train', 'uint8ToFloat', 'writeNpy', 'writePrediction', 'writeTimeMajorBatch',
  // your own videos
  'SAMPLE_KINDS', 'VideoWindowStream', 'datasetRecordOf', 'decodeFrames', 'describeDataset', 'makeSampleVideos', 'openVideoData',
  'openVideoSequenceSource', 'splitFiles',
];

test('the exported values are the deliberate list', () => {
  assert.deepEqual(Object.keys(api).sort(), [...EXPORTED_VALUES].sort());
});

test("every name the README imports from 'crevnet' is exported", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const imports = [...readme.matchAll(/import\s*\{([^}]*)\}\s*from\s*'crevnet'/g)];
  assert.ok(imports.length > 0, "the README has a library example importing from 'crevnet'");
  for (const m of imports) {
    for (const name of m[1]!.split(',').map((s) => s.trim().replace(/^type\s+/, '')).filter(Boolean)) {
      assert.ok(name in api, `README imports ${name}, which src/index.ts does not export`);
    }
  }
});

test("the README's example runs: the bundled model and a fresh tiny model predict frames in [0, 1]", async () => {
  for (const f of [predictVideo, evaluate, train]) assert.equal(typeof f, 'function');
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const { model } = await loadCheckpoint(defaultModelDir());
  const tiny = CrevNet.create(await loadConfig('tiny'), 1);
  try {
    for (const m of [model, tiny]) {
      const [h, w, c] = m.config.imageSize as [number, number, number];
      const frames = tf.tidy(() => {
        const context = tf.randomUniform([3, 1, h, w, c], 0, 1, 'float32', 7) as tf.Tensor5D;
        return m.predict(context, 1);
      });
      assert.deepEqual(frames.shape, [1, 1, h, w, c]);
      const v = await frames.data();
      frames.dispose();
      assert.ok(v.every((x) => x >= 0 && x <= 1), `${m.config.name}: predicted frames are clamped to [0, 1]`);
    }
  } finally {
    model.dispose();
    tiny.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});
