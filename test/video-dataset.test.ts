/**
 * The video dataset (src/data/video-dataset.ts): held-out files never give training windows, the seeded window
 * stream resumes exactly, the frame step, the .npy cache (and its invalidation), skipped files and the zero-file
 * error. Fixtures are tiny solid-colour clips made with ffmpeg's `color` source, one colour per file, so where a
 * window came from can be read from its pixels.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cachePaths,
  closeVideos,
  fixedWindows,
  loadVideos,
  materialiseWindows,
  openVideoData,
  splitFiles,
  VideoWindowStream,
  windowSpan,
  type ImageSize,
} from '../src/video/dataset.js';
import { Rng } from '../src/data/rng.js';
import { UserError } from '../src/runtime/errors.js';
import { encodeFrames } from '../src/video/ffmpeg.js';
import { ffmpegRun, skipNoFfmpeg, tempDir } from './video-helpers.js';

const SIZE: ImageSize = [16, 16, 3];
/** very different colours, so x264's rounding cannot make one look like another */
const COLOURS: [string, [number, number, number]][] = [
  ['red', [255, 0, 0]],
  ['lime', [0, 255, 0]],
  ['blue', [0, 0, 255]],
  ['yellow', [255, 255, 0]],
  ['white', [255, 255, 255]],
];

let tmp: { dir: string; cleanup: () => void };
let files: string[];

