/**
 * The README's first command, on the bundled model: `crevnet predict --frames datasets/samples/moving-mnist.mp4`
 * (here with --out in a temp dir so the test leaves the working tree alone), and the bundled
 * checkpoints themselves (load, are the config their name says, carry their metrics; quality is measured by `crevnet eval`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { DEFAULT_MODEL_NAME, bundledModelNames, bundledModelsDir, defaultModelDir } from '../src/model/pretrained.js';
import { ffprobeVideo, skipNoFfmpeg, tempDir } from './video-helpers.js';
import { runCli } from './cli-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const SAMPLE = join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4');

/** parameter counts of the built-in configs (test/model-crevnet.test.ts derives them) */
const PARAMS: Record<string, number> = { small: 80_566, medium: 1_286_198 };

test('every bundled model is a valid checkpoint of the config its name says, with its metrics; the default is one of them', async () => {
  await initBackend('wasm');
  const names = bundledModelNames();
  assert.ok(names.includes(DEFAULT_MODEL_NAME), `bundled: ${names.join(', ')}`);
  assert.equal(defaultModelDir(), join(bundledModelsDir(), DEFAULT_MODEL_NAME));
  for (const name of names) {
    const dir = join(bundledModelsDir(), name);
    const { model, state } = await loadCheckpoint(dir);
    try {
      assert.equal(`mmnist-${model.config.name}`, name);
      assert.equal(model.paramCounts().total, PARAMS[model.config.name]);
      assert.ok(typeof state.step === 'number' && state.step > 0, 'trained for at least one step');
      const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
      for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr']) assert.ok(Number.isFinite(metrics[k]), `${name} metrics.json ${k}`);
    } finally {
      model.dispose();
    }
  }
});

test('README: crevnet predict --frames datasets/samples/moving-mnist.mp4 uses the bundled model', { skip: skipNoFfmpeg }, async () => {
  assert.ok(existsSync(SAMPLE), 'sample video is committed');
  const tmp = tempDir('readme');
  try {
    const out = join(tmp.dir, 'moving-mnist.mp4');
    const r = await runCli(['predict', '--frames', SAMPLE, '--out', out, '--json'], { env: { CREVNET_BACKEND: 'wasm' } });
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout) as { output: string; context: number; horizon: number; fps: number }[];
    assert.equal(res!.output, out);
    const v = ffprobeVideo(out);
    assert.equal(v.frames, res!.context + res!.horizon);
    assert.equal(v.fps, 10);
    assert.ok(Math.min(v.width, v.height) >= 256);
  } finally {
    tmp.cleanup();
  }
});
