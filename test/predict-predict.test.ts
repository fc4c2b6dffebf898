/** predictVideo, loadClip, inferClip, inferClips (src/predict/predict.ts) with a tiny untrained model: outputs, ground-truth scores, errors, no leaks, batching and threads. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CrevNet } from '../src/model/crevnet.js';
import { decodeGray } from '../src/video/ffmpeg.js';
import { predictVideo, loadClip, inferClip, inferClips } from '../src/predict/predict.js';
import { DataParallel } from '../src/run/parallel.js';
import { UserError } from '../src/runtime/errors.js';
import { ffprobeVideo } from './video-helpers.js';
import { predictFixture, skip, type PredictFixture } from './predict-helpers.js';

let tmp: PredictFixture['tmp'];
let model: CrevNet;
let sample: string;

before(async () => {
  if (skip) return;
  ({ tmp, model, sample } = await predictFixture());
});

after(() => {
  if (skip) return;
  model.dispose();
  tmp.cleanup();
});

describe('predictVideo (library)', { skip }, () => {
  test('default: the last 10 frames → 10 predicted; output 20 frames at the input fps, upscaled to ≥ 256 px', async () => {
    const out = join(tmp.dir, 'lib-default.mp4');
    const r = await predictVideo(model, sample, { out });
    assert.equal(r.input, sample);
    assert.equal(r.output, out);
    assert.equal(r.fps, 10);
    assert.equal(r.inputFrames, 20);
    assert.equal(r.context, 10);
    assert.equal(r.horizon, 10);
    assert.ok(r.seconds > 0);
    assert.equal(r.perFrame, undefined, 'no ground truth after the end of the video');
    const info = ffprobeVideo(out);
    assert.deepEqual([info.width, info.height, info.frames, info.fps], [256, 256, 20, 10]);
    // the first frames of the output are the context (the last 10 input frames), scaled up: compare frame 0
    const [first] = await decodeGray(out, { width: 32, height: 32, fit: 'stretch', maxFrames: 1 });
    const [ctx0] = await decodeGray(sample, { width: 32, height: 32, fit: 'crop', start: 10, maxFrames: 1 });
    let d = 0;
    for (let i = 0; i < 1024; i++) d += Math.abs(first![i]! - ctx0![i]!);
    assert.ok(d / 1024 < 8, `output frame 0 vs context frame 0: mean |diff| ${d / 1024}`);
  });

  test('--start 10: per-frame SSIM and MSE against frames 10..19; --compare puts truth | prediction | diff side by side', async () => {
    const out = join(tmp.dir, 'lib-start.mp4');
    const r = await predictVideo(model, sample, { out, start: 10, compare: true, scale: 4 });
    assert.ok(r.perFrame);
    assert.equal(r.perFrame.ssim.length, 10);
    assert.equal(r.perFrame.mse.length, 10);
    for (const s of r.perFrame.ssim) assert.ok(Number.isFinite(s) && s <= 1 && s >= -1, `ssim ${s}`);
    for (const m of r.perFrame.mse) assert.ok(Number.isFinite(m) && m >= 0, `mse ${m}`);
    const info = ffprobeVideo(out);
    // 3 panels of 128 px with two 4-px gaps
    assert.deepEqual([info.width, info.height, info.frames], [3 * 128 + 2 * 4, 128, 20]);
  });

  test('--start near the end: ground truth only where it exists; context 4, horizon 3, gif and png', async () => {
    const gif = join(tmp.dir, 'lib-partial.gif');
    const r = await predictVideo(model, sample, { out: gif, start: 18, context: 4, horizon: 3 });
    assert.equal(r.perFrame?.ssim.length, 2, 'frames 18 and 19 exist, 20 does not');
    const g = ffprobeVideo(gif);
    assert.deepEqual([g.codec, g.width, g.height, g.frames], ['gif', 256, 256, 7]);
    const png = join(tmp.dir, 'lib.png');
    await predictVideo(model, sample, { out: png, scale: 1 });
    const p = ffprobeVideo(png);
    assert.deepEqual([p.codec, p.width, p.height, p.frames], ['png', 10 * 32 + 9 * 2, 2 * 32 + 2, 1]);
  });

  test('too few frames, --start out of range: UserErrors naming the counts', async () => {
    await assert.rejects(
      predictVideo(model, sample, { out: join(tmp.dir, 'x.mp4'), context: 25 }),
      (e: unknown) => e instanceof UserError && /has 20 frames; --context 25 needs at least 25/.test(e.message),
    );
    await assert.rejects(predictVideo(model, sample, { out: join(tmp.dir, 'x.mp4'), start: 5 }), /--start ≥ 10/);
    await assert.rejects(predictVideo(model, sample, { out: join(tmp.dir, 'x.mp4'), start: 21 }), /past the end/);
    assert.equal(existsSync(join(tmp.dir, 'x.mp4')), false);
  });

  test('memory: predicting 20 clips in a row leaves tf.memory().numTensors where it started', async () => {
    const clip = await loadClip(sample, { width: 32, height: 32 }, { start: 10, context: 5, horizon: 4 });
    await inferClip(model, clip); // warm-up (kernels may cache tensors on first use)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const p = await inferClip(model, clip);
      assert.equal(p.frames.length, 4);
      assert.equal(p.perFrame?.ssim.length, 4);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  test('inferClips: five clips batched over 3 threads get the frames and scores each gets alone on one thread', async () => {
    const base = await loadClip(sample, { width: 32, height: 32 }, { start: 10, context: 5, horizon: 4 });
    // distinct contexts, so a clip swapped in the batch would show
    const clips = Array.from({ length: 5 }, (_, i) => ({ ...base, context: base.context.map((f) => f.map((v, j) => (v + 37 * i + ((j * i) % 11)) % 256)) }));
    const alone = [];
    for (const c of clips) alone.push(await inferClip(model, c));
    assert.notDeepEqual(alone[0]!.frames, alone[1]!.frames);
    const pool = await DataParallel.start(model, 3);
    try {
      const batched = await inferClips((d, sh, h) => pool.predict(d, sh, h), clips);
      assert.deepEqual(batched, alone);
    } finally {
      await pool.close();
    }
  });
});
