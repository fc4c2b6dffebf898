/** Video files through ffmpeg (src/video/ffmpeg.ts: encode, probe, decode): round trips, fit modes, rotation, frame windows, bad inputs. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFilters, decodeFrames, decodeGray, encodeFrames, probeVideo, type FitMode } from '../src/video/ffmpeg.js';
import { UserError } from '../src/runtime/errors.js';
import { barFrames, ffmpegRun, ffprobeVideo, meanAbsDiff, skipNoFfmpeg, tempDir } from './video-helpers.js';

const skip = skipNoFfmpeg;

describe('video: encode → probe → decode round trip', { skip }, () => {
  let tmp: ReturnType<typeof tempDir>;
  const frames = barFrames(8, 64, 64);
  before(() => {
    tmp = tempDir('video');
  });
  after(() => tmp.cleanup());

  test('mp4: 8 frames 64×64 at 12 fps, libx264/yuv420p, decodes to 8×4096 bytes close to the input', async () => {
    const out = join(tmp.dir, 'bars.mp4');
    await encodeFrames(frames, { width: 64, height: 64, fps: 12, out, format: 'mp4' });
    const p = await probeVideo(out);
    assert.equal(p.width, 64);
    assert.equal(p.height, 64);
    assert.equal(p.frameCount, 8);
    assert.equal(p.fps, 12);
    assert.equal(p.rotation, 0);
    assert.equal(p.codec, 'h264');
    assert.ok(Math.abs(p.duration - 8 / 12) < 0.01, `duration ${p.duration}`);
    const dec = await decodeGray(out, { width: 64, height: 64, fit: 'stretch', probe: p });
    assert.equal(dec.length, 8);
    for (const [i, f] of dec.entries()) {
      assert.equal(f.length, 4096);
      const d = meanAbsDiff(f, frames[i]!);
      assert.ok(d < 3, `frame ${i}: mean |diff| ${d}`);
    }
    // the frames really differ from each other (the bars move), so the comparison above means something
    assert.ok(meanAbsDiff(dec[0]!, dec[1]!) > 40);
    // the file is faststart: moov before mdat
    const head = readFileSync(out).subarray(0, 4096).toString('latin1');
    assert.ok(head.indexOf('moov') >= 0 && (head.indexOf('mdat') < 0 || head.indexOf('moov') < head.indexOf('mdat')));
    assert.deepEqual(readdirSync(tmp.dir), ['bars.mp4'], 'no temporary files left behind');
  });

  test('gif: gray palette, loops, decodes to the same pixels', async () => {
    const out = join(tmp.dir, 'bars.gif');
    await encodeFrames(frames, { width: 64, height: 64, fps: 10, out, format: 'gif' });
    const p = await probeVideo(out);
    assert.equal(p.codec, 'gif');
    assert.equal(p.frameCount, 8);
    assert.deepEqual([p.width, p.height], [64, 64]);
    assert.ok(Math.abs(p.fps - 10) < 0.5, `fps ${p.fps}`);
    const bytes = readFileSync(out);
    assert.ok(bytes.includes(Buffer.from('NETSCAPE2.0')), 'loop extension present');
    const dec = await decodeGray(out, { width: 64, height: 64, fit: 'stretch', probe: p });
    assert.equal(dec.length, 8);
    dec.forEach((f, i) => assert.ok(meanAbsDiff(f, frames[i]!) < 1, `frame ${i}`));
  });

  test('png: one image, all frames tiled (8 in a row with 2-px gaps)', async () => {
    const out = join(tmp.dir, 'bars.png');
    await encodeFrames(frames, { width: 64, height: 64, fps: 10, out, format: 'png' });
    assert.equal(readFileSync(out).subarray(1, 4).toString('latin1'), 'PNG');
    const info = ffprobeVideo(out);
    assert.deepEqual([info.width, info.height, info.frames], [8 * 64 + 7 * 2, 64, 1]);
    const [img] = await decodeGray(out, { width: info.width, height: 64, fit: 'stretch' });
    assert.ok(img);
    // frame 3 sits at x = 3·66; compare one row
    const row = img.subarray(10 * info.width + 3 * 66, 10 * info.width + 3 * 66 + 64);
    assert.ok(meanAbsDiff(row, frames[3]!.subarray(640, 704)) < 1);
    assert.equal(img[10 * info.width + 64], 128, 'gap pixel');
  });

  test('odd even-ness: a 65×37 mp4 is padded to even 66×38', async () => {
    const odd = barFrames(3, 65, 37);
    const out = join(tmp.dir, 'odd.mp4');
    await encodeFrames(odd, { width: 65, height: 37, fps: 25, out, format: 'mp4' });
    const info = ffprobeVideo(out);
    assert.deepEqual([info.width, info.height, info.frames], [66, 38, 3]);
  });

  test('a failing encode leaves no partial output and keeps an existing file', async () => {
    const out = join(tmp.dir, 'huge.gif');
    writeFileSync(out, 'old');
    // GIF cannot be wider than 65535 px: ffmpeg fails after the process started
    const f = new Uint8Array(70000);
    await assert.rejects(encodeFrames([f, f], { width: 70000, height: 1, fps: 10, out, format: 'gif' }), /could not write gif/);
    assert.equal(readFileSync(out, 'utf8'), 'old');
    assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.includes('huge')), ['huge.gif']);
  });

  test('output in a missing or read-only directory is a UserError before ffmpeg runs', async () => {
    await assert.rejects(
      encodeFrames(frames, { width: 64, height: 64, fps: 10, out: join(tmp.dir, 'nope', 'x.mp4'), format: 'mp4' }),
      (e: unknown) => e instanceof UserError && /does not exist/.test(e.message),
    );
    // read-only directory: chmod 555 (root ignores modes, so as root use /proc/self, which is never writable)
    let ro = join(tmp.dir, 'ro');
    if (process.getuid?.() === 0) ro = '/proc/self';
    else {
      mkdirSync(ro);
      chmodSync(ro, 0o555);
    }
    await assert.rejects(
      encodeFrames(frames, { width: 64, height: 64, fps: 10, out: join(ro, 'x.mp4'), format: 'mp4' }),
      (e: unknown) => e instanceof UserError && /is not writable/.test(e.message),
    );
  });
});

describe('video: fit modes, rotation, frame windows', { skip }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let oddGif: string;
  before(async () => {
    tmp = tempDir('video-fit');
    // 65×37: the 14 leftmost columns white, the rest black (GIF keeps odd sizes and exact grays)
    const f = new Uint8Array(65 * 37);
    for (let y = 0; y < 37; y++) for (let x = 0; x < 14; x++) f[y * 65 + x] = 255;
    oddGif = join(tmp.dir, 'odd.gif');
    await encodeFrames([f, f, f, f, f, f], { width: 65, height: 37, fps: 10, out: oddGif, format: 'gif' });
  });
  after(() => tmp.cleanup());

  const px = (f: Uint8Array, x: number, y: number): number => f[y * 32 + x]!;

  for (const fit of ['stretch', 'crop', 'pad'] as FitMode[]) {
    test(`odd source 65×37 → 32×32 with fit=${fit}`, async () => {
      const p = await probeVideo(oddGif);
      assert.deepEqual([p.width, p.height, p.frameCount], [65, 37, 6]);
      const dec = await decodeGray(oddGif, { width: 32, height: 32, fit, probe: p });
      assert.equal(dec.length, 6);
      const f = dec[0]!;
      assert.equal(f.length, 32 * 32);
      if (fit === 'stretch') {
        // 14/65 of the width is white: columns 0..5 white on every row, column 20 black
        for (const y of [0, 16, 31]) {
          assert.ok(px(f, 1, y) > 200 && px(f, 20, y) < 30, `row ${y}`);
        }
      } else if (fit === 'crop') {
        // the centred 37×37 window starts at x = 14: nothing white survives
        assert.ok(Math.max(...f) < 40, `max ${Math.max(...f)}`);
      } else {
        // scaled to 32×18 and letterboxed: 7 black rows on top, content below
        assert.ok(px(f, 1, 0) === 0 && px(f, 1, 6) === 0, 'top bar is black (0)');
        assert.ok(px(f, 1, 12) > 200, 'left of the content is white');
        assert.ok(px(f, 20, 12) < 30);
        assert.ok(px(f, 1, 31) === 0, 'bottom bar is black (0)');
      }
    });
  }

  test('filter chains: crop cuts exactly before scaling, pad only scales (the frame is padded after decoding), area scaling everywhere', () => {
    const probe = { width: 1920, height: 1080, fps: 30, frameCount: 1, rotation: 0, duration: 1, codec: 'h264' };
    assert.deepEqual(decodeFilters(probe, { width: 64, height: 64, fit: 'crop' }), [
      'crop=1080:1080:420:0:exact=1', 'scale=64:64:flags=area', 'format=gray',
    ]);
    assert.deepEqual(decodeFilters(probe, { width: 64, height: 64, fit: 'pad' }), ['scale=64:36:flags=area', 'format=gray']);
    assert.deepEqual(decodeFilters({ ...probe, rotation: 90, width: 1080, height: 1920 }, { width: 64, height: 64, fit: 'stretch', start: 5 }), [
      'trim=start_frame=5', 'transpose=clock', 'scale=64:64:flags=area', 'format=gray',
    ]);
  });

  test('rotation metadata is reported and honoured (same picture as ffmpeg autorotate)', async () => {
    // 64×32: left half white, right half black; then tag it rotated
    const f = new Uint8Array(64 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) f[y * 64 + x] = 255;
    const plain = join(tmp.dir, 'plain.mp4');
    const rotated = join(tmp.dir, 'rotated.mp4');
    await encodeFrames([f, f, f, f], { width: 64, height: 32, fps: 10, out: plain, format: 'mp4' });
    ffmpegRun(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const p = await probeVideo(rotated);
    assert.ok(p.rotation === 90 || p.rotation === 270, `rotation ${p.rotation}`);
    assert.deepEqual([p.width, p.height], [32, 64], 'size as displayed');
    const [d] = await decodeGray(rotated, { width: 32, height: 64, fit: 'stretch', probe: p });
    assert.ok(d);
    const mean = (y0: number, y1: number): number => {
      let s = 0;
      for (let i = y0 * 32; i < y1 * 32; i++) s += d[i]!;
      return s / ((y1 - y0) * 32);
    };
    const top = mean(0, 28);
    const bottom = mean(36, 64);
    // clockwise 90°: the left (white) half ends on top; 270°: at the bottom
    if (p.rotation === 90) assert.ok(top > 200 && bottom < 30, `top ${top} bottom ${bottom}`);
    else assert.ok(bottom > 200 && top < 30, `top ${top} bottom ${bottom}`);
    // ffmpeg's own autorotate (independent path) gives the same picture
    const ref = join(tmp.dir, 'ref.gray');
    ffmpegRun(['-i', rotated, '-frames:v', '1', '-vf', 'scale=32:64:flags=area', '-pix_fmt', 'gray', '-f', 'rawvideo', ref]);
    assert.ok(meanAbsDiff(d, new Uint8Array(readFileSync(ref))) < 2);
  });

  test('frame windows: [start, start+n) and the last n frames', async () => {
    // frame t is a uniform gray of value 20·t
    const frames = Array.from({ length: 12 }, (_, t) => new Uint8Array(16 * 16).fill(20 * t));
    const out = join(tmp.dir, 'ramp.mp4');
    await encodeFrames(frames, { width: 16, height: 16, fps: 10, out, format: 'mp4' });
    const value = (f: Uint8Array): number => Math.round(f.reduce((a, b) => a + b, 0) / f.length / 20);
    const last = await decodeGray(out, { width: 16, height: 16, fit: 'crop', last: 4 });
    assert.deepEqual(last.map(value), [8, 9, 10, 11]);
    const mid = await decodeGray(out, { width: 8, height: 8, fit: 'crop', start: 3, maxFrames: 4 });
    assert.deepEqual(mid.map(value), [3, 4, 5, 6]);
    const first = await decodeGray(out, { width: 8, height: 8, fit: 'crop', maxFrames: 2 });
    assert.deepEqual(first.map(value), [0, 1]);
    const tail = await decodeGray(out, { width: 8, height: 8, fit: 'crop', start: 10, maxFrames: 5 });
    assert.deepEqual(tail.map(value), [10, 11], 'a window past the end returns what exists');
    const more = await decodeGray(out, { width: 8, height: 8, fit: 'crop', last: 50 });
    assert.equal(more.length, 12);
  });

  test('last n frames of a longer video (seek path) equal the same frames decoded from the start', async () => {
    const out = join(tmp.dir, 'long.mp4');
    // 12 s at 10 fps with a frame counter burnt in: every frame differs
    ffmpegRun(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=12', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25', out]);
    const p = await probeVideo(out);
    assert.equal(p.frameCount, 120);
    const viaSeek = await decodeGray(out, { width: 32, height: 32, fit: 'crop', last: 5, probe: p });
    const viaTrim = await decodeGray(out, { width: 32, height: 32, fit: 'crop', start: 115, maxFrames: 5, probe: p });
    assert.equal(viaSeek.length, 5);
    viaSeek.forEach((f, i) => assert.deepEqual(f, viaTrim[i], `frame ${115 + i}`));
    assert.ok(meanAbsDiff(viaSeek[0]!, viaSeek[4]!) > 0, 'frames differ');
  });
});

describe('video: bad inputs are UserErrors with a clear message', { skip }, () => {
  let tmp: ReturnType<typeof tempDir>;
  const files: Record<string, string> = {};
  before(async () => {
    tmp = tempDir('video-bad');
    const d = tmp.dir;
    files.text = join(d, 'notes.mp4');
    writeFileSync(files.text, 'this is not a video, just text\n'.repeat(20));
    files.zero = join(d, 'zero.mp4');
    writeFileSync(files.zero, '');
    files.audio = join(d, 'tone.m4a');
    ffmpegRun(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'aac', files.audio]);
    // a real mp4 (moov at the end, as ffmpeg writes it without +faststart), then cut in half
    const real = join(d, 'real.mp4');
    ffmpegRun(['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', real]);
    const bytes = readFileSync(real);
    files.truncated = join(d, 'truncated.mp4');
    writeFileSync(files.truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    // a faststart mp4 (moov first) cut after the header: probes fine, decoding fails
    const fs = new Uint8Array(64 * 64);
    const frames = Array.from({ length: 20 }, (_, t) => fs.map((_, i) => (i * 7 + t * 13) % 256));
    const faststart = join(d, 'faststart.mp4');
    await encodeFrames(frames, { width: 64, height: 64, fps: 10, out: faststart, format: 'mp4' });
    const fb = readFileSync(faststart);
    files.truncatedFast = join(d, 'truncated-faststart.mp4');
    writeFileSync(files.truncatedFast, fb.subarray(0, Math.floor(fb.length * 0.4)));
    files.short = join(d, 'short.mp4');
    await encodeFrames(frames.slice(0, 2), { width: 64, height: 64, fps: 10, out: files.short, format: 'mp4' });
  });
  after(() => tmp.cleanup());

  const isUserError = (re: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  };

  test('missing file', async () => {
    await assert.rejects(probeVideo(join(tmp.dir, 'missing.mp4')), isUserError(/missing\.mp4: no such file/));
  });
  test('a directory', async () => {
    await assert.rejects(probeVideo(tmp.dir), isUserError(/is a directory/));
  });
  test('a text file named .mp4', async () => {
    await assert.rejects(probeVideo(files.text!), isUserError(/notes\.mp4 is not a video file ffmpeg can read/));
  });
  test('a zero-byte file', async () => {
    await assert.rejects(probeVideo(files.zero!), isUserError(/zero\.mp4 is empty \(0 bytes\)/));
  });
  test('an audio-only file', async () => {
    await assert.rejects(probeVideo(files.audio!), isUserError(/tone\.m4a has no video stream \(it contains only audio\)/));
  });
  test('a truncated mp4 (index lost)', async () => {
    await assert.rejects(probeVideo(files.truncated!), isUserError(/truncated\.mp4: cannot read this MP4\/MOV file .*truncated or damaged/));
  });
  test('a truncated faststart mp4 (index intact, data cut): decoding fails', async () => {
    const p = await probeVideo(files.truncatedFast!);
    assert.equal(p.frameCount, 20);
    await assert.rejects(
      decodeGray(files.truncatedFast!, { width: 64, height: 64, fit: 'crop', last: 10, probe: p }),
      isUserError(/truncated-faststart\.mp4: .*(truncated|damaged)/),
    );
  });
  test('too few frames: probe reports the count, last n returns what exists', async () => {
    const p = await probeVideo(files.short!);
    assert.equal(p.frameCount, 2);
    const dec = await decodeGray(files.short!, { width: 64, height: 64, fit: 'crop', last: 10, probe: p });
    assert.equal(dec.length, 2);
  });
});

describe('video: colour (RGB) frames', { skip }, () => {
  let tmp: ReturnType<typeof tempDir>;
  before(() => {
    tmp = tempDir('video-rgb');
  });
  after(() => tmp.cleanup());
  // 32×32 frames: left half red, right half blue, with a green bar moving 4 px per frame
  const frames = Array.from({ length: 6 }, (_, t) => {
    const f = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const o = (y * 32 + x) * 3;
        const bar = x >= 4 * t && x < 4 * t + 4;
        f.set(bar ? [0, 230, 0] : x < 16 ? [220, 20, 20] : [20, 20, 220], o);
      }
    }
    return f;
  });

  test('mp4 → decodeFrames channels 3 keeps the colours; gray decoding of the same file is one byte per pixel', async () => {
    const out = join(tmp.dir, 'rgb.mp4');
    await encodeFrames(frames, { width: 32, height: 32, fps: 10, out, format: 'mp4', channels: 3 });
    const dec = await decodeFrames(out, { width: 32, height: 32, fit: 'stretch', channels: 3 });
    assert.equal(dec.length, 6);
    for (const [i, f] of dec.entries()) {
      assert.equal(f.length, 32 * 32 * 3);
      assert.ok(meanAbsDiff(f, frames[i]!) < 12, `frame ${i}: mean |diff| ${meanAbsDiff(f, frames[i]!)}`);
    }
    const gray = await decodeGray(out, { width: 32, height: 32, fit: 'stretch' });
    assert.equal(gray[0]!.length, 32 * 32);
    // pad: the added borders are black in all three channels
    const padded = await decodeFrames(out, { width: 32, height: 16, fit: 'pad', channels: 3, maxFrames: 1 });
    const left = padded[0]!.subarray(0, 3 * 4);
    assert.ok(Math.max(...left) < 8, `pad border ${[...left]}`);
  });

  test('png of RGB frames is a colour image; gif too', async () => {
    const png = join(tmp.dir, 'rgb.png');
    await encodeFrames(frames.slice(0, 2), { width: 32, height: 32, fps: 10, out: png, format: 'png', channels: 3 });
    const [tile] = await decodeFrames(png, { width: 66, height: 32, fit: 'stretch', channels: 3 });
    // row 16: the green bar of frame 0 (x 0–3), red from x 4, then the second frame's bar at x 34 + 4…7
    const px = (x: number) => [...tile!.subarray((16 * 66 + x) * 3, (16 * 66 + x) * 3 + 3)].map((v) => Math.round(v / 10));
    assert.deepEqual(px(1), [0, 23, 0]);
    assert.deepEqual(px(10), [22, 2, 2]);
    assert.deepEqual(px(25), [2, 2, 22]);
    assert.deepEqual(px(39), [0, 23, 0]);
    const gif = join(tmp.dir, 'rgb.gif');
    await encodeFrames(frames, { width: 32, height: 32, fps: 10, out: gif, format: 'gif', channels: 3 });
    const g = await decodeFrames(gif, { width: 32, height: 32, fit: 'stretch', channels: 3 });
    assert.equal(g.length, 6);
    assert.ok(meanAbsDiff(g[3]!, frames[3]!) < 12);
  });
});
