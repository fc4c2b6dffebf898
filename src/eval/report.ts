/**
 * Evaluation reports: report.json, per_frame.csv, a plot of SSIM and MSE against the frame index
 * (model and both baselines) and a strip of a few sequences, plus the plain-text table for the
 * terminal.
 */
import { join } from 'node:path';
import type { MetricsReport } from './metrics.js';
import { countVerdicts, type EvalComparison, type FrameComparison, type PairedMetrics, type Verdict } from './paired.js';
import { toCsv } from '../report/csv.js';
import { writeFileAtomic, writeJsonAtomic } from '../report/files.js';
import { lineChartSvg, type Series } from '../report/plot.js';
import { writeFigure } from '../report/render.js';
import { sequenceStripSvg, type StripSequence } from '../report/image.js';

export type MetricsSummary = Omit<MetricsReport, 'frames'>;

export interface EvalReport {
  model: string;
  modelConfig?: string;
  /** what the model was trained on (its checkpoint's dataset record) */
  trainedOn?: string;
  data: string;
  dataInfo: Record<string, unknown>;
  /** true only for the published mnist_test_seq.npy: numbers comparable to published tables */
  standard: boolean;
  count: number;
  context: number;
  horizon: number;
  /** frame index in the sequence of each perFrame entry (context … context + horizon − 1) */
  frameIndex: number[];
  /** what was scored: the model's frames ('clamped' to [0, 1], the default) or the decoder's 'raw' frames */
  output: 'clamped' | 'raw';
  mse: number;
  mae: number;
  ssim: number;
  ssimStrict: number;
  psnr: number;
  perFrame: MetricsReport['perFrame'];
  baseline: { copyLast: MetricsSummary; zeros: MetricsSummary };
  /** is each predicted frame's gap to a baseline more than noise? (src/eval/paired.ts) */
  comparison: EvalComparison;
  /** a second model scored on the same sequences (`--versus`), and model − versus per frame */
  versus?: VersusReport;
  seconds: number;
  sequencesPerSecond: number;
  backend: string;
  /** threads the model's rollout ran on (main included) */
  workers?: number;
  timing?: Record<string, number>;
  conventions: string;
}

export interface VersusReport extends MetricsSummary {
  model: string;
  modelConfig?: string;
  /** per frame, (model − versus) with its paired 95% interval and verdict, from the model's side */
  comparison: PairedMetrics;
}

export const METRIC_CONVENTIONS =
  'OpenSTL: MSE/MAE summed over the 64x64 pixels of a frame and averaged over frames, on the prediction as the model returns it (no clipping by the metric); SSIM (R=2) and SSIMstrict (R=1) skimage-0.19 7x7 uniform window on the clipped prediction; PSNR per frame then averaged';

export function metricsSummary(r: MetricsReport): MetricsSummary {
  return { mse: r.mse, mae: r.mae, ssim: r.ssim, ssimStrict: r.ssimStrict, psnr: r.psnr, perFrame: r.perFrame };
}

const KEYS = ['mse', 'mae', 'ssim', 'ssimStrict', 'psnr'] as const;

export function perFrameCsv(r: EvalReport): string {
  const rows: Record<string, MetricsSummary> = { model: r, ...(r.versus ? { versus: r.versus } : {}), copyLast: r.baseline.copyLast, zeros: r.baseline.zeros };
  const header = ['frame', 'step'];
  for (const who of Object.keys(rows)) for (const k of KEYS) header.push(`${who}_${k}`);
  const body = r.frameIndex.map((f, i) => {
    const line: (number | string)[] = [f, i + 1];
    for (const who of Object.keys(rows)) for (const k of KEYS) line.push(rows[who]!.perFrame[k][i]!);
    return line;
  });
  return toCsv(header, body);
}

