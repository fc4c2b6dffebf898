/** `crevnet predict` (src/cli/predict.ts) with a tiny untrained model: one input, a batch with a bad file, a slow ffmpeg, one-line errors. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CrevNet } from '../src/model/crevnet.js';
import { encodeFrames } from '../src/video/ffmpeg.js';
import { ffmpegBinary } from '../src/runtime/ffmpeg-paths.js';
import { ffmpegRun, ffprobeVideo } from './video-helpers.js';
import { assertUserError, runCli, type CliResult } from './cli-helpers.js';
import { BACKEND, batchDirs, predictFixture, skip, type PredictFixture } from './predict-helpers.js';

let tmp: PredictFixture['tmp'];
let model: CrevNet;
let modelDir: string;
let sample: string;
let fixture: PredictFixture;

before(async () => {
  if (skip) return;
  fixture = await predictFixture();
  ({ tmp, model, modelDir, sample } = fixture);
});

after(() => {
  if (skip) return;
  model.dispose();
  tmp.cleanup();
});

/** `crevnet --backend wasm <args>` run from `cwd` (a scratch directory, so default outputs land in the temp dir). */
function crevnet(args: string[], cwd: string): Promise<CliResult> {
  return runCli(['--backend', BACKEND, ...args], { cwd, env: { NODE_OPTIONS: '' } });
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
    const r = await crevnet(['predict', '--frames', sample, '--model', modelDir, '--start', '10', '--json'], cwd);
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
    const r = await runCli(['--backend', BACKEND, 'predict', '--frames', sample, '--model', modelDir, '--format', 'gif', '--out', out], {
      cwd,
      env: { NODE_OPTIONS: '', FFMPEG_PATH: slow },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(out));
  });

  test('a batch with one bad file: the good ones are written, the summary names the bad one, exit code non-zero', async () => {
    const { dir: d, out } = batchDirs(fixture, 'cli-batch', ['a.mp4', 'b.mp4'], 'c.mp4');
    const r = await crevnet(['predict', '--frames', d, '--model', modelDir, '--out', out, '--format', 'gif', '--concurrency', '2'], cwd);
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
      const r = await crevnet(argv, badCwd);
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
