/** Figure rendering (src/report/render.ts): an SVG line chart (src/report/plot.ts) to PNG with the bundled font, both files written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineChartSvg } from '../src/report/plot.js';
import { bundledFontPath, svgToPng, writeFigure } from '../src/report/render.js';
import { decodePngGray } from '../src/report/image.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): [number, number] {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
}

test('line chart renders to a PNG with text (bundled DejaVu font) and keeps the SVG', async () => {
  assert.ok(bundledFontPath(), 'dejavu-fonts-ttf should be installed');
  const svg = lineChartSvg(
    [
      { title: 'loss', xLabel: 'iteration', yLabel: 'loss', yScale: 'log', series: [{ name: 'train <loss>', x: [1, 2, 3], y: [1, 0.5, NaN] }] },
      { title: 'empty', xLabel: 'x', yLabel: 'y', series: [] },
    ],
    { title: 'T & co', width: 400, panelHeight: 200 },
  );
  assert.match(svg, /^<svg /);
  assert.match(svg, /train &lt;loss&gt;/);
  assert.match(svg, /T &amp; co/);
  assert.match(svg, /no data/);
  const png = svgToPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], PNG_MAGIC);
  assert.deepEqual(pngSize(png), [400, 30 + 2 * 200 + 6]);
  const g = decodePngGray(png);
  const dark = g.pixels.filter((v) => v < 128).length;
  assert.ok(dark > 500, `expected drawn axes and text, got ${dark} dark pixels`);
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-plot-'));
  try {
    const fig = await writeFigure(join(dir, 'fig'), svg);
    assert.equal(fig.png, join(dir, 'fig.png'));
    assert.equal(await readFile(join(dir, 'fig.svg'), 'utf8'), svg);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