before(() => {
  if (skipNoFfmpeg) return;
  tmp = tempDir('vds');
  files = COLOURS.map(([name, rgb]) => {
    const hex = rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
    const p = join(tmp.dir, `${name}.mp4`);
    ffmpegRun(['-f', 'lavfi', '-i', `color=c=0x${hex}:s=32x24:r=10`, '-frames:v', '12', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', p]);
    return p;
  });
});
after(() => tmp?.cleanup());

/** Index of the colour a frame (H·W·3 bytes) is closest to. */
function colourOf(frame: Uint8Array): number {
  const mean = [0, 1, 2].map((c) => frame.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / (frame.length / 3));
  let best = -1;
  let dist = Infinity;
  COLOURS.forEach(([, rgb], i) => {
    const d = rgb.reduce((s, v, c) => s + (v - mean[c]!) ** 2, 0);
    if (d < dist) [best, dist] = [i, d];
  });
  assert.ok(dist < 30 ** 2 * 3, `frame colour ${mean.map((v) => v.toFixed(0))} is none of the fixtures'`);
  return best;
}

test('splitFiles: held-out files by name hash, deterministic, never on both sides; --val-data; errors', () => {
  const names = ['a.mp4', 'b.mp4', 'c.mp4', 'd.mp4', 'e.mp4', 'f.mp4', 'g.mp4', 'h.mp4', 'i.mp4', 'j.mp4'].map((n) => join('/x', n));
  const s = splitFiles(names, { valSplit: 0.2 });
  assert.equal(s.val.length, 2);
  assert.equal(s.train.length, 8);
  assert.deepEqual([...s.train, ...s.val].sort(), [...names].sort());
  // the same choice whatever the order the files come in, and whatever directory they are in
  assert.deepEqual(splitFiles([...names].reverse(), { valSplit: 0.2 }).val.sort(), [...s.val].sort());
  assert.deepEqual(splitFiles(names.map((n) => n.replace('/x/', '/elsewhere/')), { valSplit: 0.2 }).val, s.val.map((n) => n.replace('/x/', '/elsewhere/')));
  assert.deepEqual(splitFiles(names, { valSplit: 0 }), { train: names, val: [] });
  assert.deepEqual(splitFiles(names, { valFiles: [names[3]!] }), { train: names.filter((_, i) => i !== 3), val: [names[3]] });
  assert.throws(() => splitFiles(['/x/one.mp4'], { valSplit: 0.2 }), (e: unknown) => e instanceof UserError && /only one video/.test(e.message));
  assert.throws(() => splitFiles(names, { valSplit: 1 }), UserError);
  assert.throws(() => splitFiles([names[0]!], { valFiles: [names[0]!] }), /nothing is left to train on/);
  assert.equal(windowSpan(10, 3), 28);
});

test('a held-out file never contributes a training window; validation windows come only from held-out files', { skip: skipNoFfmpeg }, async () => {
  const data = await openVideoData({ inputs: [tmp.dir], valSplit: 0.4, imageSize: SIZE, fit: 'crop', frames: 4, frameStep: 2, cacheDir: join(tmp.dir, 'cache-split') });
  try {
    assert.equal(data.train.length, 3);
    assert.equal(data.val.length, 2);
    assert.match(data.record.name, /^crevnet-vds-/, 'the data is named after its directory');
    assert.deepEqual({ ...data.record, name: '' }, { name: '', kind: 'video', imageSize: SIZE, frameStep: 2, fit: 'crop', files: 3, frames: 36, valFiles: 2, valFrames: 24 });
    const colourIndex = (p: string) => COLOURS.findIndex(([n]) => p.endsWith(`${n}.mp4`));
    const trainColours = new Set(data.train.map((v) => colourIndex(v.path)));
    const valColours = new Set(data.val.map((v) => colourIndex(v.path)));
    const stream = new VideoWindowStream(data.train, 4, 2, SIZE, new Rng(7));
    assert.equal(stream.windows, 3 * (12 - windowSpan(4, 2) + 1));
    const fb = 16 * 16 * 3;
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const batch = await stream.nextBatch(3);
      for (const w of stream.lastWindows) seen.add(colourIndex(data.train[w.video]!.path));
      for (let f = 0; f < batch.length / fb; f++) {
        const c = colourOf(batch.subarray(f * fb, (f + 1) * fb));
        assert.ok(trainColours.has(c) && !valColours.has(c), `training frame ${f} of batch ${i} has a held-out file's colour`);
      }
    }
    assert.deepEqual([...seen].sort(), [...trainColours].sort(), 'every training file is drawn');
    const refs = fixedWindows(data.val, 4, 2);
    const val = await materialiseWindows(data.val, refs, 4, 2, SIZE);
    for (let f = 0; f < val.length / fb; f++) assert.ok(valColours.has(colourOf(val.subarray(f * fb, (f + 1) * fb))));
  } finally {
    await closeVideos([...data.train, ...data.val]);
  }
});

test('the default split: 20 % of several files, none of a single video (which then trains without validation)', { skip: skipNoFfmpeg }, async () => {
  const several = await openVideoData({ inputs: files, imageSize: SIZE, fit: 'crop', frames: 4, frameStep: 1 });
  assert.deepEqual([several.valSplit, several.train.length, several.val.length], [0.2, 4, 1]);
  const one = await openVideoData({ inputs: [files[0]!], imageSize: SIZE, fit: 'crop', frames: 4, frameStep: 1 });
  assert.deepEqual([one.valSplit, one.train.length, one.val.length], [0, 1, 0]);
  await assert.rejects(openVideoData({ inputs: [files[0]!], valSplit: 0.2, imageSize: SIZE, fit: 'crop', frames: 4, frameStep: 1 }), /only one video/);
});

test('window stream: resumed from its Rng state it draws the same batches; the frame step takes every k-th frame', { skip: skipNoFfmpeg }, async () => {
  // frame t has gray level 20·t (channels equal), so a window's frames say which source frames they are
  const ramp = join(tmp.dir, 'ramp', 'ramp.mp4');
  const frames = Array.from({ length: 12 }, (_, t) => new Uint8Array(16 * 16).fill(20 * t));
  ffmpegRun(['-version']);
  await import('node:fs/promises').then((fs) => fs.mkdir(join(tmp.dir, 'ramp')));
  await encodeFrames(frames, { width: 16, height: 16, fps: 10, out: ramp, format: 'mp4' });
  const { videos } = await loadVideos([ramp, ...files.slice(0, 2)], { imageSize: SIZE, fit: 'crop', minFrames: windowSpan(3, 3) });
  const a = new VideoWindowStream(videos, 3, 3, SIZE, new Rng(3));
  await a.nextBatch(2);
  const state = a.rngState();
  const next = [await a.nextBatch(4), await a.nextBatch(4)];
  const b = new VideoWindowStream(videos, 3, 3, SIZE, Rng.fromState(state));
  assert.deepEqual([await b.nextBatch(4), await b.nextBatch(4)], next);
  // every window of the ramp: frames start, start+3, start+6
  const fb = 16 * 16 * 3;
  let checked = 0;
  for (let i = 0; i < 30; i++) {
    const batch = await a.nextBatch(2);
    a.lastWindows.forEach((w, s) => {
      if (w.video !== 0) return;
      for (let t = 0; t < 3; t++) {
        const px = batch[(t * 2 + s) * fb]!;
        assert.ok(Math.abs(px - 20 * (w.start + 3 * t)) <= 3, `window at ${w.start}, step ${t}: gray ${px}, expected ${20 * (w.start + 3 * t)}`);
      }
      checked++;
    });
  }
  assert.ok(checked > 0);
  await closeVideos(videos);
});

test('decode once: the .npy cache is read by the next session and decoded again when the source changes', { skip: skipNoFfmpeg }, async () => {
  const cacheDir = join(tmp.dir, 'cache');
  const one = [files[0]!];
  const o = { imageSize: SIZE, fit: 'crop' as const, minFrames: 4, cacheDir };
  const first = await loadVideos(one, o);
  assert.equal(first.videos[0]!.cached, false);
  const p = cachePaths(cacheDir, one[0]!, SIZE, 'crop');
  assert.deepEqual(readdirSync(cacheDir).sort(), [p.meta, p.npy].map((x) => x.slice(cacheDir.length + 1)).sort());
  const second = await loadVideos(one, o);
  assert.equal(second.videos[0]!.cached, true);
  assert.deepEqual(second.videos[0]!.data, first.videos[0]!.data);
  // another size is another cache entry; a touched source is decoded again
  assert.notEqual(cachePaths(cacheDir, one[0]!, [8, 8, 3], 'crop').npy, p.npy);
  const later = new Date(Date.now() + 5000);
  utimesSync(one[0]!, later, later);
  const third = await loadVideos(one, o);
  assert.equal(third.videos[0]!.cached, false);
  // beyond the memory budget the frames are read from the cache file, with the same bytes
  const disk = await loadVideos(one, { ...o, memoryBudget: 1 });
  assert.ok(disk.videos[0]!.npy && !disk.videos[0]!.data);
  const s1 = new VideoWindowStream(first.videos, 4, 1, SIZE, new Rng(1));
  const s2 = new VideoWindowStream(disk.videos, 4, 1, SIZE, new Rng(1));
  assert.deepEqual(await s2.nextBatch(3), await s1.nextBatch(3));
  await closeVideos(disk.videos);
});

test('undecodable and too-short files are skipped and reported once by name; no usable file is one UserError', { skip: skipNoFfmpeg }, async () => {
  const bad = join(tmp.dir, 'bad', 'notes.mp4');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(tmp.dir, 'bad')));
  writeFileSync(bad, 'this is not a video');
  const short = join(tmp.dir, 'bad', 'short.mp4');
  ffmpegRun(['-f', 'lavfi', '-i', 'color=c=red:s=32x24:r=10', '-frames:v', '3', '-pix_fmt', 'yuv420p', short]);
  const reported: string[] = [];
  const r = await loadVideos([bad, short, files[1]!], { imageSize: SIZE, fit: 'crop', minFrames: 5, onSkip: (s) => reported.push(`${s.path}: ${s.reason}`) });
  assert.equal(r.videos.length, 1);
  assert.equal(reported.length, 2);
  assert.match(reported.find((l) => l.startsWith(bad))!, /notes\.mp4: not a video file ffmpeg can read/);
  assert.match(reported.find((l) => l.startsWith(short))!, /too short: 3 frames, a window needs 5/);
  const cacheDir = join(tmp.dir, 'bad', 'cache');
  await assert.rejects(
    openVideoData({ inputs: [join(tmp.dir, 'bad')], valSplit: 0, imageSize: SIZE, fit: 'crop', frames: 5, frameStep: 1, cacheDir }),
    (e: unknown) => e instanceof UserError && /^no usable training video among 2 files/.test(e.message) && /notes\.mp4/.test(e.message) && !e.message.includes('\n'),
  );
  assert.throws(() => readdirSync(cacheDir), /ENOENT/, 'nothing was written');
});
