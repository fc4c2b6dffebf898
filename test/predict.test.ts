/**
 * predict end to end with a tiny untrained model (the pipeline, not the quality): library API, batch and CLI.
 * The committed sample datasets/samples/moving-mnist.mp4 is 20 frames of 64×64 at 10 fps; the tiny model works on 32×32.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { encodeFrames, probeVideo, decodeGray } from '../src/video/ffmpeg.js';
import { predictVideo, loadClip, inferClip } from '../src/predict/predict.js';
import { expandInputs, isFailure, planOutputs, predictBatch, summaryTable, batchExitCode } from '../src/predict/batch.js';
import { UserError } from '../src/runtime/errors.js';
import { ffmpegBinary } from '../src/runtime/ffmpeg-paths.js';
import { ffmpegRun, ffprobeVideo, skipNoFfmpeg, tempDir } from './video-helpers.js';
import { assertUserError, runCli as runCrevnet, type CliResult } from './cli-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const SAMPLE = join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4');
const BACKEND = 'wasm';

const skip = skipNoFfmpeg || (!existsSync(SAMPLE) && `sample ${SAMPLE} missing`);

let tmp: ReturnType<typeof tempDir>;
let model: CrevNet;
let modelDir: string;
let sample: string;

before(async () => {
  if (skip) return;
  await initBackend(BACKEND);
  tmp = tempDir('predict');
  model = CrevNet.create(await loadConfig('tiny'), 1);
  modelDir = join(tmp.dir, 'model');
  await saveCheckpoint(modelDir, { model });
  sample = join(tmp.dir, 'moving-mnist.mp4');
  copyFileSync(SAMPLE, sample);
});

after(() => {
  if (skip) return;
  model.dispose();
  tmp.cleanup();
});

/** A batch input directory `<name>-in` (copies of the sample named `good`, a text file named `bad`) and an empty `<name>-out`. */
function batchDirs(name: string, good: string[], bad: string): { dir: string; out: string } {
  const dir = join(tmp.dir, `${name}-in`);
  mkdirSync(dir);
  const out = join(tmp.dir, `${name}-out`);
  mkdirSync(out);
  for (const g of good) copyFileSync(sample, join(dir, g));
  writeFileSync(join(dir, bad), 'not a video\n');
  return { dir, out };
}

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
});

