import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toCsv } from '../src/report/csv.js';
import { formatTick, lineChartSvg, linearTicks, logTicks, movingAverage } from '../src/report/plot.js';
import { bundledFontPath, svgToPng, writeFigure } from '../src/report/render.js';
import { decodePngGray, encodeGrayPng, sequenceStripSvg } from '../src/report/image.js';
import { toJson } from '../src/report/files.js';
import { formatEvalTable, perFrameCsv, writeEvalOutputs, type EvalReport } from '../src/eval/report.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): [number, number] {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return [v.getUint32(16), v.getUint32(20)];
}

test('CSV quoting, non-finite cells and row width check', () => {
  assert.equal(toCsv(['a', 'b'], [[1, 'x,y'], [Infinity, 'q"r'], [NaN, null]]), 'a,b\n1,"x,y"\ninf,"q""r"\nnan,\n');
  assert.throws(() => toCsv(['a'], [[1, 2]]), /2 cells/);
});

test('JSON writer keeps non-finite numbers readable', () => {
  assert.equal(toJson({ psnr: Infinity, x: 1 }), '{\n  "psnr": "Infinity",\n  "x": 1\n}\n');
});

test('axis ticks are nice and labels compact', () => {
  assert.deepEqual(linearTicks(0, 1, 5).map((v) => +v.toFixed(10)), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearTicks(10, 19, 6, true), [10, 12, 14, 16, 18]);
  assert.deepEqual(logTicks(0.05, 3), [0.05, 0.1, 0.2, 0.5, 1, 2]);
  assert.deepEqual(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
  assert.equal(formatTick(0.30000000000000004, 0.1), '0.3');
  assert.equal(formatTick(20000, 5000), '20k');
  assert.equal(formatTick(1500000, 500000), '1.5M');
  const ma = movingAverage([1, 2, 3, NaN, 5], 3);
  assert.deepEqual(ma, [1.5, 2, 2.5, 4, 5]);
});

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

function fakeReport(): EvalReport {
  const pf = (v: number) => ({ mse: [v, v + 1], mae: [v, v], ssim: [0.9, 0.8], ssimStrict: [0.89, 0.79], psnr: [20, Infinity] });
  const s = (v: number) => ({ mse: v, mae: v, ssim: 0.85, ssimStrict: 0.84, psnr: Infinity, perFrame: pf(v) });
  return {
    model: 'm',
    data: 'generated',
    dataInfo: {},
    standard: false,
    count: 3,
    context: 3,
    horizon: 2,
    frameIndex: [3, 4],
    output: 'clamped',
    ...s(1),
    baseline: { copyLast: s(2), zeros: s(3) },
    comparison: {
      method: 'x',
      copyLast: { mse: [], ssim: [] },
      zeros: { mse: [], ssim: [] },
      bothBaselines: { mse: ['better', 'tied'], ssim: ['worse', 'better'] },
    },
    seconds: 1,
    sequencesPerSecond: 3,
    backend: 'cpu',
    conventions: 'x',
  };
}

test('eval outputs: report.json, per_frame.csv, plot and strip; terminal table', async () => {
  const r = fakeReport();
  const csv = perFrameCsv(r);
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'frame,step,model_mse,model_mae,model_ssim,model_ssimStrict,model_psnr,copyLast_mse,copyLast_mae,copyLast_ssim,copyLast_ssimStrict,copyLast_psnr,zeros_mse,zeros_mae,zeros_ssim,zeros_ssimStrict,zeros_psnr');
  assert.equal(lines[2], '4,2,2,1,0.8,0.79,inf,3,2,0.8,0.79,inf,4,3,0.8,0.79,inf');
  const table = formatEvalTable(r);
  assert.match(table, /copy last frame/);
  assert.match(table, /not comparable to published tables/);
  assert.match(table, /^4 .* better .* tied$/m);
  assert.match(table, /better than both baselines, by more than noise \(paired 95% interval over 3 sequences\): SSIM on 1\/2 frames \(tied 0, worse 1\), MSE on 1\/2 frames \(tied 1, worse 0\)/);
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-evalout-'));
  try {
    const H = 8;
    const f = new Uint8Array(H * H);
    const files = await writeEvalOutputs(dir, r, [{ label: '#0', context: [f, f, f], truth: [f, f], prediction: [f, f] }], H, H);
    for (const name of ['report.json', 'per_frame.csv', 'per_frame.svg', 'per_frame.png', 'samples.svg', 'samples.png']) assert.ok(existsSync(join(dir, name)), name);
    assert.deepEqual(files.warnings, []);
    const back = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(back.psnr, 'Infinity');
    assert.equal((back.baseline as { zeros: { mse: number } }).zeros.mse, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
