/** web/gif.ts: the page's animated GIF download decodes (with ffmpeg) to exactly the frames given. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ffmpegBinary } from '../src/runtime/ffmpeg-paths.js';
import { encodeGrayGif } from '../web/gif.js';
import { skipNoFfmpeg } from './video-helpers.js';

function decodeGif(gif: Uint8Array): Buffer {
  return execFileSync(ffmpegBinary().path, ['-v', 'error', '-nostdin', '-f', 'gif', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
    input: gif,
    maxBuffer: 1 << 26,
  });
}

test('header, looping, delay: a GIF89a of the given size', () => {
  const gif = encodeGrayGif([new Uint8Array(6).fill(3)], 3, 2, 100);
  assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
  assert.equal(gif[6]! | (gif[7]! << 8), 3);
  assert.equal(gif[8]! | (gif[9]! << 8), 2);
  assert.ok(Buffer.from(gif).includes(Buffer.from('NETSCAPE2.0')));
  assert.equal(gif[gif.length - 1], 0x3b);
  assert.throws(() => encodeGrayGif([], 3, 2, 100), RangeError);
  assert.throws(() => encodeGrayGif([new Uint8Array(5)], 3, 2, 100), RangeError);
});

test('every gray level survives, also past the 4096-code table reset', { skip: skipNoFfmpeg }, () => {
  // noise forces many LZW codes (table resets); a ramp and a flat frame cover long runs
  const [w, h] = [97, 61];
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const frames = [
    Uint8Array.from({ length: w * h }, rnd),
    Uint8Array.from({ length: w * h }, (_, i) => i % 256),
    new Uint8Array(w * h).fill(200),
  ];
  const raw = decodeGif(encodeGrayGif(frames, w, h, 100));
  assert.equal(raw.length, frames.length * w * h);
  frames.forEach((f, t) => assert.deepEqual(raw.subarray(t * w * h, (t + 1) * w * h), Buffer.from(f), `frame ${t}`));
});