export function perFramePlotSvg(r: EvalReport, title: string): string {
  const series = (k: 'ssim' | 'mse'): Series[] => [
    { name: 'model', x: r.frameIndex, y: r.perFrame[k], color: '#1f77b4', markers: true, width: 2.2 },
    ...(r.versus ? [{ name: `versus: ${r.versus.modelConfig ?? r.versus.model}`, x: r.frameIndex, y: r.versus.perFrame[k], color: '#2ca02c', markers: true }] : []),
    { name: 'copy last frame', x: r.frameIndex, y: r.baseline.copyLast.perFrame[k], color: '#d62728', dash: '6 4', markers: true },
    { name: 'black frames', x: r.frameIndex, y: r.baseline.zeros.perFrame[k], color: '#555555', dash: '2 3', markers: true },
  ];
  return lineChartSvg(
    [
      { title: 'SSIM per predicted frame (higher is better)', xLabel: 'frame index', yLabel: 'SSIM (R = 2)', series: series('ssim'), xIntegerTicks: true, legend: 'bottom-left' },
      { title: 'MSE per predicted frame (lower is better)', xLabel: 'frame index', yLabel: 'MSE (sum over frame)', series: series('mse'), xIntegerTicks: true, legend: 'top-left' },
    ],
    { title, subtitle: `${r.data} · ${r.count} sequences · context ${r.context}, horizon ${r.horizon}`, width: 1000, columns: 2, panelHeight: 340 },
  );
}

export interface WrittenEvalFiles {
  report: string;
  csv: string;
  plot: { svg: string; png: string | null };
  strip: { svg: string; png: string | null } | null;
  warnings: string[];
}

/** Write report.json, per_frame.csv, per_frame.{svg,png}, samples.{svg,png} into `dir`. */
export async function writeEvalOutputs(dir: string, r: EvalReport, strips: StripSequence[], height: number, width: number, channels = 1): Promise<WrittenEvalFiles> {
  const warnings: string[] = [];
  const report = join(dir, 'report.json');
  await writeJsonAtomic(report, r);
  const csv = join(dir, 'per_frame.csv');
  await writeFileAtomic(csv, perFrameCsv(r));
  const plot = await writeFigure(join(dir, 'per_frame'), perFramePlotSvg(r, `crevnet eval: ${r.model}`));
  if (plot.warning) warnings.push(plot.warning);
  let strip: WrittenEvalFiles['strip'] = null;
  if (strips.length > 0) {
    const s = sequenceStripSvg(strips, { height, width, channels, scale: 2, title: `context | ground truth | prediction (${r.model})` });
    const fig = await writeFigure(join(dir, 'samples'), s.svg);
    if (fig.warning) warnings.push(fig.warning);
    strip = { svg: fig.svg, png: fig.png };
  }
  return { report, csv, plot: { svg: plot.svg, png: plot.png }, strip, warnings: [...new Set(warnings)] };
}

function fmt(v: number, digits: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return v.toFixed(digits);
}

function verdictCount(name: string, v: readonly Verdict[]): string {
  const c = countVerdicts(v);
  return `${name} on ${c.better}/${v.length} frames (tied ${c.tied}, worse ${c.worse})`;
}

/** "better than both baselines on k/10 frames in SSIM (tied t, worse w), …" with the test used. */
export function formatVerdictLine(r: EvalReport): string {
  const both = r.comparison.bothBaselines;
  return `better than both baselines, by more than noise (paired 95% interval over ${r.count} sequences): ${verdictCount('SSIM', both.ssim)}, ${verdictCount('MSE', both.mse)}`;
}

/** Per frame: the versus model's score and model − versus with its 95% interval and verdict. */
function formatVersusTable(r: EvalReport, v: VersusReport): string[] {
  const cell = (c: FrameComparison, digits: number) => `${c.diff >= 0 ? '+' : ''}${fmt(c.diff, digits)} ±${fmt((c.hi - c.lo) / 2, digits)}`;
  const lines = [
    `model − versus (${v.model}), per frame, paired 95% interval:`,
    `${'frame'.padEnd(7)}${'SSIM versus'.padStart(12)}${'difference'.padStart(20)}${'verdict'.padStart(9)}${'MSE versus'.padStart(12)}${'difference'.padStart(18)}${'verdict'.padStart(9)}`,
  ];
  r.frameIndex.forEach((f, i) => {
    const s = v.comparison.ssim[i]!;
    const m = v.comparison.mse[i]!;
    lines.push(
      `${String(f).padEnd(7)}${fmt(v.perFrame.ssim[i]!, 4).padStart(12)}${cell(s, 5).padStart(20)}${s.verdict.padStart(9)}` +
        `${fmt(v.perFrame.mse[i]!, 1).padStart(12)}${cell(m, 2).padStart(18)}${m.verdict.padStart(9)}`,
    );
  });
  lines.push(
    '',
    `better than ${v.model}, by more than noise: ${verdictCount('SSIM', v.comparison.ssim.map((c) => c.verdict))}, ${verdictCount('MSE', v.comparison.mse.map((c) => c.verdict))}`,
  );
  return lines;
}

