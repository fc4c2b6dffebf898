/**
 * End-of-run report of a training run: loss_curve.{svg,png} (training loss, validation SSIM and
 * MSE against the iteration, with the validation set's black-frame and copy-last baselines) and
 * summary.json. Both are rebuilt from metrics.jsonl, so they cover every session of a resumed run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TrainConfig } from './config.js';
import { writeJsonAtomic } from '../report/files.js';
import { lineChartSvg, movingAverage, type Panel } from '../report/plot.js';
import { writeFigure } from '../report/render.js';
import type { BestScore } from './state.js';
import { describeDataset, type DatasetRecord } from '../data/dataset-record.js';

export interface MetricsLog {
  train: { step: number; loss: number; lr: number; gradNorm: number; sec: number }[];
  val: { step: number; count?: number; mse: number; mae: number; ssim: number; ssimStrict: number; psnr: number; best?: boolean }[];
}

export interface ValidationBaselines {
  copyLast: { mse: number; ssim: number };
  zeros: { mse: number; ssim: number };
}

/** Parse metrics.jsonl (unparseable lines, e.g. one cut by a kill, are skipped). */
export function readMetrics(path: string): MetricsLog {
  const out: MetricsLog = { train: [], val: [] };
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (r.type === 'train') out.train.push(r as unknown as MetricsLog['train'][number]);
    else if (r.type === 'val') out.val.push(r as unknown as MetricsLog['val'][number]);
  }
  return out;
}

export interface RunReportInput {
  metrics: MetricsLog;
  baselines: ValidationBaselines;
  status: string;
  step: number;
  settings: TrainConfig;
  config: { name: string; model: Record<string, unknown> };
  params: { total: number; encoder: number; predictor: number };
  best: BestScore | null;
  trainSeconds: number;
  sessionSecondsPerIteration: number;
  backend: string;
  validation: { count: number; seed: number; context: number; horizon: number; split?: string };
  /** what the run trains on (absent: Moving MNIST) */
  dataset?: DatasetRecord;
}

/** The loss as a formula of its terms, e.g. "MSE + 3·L1 + 1·(1 − SSIM)". */
function lossName(s: Pick<TrainConfig, 'l1' | 'ssim' | 'clipLoss'>): string {
  const terms = ['MSE', s.l1 > 0 ? `${s.l1}·L1` : '', s.ssim > 0 ? `${s.ssim}·(1 − SSIM)` : ''].filter(Boolean).join(' + ');
  return s.clipLoss ? `${terms} (clipped)` : terms;
}