describe('batch', { skip }, () => {
  test('expandInputs: files, directories, globs; missing path / empty directory / no match are UserErrors', async () => {
    const dir = join(tmp.dir, 'inputs');
    mkdirSync(dir);
    copyFileSync(sample, join(dir, 'b.mp4'));
    copyFileSync(sample, join(dir, 'a.mp4'));
    writeFileSync(join(dir, 'notes.txt'), 'x');
    assert.deepEqual(await expandInputs([dir]), [join(dir, 'a.mp4'), join(dir, 'b.mp4')]);
    assert.deepEqual((await expandInputs([join(dir, '*.mp4'), join(dir, 'a.mp4')])).map((p) => resolve(p)), [
      join(dir, 'a.mp4'),
      join(dir, 'b.mp4'),
    ]);
    await assert.rejects(expandInputs([join(dir, 'missing.mp4')]), (e: unknown) => e instanceof UserError && /no such file/.test(e.message));
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.txt'), 'x');
    await assert.rejects(expandInputs([empty]), /contains no videos/);
    await assert.rejects(expandInputs([join(dir, '*.webm')]), /no file matches/);
  });

  test('several inputs with one bad file: the good ones finish, the bad one is reported', async () => {
    const { dir, out: outDir } = batchDirs('batch', ['one.mp4', 'two.mp4'], 'bad.mp4');
    const inputs = await expandInputs([dir]);
    const plans = await planOutputs(inputs, { out: outDir, format: 'gif' });
    const lines: string[] = [];
    const results = await predictBatch(model, plans, { concurrency: 2, start: 10, onProgress: (l) => lines.push(l) });
    assert.equal(results.length, 3);
    const bad = results.find((r) => r.input.endsWith('bad.mp4'));
    assert.ok(bad && isFailure(bad));
    assert.match(bad.error, /bad\.mp4 is not a video file/);
    assert.equal(bad.exitCode, 2);
    const good = results.filter((r) => !isFailure(r));
    assert.equal(good.length, 2);
    assert.deepEqual(readdirSync(outDir).sort(), ['one.gif', 'two.gif']);
    assert.equal(lines.length, 3);
    assert.ok(lines.some((l) => /bad\.mp4: failed: /.test(l)));
    const table = summaryTable(results);
    assert.match(table, /^input\s+frames\s+fps\s+output\s+seconds\s+SSIM/);
    assert.match(table, /bad\.mp4\s+-\s+-\s+FAILED/);
    assert.match(table, /1 of 3 inputs failed:\n  \S*bad\.mp4: \S*bad\.mp4 is not a video file/);
    assert.match(table, /one\.mp4\s+20\s+10\s+\S+one\.gif\s+[\d.]+\s+[-\d.]+/);
    assert.equal(batchExitCode(results), 2);
  });

  test('planOutputs: clashing names get suffixes, an output never overwrites an input, --out file for one input', async () => {
    const a = join(tmp.dir, 'pa');
    const b = join(tmp.dir, 'pb');
    mkdirSync(a);
    mkdirSync(b);
    copyFileSync(sample, join(a, 'clip.mp4'));
    copyFileSync(sample, join(b, 'clip.mp4'));
    const plans = await planOutputs([join(a, 'clip.mp4'), join(b, 'clip.mp4')], { out: a });
    assert.deepEqual(plans.map((p) => p.out), [join(a, 'clip-2.mp4'), join(a, 'clip-3.mp4')]);
    const one = await planOutputs([join(a, 'clip.mp4')], { out: join(b, 'pred.gif') });
    assert.deepEqual(one, [{ input: join(a, 'clip.mp4'), out: join(b, 'pred.gif'), format: 'gif' }]);
    await assert.rejects(planOutputs([join(a, 'clip.mp4'), join(b, 'clip.mp4')], { out: join(tmp.dir, 'nope') }), /does not exist/);
  });

  test('memory: a batch of 20 clips leaves tf.memory().numTensors where it started', async () => {
    const outDir = join(tmp.dir, 'many');
    mkdirSync(outDir);
    const inputs = Array.from({ length: 20 }, () => sample);
    const plans = inputs.map((input, i) => ({ input, out: join(outDir, `p${i}.mp4`), format: 'mp4' as const }));
    const before = tf.memory().numTensors;
    const results = await predictBatch(model, plans, { concurrency: 2, start: 10, context: 5, horizon: 4, scale: 1 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(results.filter(isFailure).length, 0);
    assert.equal(readdirSync(outDir).length, 20);
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** `crevnet --backend wasm <args>` run from `cwd` (a scratch directory, so default outputs land in the temp dir). */
function runCli(args: string[], cwd: string): Promise<CliResult> {
  return runCrevnet(['--backend', BACKEND, ...args], { cwd, env: { NODE_OPTIONS: '' } });
}

describe('crevnet predict (CLI)', { skip }, () => {
  let fx: Record<string, string>;
  let cwd: string;

  before(async () => {
    // tsx resolves from the repository, so the CLI runs from a scratch cwd to keep default outputs in the temp dir
    cwd = join(tmp.dir, 'cli');
    mkdirSync(cwd);
    const d = join(tmp.dir, 'cli-fixtures');
    mkdirSync(d);
    fx = {
      sample,
      text: join(d, 'notes.mp4'),
      zero: join(d, 'zero.mp4'),
      truncated: join(d, 'truncated.mp4'),
      audio: join(d, 'tone.m4a'),
      short: join(d, 'short.mp4'),
      emptyDir: join(d, 'empty'),
      badModel: join(d, 'bad-model'),
    };
    writeFileSync(fx.text!, 'hello, I am text\n');
    writeFileSync(fx.zero!, '');
    const bytes = readFileSync(sample);
    writeFileSync(fx.truncated!, bytes.subarray(0, Math.floor(bytes.length * 0.3)));
    ffmpegRun(['-f', 'lavfi', '-i', 'sine=duration=0.3', '-c:a', 'aac', fx.audio!]);
    await encodeFrames([new Uint8Array(64 * 64), new Uint8Array(64 * 64).fill(255)], {
      width: 64, height: 64, fps: 10, out: fx.short!, format: 'mp4',
    });
    mkdirSync(fx.emptyDir!);
    mkdirSync(fx.badModel!);
    writeFileSync(join(fx.badModel!, 'model.json'), '{ this is not json');
  });

  test('one input: the output has context+horizon frames at the input fps; --json gives the result object', async () => {
    const r = await runCli(['predict', '--frames', sample, '--model', modelDir, '--start', '10', '--json'], cwd);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.equal(json.length, 1);
    const o = json[0]!;
    assert.equal(o.output, join('outputs', 'predict', 'moving-mnist.mp4'));
    assert.deepEqual([o.fps, o.inputFrames, o.context, o.horizon], [10, 20, 10, 10]);
    const pf = o.perFrame as { ssim: number[]; mse: number[] };
    assert.equal(pf.ssim.length, 10);
    assert.equal(pf.mse.length, 10);
    const info = ffprobeVideo(join(cwd, o.output as string));
    assert.deepEqual([info.width, info.height, info.frames, info.fps], [256, 256, 20, 10]);
    assert.match(r.stderr, /moving-mnist\.mp4: 20 frames @ 10 fps → .*SSIM/);
  });

  test('an ffmpeg that exits 300 ms after closing its output (a loaded machine) still decodes: no "Output stream closed"', async () => {
    // fluent-ffmpeg fails a piped command whose process exits more than 20 ms after the pipe closes
    const slow = join(tmp.dir, 'slow-exit-ffmpeg.sh');
    writeFileSync(slow, `#!/bin/sh\n"${ffmpegBinary().path}" "$@"\nrc=$?\nexec 1>&-\nsleep 0.3\nexit $rc\n`);
    chmodSync(slow, 0o755);
    const out = join(tmp.dir, 'slow-exit.gif');
    const r = await runCrevnet(['--backend', BACKEND, 'predict', '--frames', sample, '--model', modelDir, '--format', 'gif', '--out', out], {
      cwd,
      env: { NODE_OPTIONS: '', FFMPEG_PATH: slow },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(out));
  });

  test('a batch with one bad file: the good ones are written, the summary names the bad one, exit code non-zero', async () => {
    const { dir: d, out } = batchDirs('cli-batch', ['a.mp4', 'b.mp4'], 'c.mp4');
    const r = await runCli(['predict', '--frames', d, '--model', modelDir, '--out', out, '--format', 'gif', '--concurrency', '2'], cwd);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['a.gif', 'b.gif']);
    assert.match(r.stdout, /c\.mp4\s+-\s+-\s+FAILED/);
    assert.match(r.stdout, /1 of 3 inputs failed:\n  \S*c\.mp4: \S*c\.mp4 is not a video file/);
    assert.equal(r.stderr.trim().split('\n').length, 3, 'one progress line per video');
  });

  const bad: [string, () => string[], RegExp][] = [
    ['missing path', () => ['--frames', join(tmp.dir, 'nowhere.mp4')], /nowhere\.mp4: no such file or directory/],
    ['a directory with no videos', () => ['--frames', fx.emptyDir!], /contains no videos/],
    ['a text file named .mp4', () => ['--frames', fx.text!], /notes\.mp4 is not a video file ffmpeg can read/],
    ['a zero-byte file', () => ['--frames', fx.zero!], /zero\.mp4 is empty \(0 bytes\)/],
    ['a truncated mp4', () => ['--frames', fx.truncated!], /truncated\.mp4: .*truncated or damaged/],
    ['an audio-only file', () => ['--frames', fx.audio!], /tone\.m4a has no video stream/],
    ['fewer frames than --context', () => ['--frames', fx.short!], /short\.mp4 has 2 frames; --context 10 needs at least 10/],
    ['an unreadable model directory', () => ['--frames', sample, '--model', fx.badModel!], /model/],
    ['a model directory without a checkpoint', () => ['--frames', sample, '--model', fx.emptyDir!], /holds no checkpoint/],
    ['output in a missing directory', () => ['--frames', sample, '--out', join(tmp.dir, 'no', 'such', 'x.mp4')], /output directory .* does not exist/],
    ['output in a read-only directory', () => ['--frames', sample, '--out', join(readOnlyDir(), 'x.mp4')], /is not writable/],
    ['--context below 3', () => ['--frames', sample, '--context', '2'], /--context must be ≥ 3/],
  ];

  function readOnlyDir(): string {
    if (process.getuid?.() === 0) return '/proc/self'; // root ignores permission bits
    const ro = join(tmp.dir, 'ro');
    if (!existsSync(ro)) {
      mkdirSync(ro);
      chmodSync(ro, 0o555);
    }
    return ro;
  }

  test('bad inputs: each exits 2 with one `error:` line and writes nothing', async () => {
    const badCwd = join(tmp.dir, 'cli-bad');
    mkdirSync(badCwd);
    // two at a time: each run starts node + tsx + tfjs
    const cases = bad.map(([name, args, re]) => async () => {
      const argv = ['predict', ...args()];
      if (!argv.includes('--model')) argv.push('--model', modelDir);
      const r = await runCli(argv, badCwd);
      return { name, re, r };
    });
    const done: { name: string; re: RegExp; r: CliResult }[] = [];
    for (let i = 0; i < cases.length; i += 2) done.push(...(await Promise.all(cases.slice(i, i + 2).map((c) => c()))));
    for (const { name, re, r } of done) {
      assertUserError(r, re, name);
      assert.equal(r.stdout, '', `${name}: nothing on stdout`);
    }
    // nothing written: not even the default outputs/predict directory
    assert.deepEqual(readdirSync(badCwd), []);
    assert.equal(existsSync(join(tmp.dir, 'no')), false);
  });
});