/** The terminal table: overall numbers for model and baselines, then per-frame SSIM and MSE. */
export function formatEvalTable(r: EvalReport): string {
  const rows: [string, MetricsSummary][] = [
    ['model', r],
    ...(r.versus ? [['versus', r.versus] as [string, MetricsSummary]] : []),
    ['copy last frame', r.baseline.copyLast],
    ['black frames', r.baseline.zeros],
  ];
  const lines: string[] = [];
  const named = (m: { model: string; modelConfig?: string }) => `${m.model}${m.modelConfig ? ` [${m.modelConfig}]` : ''}`;
  lines.push(`model    ${named(r)}${r.trainedOn ? `, trained on ${r.trainedOn}` : ''}`);
  if (r.versus) lines.push(`versus   ${named(r.versus)}`);
  lines.push(`data     ${r.data}`);
  lines.push(`protocol ${r.context} → ${r.horizon} frames, ${r.count} sequences, ${fmt(r.seconds, 1)} s (${fmt(r.sequencesPerSecond, 2)} sequences/s, ${r.backend})`);
  if (r.output === 'raw') lines.push(`output   raw decoder frames (--raw-output): MSE and MAE also count values outside [0, 1]`);
  lines.push('');
  lines.push(`${'method'.padEnd(16)}${'MSE'.padStart(9)}${'MAE'.padStart(9)}${'SSIM'.padStart(9)}${'SSIMstrict'.padStart(12)}${'PSNR'.padStart(8)}`);
  for (const [name, m] of rows) {
    lines.push(`${name.padEnd(16)}${fmt(m.mse, 2).padStart(9)}${fmt(m.mae, 2).padStart(9)}${fmt(m.ssim, 4).padStart(9)}${fmt(m.ssimStrict, 4).padStart(12)}${fmt(m.psnr, 2).padStart(8)}`);
  }
  lines.push('');
  const both = r.comparison.bothBaselines;
  lines.push(
    `${'frame'.padEnd(7)}${'SSIM model'.padStart(11)}${'copy-last'.padStart(10)}${'black'.padStart(8)}${'vs both'.padStart(9)}` +
      `${'MSE model'.padStart(11)}${'copy-last'.padStart(10)}${'black'.padStart(8)}${'vs both'.padStart(9)}`,
  );
  r.frameIndex.forEach((f, i) => {
    lines.push(
      `${String(f).padEnd(7)}${fmt(r.perFrame.ssim[i]!, 4).padStart(11)}${fmt(r.baseline.copyLast.perFrame.ssim[i]!, 4).padStart(10)}${fmt(r.baseline.zeros.perFrame.ssim[i]!, 4).padStart(8)}${both.ssim[i]!.padStart(9)}` +
        `${fmt(r.perFrame.mse[i]!, 1).padStart(11)}${fmt(r.baseline.copyLast.perFrame.mse[i]!, 1).padStart(10)}${fmt(r.baseline.zeros.perFrame.mse[i]!, 1).padStart(8)}${both.mse[i]!.padStart(9)}`,
    );
  });
  lines.push('', formatVerdictLine(r));
  if (r.versus) lines.push('', ...formatVersusTable(r, r.versus));
  if (!r.standard && r.dataInfo.kind !== 'video') lines.push('', 'note: not the standard mnist_test_seq.npy, so these numbers are not comparable to published tables');
  return lines.join('\n') + '\n';
}
