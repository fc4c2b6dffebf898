/**
 * The README's first command, on the bundled model: `crevnet predict --frames datasets/samples/moving-mnist.mp4`
 * (here with --out in a temp dir so the test leaves the working tree alone), and the bundled
 * checkpoint itself (loads, is the `small` config, carries its metrics; its quality is measured by `crevnet eval`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { defaultModelDir } from '../src/eval/pretrained.js';
import { ffprobeVideo, skipNoFfmpeg, tempDir } from './video-helpers.js';
import { runCli } from './cli-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const SAMPLE = join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4');

test('the bundled model is a valid small checkpoint', async () => {
  await initBackend('wasm');
  const { model, state } = await loadCheckpoint(defaultModelDir());
  assert.equal(model.config.name, 'small');
  assert.equal(model.paramCounts().total, 80_566);
  assert.ok(typeof state.step === 'number' && state.step > 0, 'trained for at least one step');
  const metrics = JSON.parse(readFileSync(join(defaultModelDir(), 'metrics.json'), 'utf8')) as Record<string, unknown>;
  for (const k of ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr']) assert.ok(Number.isFinite(metrics[k]), `metrics.json ${k}`);
  model.dispose();
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
