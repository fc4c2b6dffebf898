/** The eval report (src/eval/report.ts): per-frame CSV, the terminal table with its paired-test verdicts, the written report files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvalTable, perFrameCsv, writeEvalOutputs, type EvalReport } from '../src/eval/report.js';

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