export function lossCurveSvg(r: RunReportInput, title: string): string {
  const steps = r.metrics.train.map((t) => t.step);
  const loss = r.metrics.train.map((t) => t.loss);
  const window = Math.max(5, Math.round(steps.length / 50));
  // A resumed run may have changed its validation set: scores on an earlier set are drawn apart (lighter)
  // and the baselines belong to the current set.
  const current = r.metrics.val.filter((v) => (v.count ?? r.validation.count) === r.validation.count);
  const earlier = new Map<number, MetricsLog['val']>();
  for (const v of r.metrics.val) if ((v.count ?? r.validation.count) !== r.validation.count) earlier.set(v.count!, [...(earlier.get(v.count!) ?? []), v]);
  const valSeries = (pick: (v: MetricsLog['val'][number]) => number) => [
    ...[...earlier].map(([n, vals]) => ({ name: `model (earlier set, ${n} sequences)`, x: vals.map((v) => v.step), y: vals.map(pick), color: '#9ecae1', markers: true, width: 1.5 })),
    { name: 'model', x: current.map((v) => v.step), y: current.map(pick), color: '#1f77b4', markers: true, width: 2 },
  ];
  const xMax = Math.max(r.step, 1);
  const hline = (y: number) => ({ x: [0, xMax], y: [y, y] });
  // a run without validation (no held-out videos) has no baselines to draw
  const baseline = (name: string, y: number, color: string, dash: string) => (Number.isFinite(y) ? [{ name, ...hline(y), color, dash }] : []);
  const positive = loss.filter((v) => v > 0).length === loss.length && loss.length > 0;
  const panels: Panel[] = [
    {
      title: 'Training loss',
      xLabel: 'iteration',
      yLabel: `loss (${r.settings.mode}, ${lossName(r.settings)})`,
      yScale: positive ? 'log' : 'linear',
      xDomain: [0, xMax],
      series: [
        { name: 'loss', x: steps, y: loss, color: '#9ecae1', width: 1 },
        { name: `moving average (${window})`, x: steps, y: movingAverage(loss, window), color: '#1f77b4', width: 2 },
      ],
      emptyText: 'no iterations yet',
    },
    {
      title: `Validation SSIM (${r.validation.count} sequences, ${r.validation.context}→${r.validation.horizon})`,
      xLabel: 'iteration',
      yLabel: 'SSIM (R = 2)',
      xDomain: [0, xMax],
      legend: 'bottom-right',
      series: [
        ...valSeries((v) => v.ssim),
        ...baseline('black frames', r.baselines.zeros.ssim, '#555555', '2 3'),
        ...baseline('copy last frame', r.baselines.copyLast.ssim, '#d62728', '6 4'),
      ],
    },
    {
      title: 'Validation MSE',
      xLabel: 'iteration',
      yLabel: 'MSE (sum over frame)',
      xDomain: [0, xMax],
      legend: 'top-right',
      series: [
        ...valSeries((v) => v.mse),
        ...baseline('black frames', r.baselines.zeros.mse, '#555555', '2 3'),
        ...baseline('copy last frame', r.baselines.copyLast.mse, '#d62728', '6 4'),
      ],
    },
  ];
  return lineChartSvg(panels, {
    title,
    subtitle: `${r.config.name}${r.dataset && r.dataset.kind !== 'moving-mnist' ? ` on ${describeDataset(r.dataset)}` : ''} · ${r.params.total.toLocaleString('en-US')} params · batch ${r.settings.batch} · lr ${r.settings.lr} (${r.settings.schedule.type}) · ${r.step} iterations · ${r.backend}`,
    width: 900,
    panelHeight: 250,
  });
}

/** Write loss_curve.{svg,png} and summary.json into the run directory; returns warnings. */
export async function writeRunReport(runDir: string, r: RunReportInput): Promise<string[]> {
  const warnings: string[] = [];
  const fig = await writeFigure(join(runDir, 'loss_curve'), lossCurveSvg(r, `crevnet train: ${runDir.split('/').slice(-1)[0]}`));
  if (fig.warning) warnings.push(fig.warning);
  const tail = r.metrics.train.slice(-50).map((t) => t.loss);
  const lastVal = r.metrics.val.at(-1) ?? null;
  let commands: string[] = [];
  try {
    commands = readFileSync(join(runDir, 'command.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
  } catch {
    // no command.txt (library use)
  }
  await writeJsonAtomic(join(runDir, 'summary.json'), {
    status: r.status,
    config: r.config.name,
    model: r.config.model,
    params: r.params,
    settings: r.settings,
    iterations: r.step,
    targetIterations: r.settings.iterations,
    finalLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
    finalLossWindow: tail.length,
    best: r.best,
    lastValidation: lastVal,
    dataset: r.dataset ? { ...r.dataset, description: describeDataset(r.dataset) } : null,
    validation: { ...r.validation, split: r.validation.split ?? 'MNIST test digits', baselines: r.baselines },
    trainHours: r.trainSeconds / 3600,
    secondsPerIteration: Number.isFinite(r.sessionSecondsPerIteration) ? r.sessionSecondsPerIteration : null,
    backend: r.backend,
    commands,
    files: { curve: basename(fig.png ?? fig.svg), metrics: 'metrics.jsonl', last: 'last/', best: r.best ? 'best/' : null },
  });
  return warnings;
}
