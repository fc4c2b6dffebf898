/** Raster images (src/report/image.ts): gray PNG round trip; the sequence strip places each frame where it says. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePngGray, encodeGrayPng, sequenceStripSvg } from '../src/report/image.js';
import { svgToPng } from '../src/report/render.js';

test('gray PNG round trip and the sequence strip places frames where it says', () => {
  const px = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
  const back = decodePngGray(encodeGrayPng(px, 4, 3));
  assert.deepEqual([back.width, back.height], [4, 3]);
  assert.deepEqual([...back.pixels], [...px]);

  const H = 8;
  const frame = (v: number) => new Uint8Array(H * H).fill(v);
  const seqs = [0, 1].map((s) => ({
    label: `#${s}`,
    context: [frame(10 + s), frame(11 + s), frame(12 + s)],
    truth: [frame(100 + s), frame(101 + s)],
    prediction: [frame(200 + s), frame(201 + s)],
  }));
  const st = sequenceStripSvg(seqs, { height: H, width: H, scale: 1, title: 'x' });
  const g = decodePngGray(st.grid);
  assert.equal(g.width, st.gridWidth);
  // layout with scale 1: pad 2, gap 8, seqGap 10
  const at = (x: number, y: number) => g.pixels[y * g.width + x];
  assert.equal(at(0, 0), 10); // seq 0, context 0
  assert.equal(at(2 * (H + 2), 0), 12); // context 2
  const xh = 3 * (H + 2) + 8;
  assert.equal(at(xh, 0), 100); // truth 0
  assert.equal(at(xh + H + 2, H - 1), 101);
  assert.equal(at(xh, H + 2), 200); // prediction row
  assert.equal(at(0, H + 2), 255); // nothing under the context
  assert.equal(at(xh, 2 * (H + 2) + 10), 101); // seq 1 truth 0
  assert.match(st.svg, /data:image\/png;base64,/);
  assert.match(st.svg, /ground truth/);
  assert.doesNotThrow(() => svgToPng(st.svg));
});
