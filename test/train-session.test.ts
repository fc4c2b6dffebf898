/**
 * Training on your own colour videos, end to end (src/train/session.ts with --data): a tiny RGB config trains on
 * a folder of generated colour clips, a run stopped and resumed through the CLI equals the uninterrupted run bit
 * for bit (wasm, one thread; the data stream restored from its Rng state and the videos read back from the run's cache),
 * the held-out file is evaluated beside both baselines, and predicted to a colour mp4. The bundled Moving MNIST
 * model says so when it is given colour video.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { train } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { splitFiles } from '../src/video/dataset.js';
import { makeSampleVideos } from '../src/video/samples.js';
import { ffmpegBinary } from '../src/runtime/ffmpeg-paths.js';
import { hasColour } from '../src/predict/predict.js';
import { readJsonl, ROOT, runCli, tempDir } from './train-helpers.js';
import { ffprobeVideo, skipNoFfmpeg } from './video-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let videos: string;
let clips: string[];
let cfg: string;
/** one thread on wasm is deterministic, so the CLI's resumed run can equal the one trained in this process */
const WASM = { env: { CREVNET_BACKEND: 'wasm' } };

before(async () => {
  ({ dir, cleanup } = await tempDir('crevnet-video-train-'));
  if (skipNoFfmpeg) return;
  videos = join(dir, 'clips');
  clips = await makeSampleVideos({ out: videos, count: 4, kinds: ['testsrc', 'life', 'pan', 'zoom'], frames: 14, width: 64, height: 48, fps: 10, seed: 3 });
  const tiny = JSON.parse(await readFile(join(ROOT, 'configs', 'tiny.json'), 'utf8')) as { model: Record<string, unknown>; train: Record<string, unknown> };
  // 16×16 RGB, no stride-2 stage: the smallest colour model (latent halves of 6 channels), so the test is quick
  tiny.model.imageSize = [16, 16, 3];
  tiny.model.strides = [1, 1];
  tiny.train = { ...tiny.train, batch: 2, frames: 6, context: 3, iterations: 4, checkpointEvery: 2, validateEvery: 2, validationSequences: 4, workers: 1, mode: 'rollout' };
  cfg = join(dir, 'tiny-rgb.json');
  await writeFile(cfg, JSON.stringify(tiny));
});
after(() => cleanup?.());

test('train --data on colour videos: resumes exactly, evaluates held-out files with both baselines, predicts a colour mp4', { skip: skipNoFfmpeg }, async () => {
  await initBackend('wasm');
  const heldOut = splitFiles(clips, { valSplit: 0.25 }).val;
  assert.equal(heldOut.length, 1);

  // A: four iterations straight, in this process
  const before = tf.memory().numTensors;
  const a = await train({ config: cfg, out: join(dir, 'a'), data: { inputs: [videos], valSplit: 0.25 }, skipReport: true });
  assert.equal(a.status, 'completed');
  assert.equal(tf.memory().numTensors, before, 'training on videos leaks no tensors');

  // B: two iterations, then --resume, through the CLI
  const b1 = await runCli(['train', '--config', cfg, '--data', videos, '--val-split', '0.25', '--out', join(dir, 'b'), '--stop-at', '2'], WASM);
  assert.equal(b1.code, 0, b1.stderr + b1.stdout);
  assert.match(b1.stdout, /decoding videos: 4\/4 files, \d+ frames/);
  assert.match(b1.stdout, /data: 3 training videos .*, 1 held out/);
  const b2 = await runCli(['train', '--resume', '--out', join(dir, 'b')], WASM);
  assert.equal(b2.code, 0, b2.stderr + b2.stdout);
  assert.match(b2.stdout, /decoding videos: 4\/4 files \(all from the cache\)/, 'the resumed session reads the decoded frames back, no ffmpeg');
  for (const f of ['weights.bin', 'optimizer.bin']) {
    const x = await readFile(join(dir, 'a', 'last', f));
    const y = await readFile(join(dir, 'b', 'last', f));
    assert.ok(x.equals(y), `last/${f} differs between the straight and the resumed run`);
  }
  const losses = async (d: string) =>
    readJsonl(await readFile(join(dir, d, 'metrics.jsonl'), 'utf8'))
      .filter((r) => r.type === 'train')
      .map((r) => [r.step, r.loss]);
  assert.deepEqual(await losses('b'), await losses('a'));

  // the checkpoint records what it was trained on; the held-out file is not among the training files
  const ck = await loadCheckpoint(join(dir, 'b', 'last'));
  try {
    const ds = ck.state.dataset as Record<string, unknown>;
    assert.deepEqual(
      { name: ds.name, kind: ds.kind, imageSize: ds.imageSize, frameStep: ds.frameStep, files: ds.files, valFiles: ds.valFiles },
      { name: 'clips', kind: 'video', imageSize: [16, 16, 3], frameStep: 1, files: 3, valFiles: 1 },
    );
    const data = ck.state.data as { files: { path: string }[]; valFiles: string[] };
    assert.deepEqual(data.valFiles, heldOut.map((f) => resolve(f)));
    assert.ok(!data.files.some((f) => f.path === resolve(heldOut[0]!)));
  } finally {
    ck.model.dispose();
    for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
  }

  // eval on the held-out file: the model beside copy-last and black frames, with paired verdicts
  const ev = await runCli(['eval', '--model', join(dir, 'b'), '--held-out', '--context', '3', '--horizon', '3', '--workers', '1', '--json'], WASM);
  assert.equal(ev.code, 0, ev.stderr);
  const report = JSON.parse(ev.stdout) as Record<string, any>;
  assert.equal(report.dataInfo.kind, 'video');
  assert.deepEqual(report.dataInfo.files.map((f: { path: string }) => resolve(f.path)), heldOut.map((f) => resolve(f)));
  assert.ok(report.count >= 2, `${report.count} windows of the held-out file`);
  assert.match(report.trainedOn, /^videos "clips" \(3 files, \d+ frames, 16×16 RGB\)$/);
  for (const base of ['copyLast', 'zeros']) assert.equal(report.baseline[base].perFrame.mse.length, 3);
  assert.equal(report.comparison.bothBaselines.mse.length, 3);
  assert.ok(report.baseline.zeros.mse > report.baseline.copyLast.mse, 'black frames are far from colour footage');

  // predict the held-out file to a colour mp4 (context, then truth | prediction | difference)
  const out = join(dir, 'pred.mp4');
  const pr = await runCli(['predict', '--model', join(dir, 'b'), '--frames', heldOut[0]!, '--start', '6', '--context', '3', '--horizon', '3', '--compare', '--out', out], WASM);
  assert.equal(pr.code, 0, pr.stderr);
  assert.match(pr.stdout, /trained on videos "clips" \(3 files, \d+ frames, 16×16 RGB\)/);
  assert.doesNotMatch(pr.stdout, /note:/, 'colour video into a colour model: no mismatch note');
  const info = ffprobeVideo(out);
  assert.equal(info.frames, 6);
  const rgb = execFileSync(ffmpegBinary().path, ['-v', 'error', '-i', out, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 26 });
  assert.equal(rgb.length, info.width * info.height * 3);
  assert.ok(hasColour(new Uint8Array(rgb)), 'the output video is in colour');
});

test('predict: the bundled Moving MNIST model says when it is given colour video, and how to train for it', { skip: skipNoFfmpeg }, async () => {
  const clip = clips.find((c) => basename(c).startsWith('testsrc'))!;
  const r = await runCli(['predict', '--frames', clip, '--context', '3', '--horizon', '2', '--out', join(dir, 'mm.mp4')], WASM);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trained on Moving MNIST \(64×64 gray\)/);
  const notes = r.stdout.split('\n').filter((l) => l.startsWith('note:'));
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /is colour video, but this model was trained on Moving MNIST .* crevnet train --config color-small --data/);
});
