/**
 * `crevnet model --config FILE|name [--json] [--time]`: model summary (blocks, predictor layers,
 * shapes, parameter counts), the round-trip error of D(E(x)) on random clips, and optionally the
 * time of one training step and the 10→10 predict throughput.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { action, parsePositiveInt, printJson, startBackend } from './common.js';
import type { ModelConfig } from '../model/config.js';
import { loadTrainingConfig, type TrainConfig } from '../train/config.js';
import { benchTrainStep } from '../bench/harness.js';
import { UserError } from '../runtime/errors.js';
import { CrevNet, latentShapeFor, macsFor } from '../model/crevnet.js';
import { blockParamCount, planBlocks } from '../model/block.js';
import { layerParamCount } from '../model/predictor.js';
import { benchConv3d, convShapes } from '../bench/conv3d-bench.js';

interface ModelOptions {
  config: string;
  json?: boolean;
  batch?: number;
  time?: boolean;
  steps?: number;
  benchConv3d?: boolean;
}

export interface ModelSummaryRow {
  part: string;
  kind: string;
  input: string;
  output: string;
  params: number;
}

/** Rows of the summary table (shapes per sample: [T,h,w,c] of one latent half). */
export function summaryRows(config: ModelConfig): ModelSummaryRow[] {
  const rows: ModelSummaryRow[] = [];
  const [h, w, c] = config.imageSize;
  rows.push({ part: 'encoder', kind: 'ψ + split', input: `3×${h}×${w}×${c}`, output: `2 × 3×${h / 2}×${w / 2}×${2 * c}`, params: 0 });
  for (const s of planBlocks(config)) {
    rows.push({
      part: `block ${s.index + 1}`,
      kind: `${s.first ? 'first, ' : ''}stride ${s.stride}, F ${s.cin}→${s.mid}→${s.cout}`,
      input: `3×${s.height}×${s.width}×${s.cin}`,
      output: `3×${s.height / s.stride}×${s.width / s.stride}×${s.cout}`,
      params: blockParamCount(s),
    });
  }
  const [t, lh, lw, lc] = latentShapeFor(config);
  for (let l = 0; l < config.predictorLayers; l++) {
    rows.push({ part: `layer ${l}`, kind: 'ST-ConvLSTM + attention', input: `${t}×${lh}×${lw}×${lc}`, output: `${t}×${lh}×${lw}×${lc}`, params: layerParamCount(lc) });
  }
  return rows;
}

/** max |D(E(x)) − x| over random clips, train-mode (batch statistics) and eval-mode normalisation. */
export async function roundTripMaxError(model: CrevNet, batch = 2, seed = 1): Promise<number> {
  const [h, w, c] = model.config.imageSize;
  const x = tf.randomUniform([3, batch, h, w, c], 0, 1, 'float32', seed) as tf.Tensor5D;
  let worst = 0;
  for (const [enc, dec] of [['recompute', 'recompute'], ['eval', 'eval']] as const) {
    const e = tf.tidy(() => {
      const [z1, z2] = model.encode(x, enc);
      return tf.max(tf.abs(tf.sub(model.decode(z1, z2, dec), x)));
    });
    // an asynchronous read: a GPU backend (webgpu) has no synchronous one in Node
    worst = Math.max(worst, (await e.data())[0]!);
    e.dispose();
  }
  x.dispose();
  return worst;
}

/**
 * Seconds per training step (`crevnet train`'s step with `settings`' loss options, clipping and Adam;
 * see benchTrainStep) and predict 10→10 sequences per second.
 */
export async function timeModel(
  model: CrevNet,
  settings: TrainConfig,
  o: { batch: number; frames: number; steps: number; predictBatch: number },
): Promise<{ secondsPerStep: number; cpuSecondsPerStep: number; predictSequencesPerSecond: number }> {
  const [h, w, c] = model.config.imageSize;
  const data = tf.tidy(() => tf.randomUniform([o.frames, o.batch, h, w, c], 0, 1, 'float32', 3).dataSync() as Float32Array).slice();
  const step = benchTrainStep(model, settings, data, [o.frames, o.batch, h, w, c]);
  try {
    await step.run(); // warm-up (kernel setup, Adam slots)
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < o.steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await step.run();
      wall.push((performance.now() - t0) / 1000);
      const d = process.cpuUsage(c0);
      cpu.push((d.user + d.system) / 1e6);
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    const ctx = tf.randomUniform([10, o.predictBatch, h, w, c], 0, 1, 'float32', 4) as tf.Tensor5D;
    model.predict(ctx, 10).dispose();
    const t0 = performance.now();
    const p = model.predict(ctx, 10);
    await p.data();
    const dt = (performance.now() - t0) / 1000;
    tf.dispose([p, ctx]);
    return { secondsPerStep: median(wall), cpuSecondsPerStep: median(cpu), predictSequencesPerSecond: o.predictBatch / dt };
  } finally {
    step.dispose();
  }
}

function table(rows: ModelSummaryRow[]): string {
  const head = ['part', 'kind', 'input (per sample)', 'output', 'params'];
  const body = rows.map((r) => [r.part, r.kind, r.input, r.output, r.params.toLocaleString('en-US')]);
  const widths = head.map((hd, i) => Math.max(hd.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === cells.length - 1 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ');
  return [line(head), widths.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export function register(program: Command): void {
  program
    .command('model')
    .description('show a model configuration: blocks, predictor layers, shapes, parameter counts, round-trip error')
    .requiredOption('--config <file|name>', 'paper | small | tiny | path to a config JSON')
    .option('--json', 'print JSON { params, latentShape, roundTripMaxError, … }')
    .option('--time', 'also time one training step (as crevnet train runs it: loss, gradients, clipping, Adam) and predict 10→10 throughput')
    .option('--batch <n>', 'batch for --time (default: the config\'s train.batch)', parsePositiveInt('--batch'))
    .option('--steps <n>', 'timed training steps for --time (median reported)', parsePositiveInt('--steps'), 3)
    .option('--bench-conv3d', 'also time the 3×3×3 conv variants (forward, forward+backward) at this config\'s shapes')
    .action(
      action(async (opts: ModelOptions, cmd: Command) => {
        const { model: config, train: settings } = await loadTrainingConfig(opts.config);
        const be = await startBackend(cmd);
        const model = CrevNet.create(config, settings.seed);
        try {
          const params = model.paramCounts();
          const latentShape = model.latentShape();
          const err = await roundTripMaxError(model);
          const macs = macsFor(config);
          const timing = opts.time
            ? await timeModel(model, settings, { batch: opts.batch ?? settings.batch, frames: settings.frames, steps: opts.steps ?? 3, predictBatch: 16 })
            : undefined;
          if (opts.benchConv3d && be.backend === 'webgpu') throw new UserError('--bench-conv3d compares wasm/cpu conv3d variants; run it with --backend wasm or cpu');
          const convBench = opts.benchConv3d ? benchConv3d(convShapes(config, opts.batch ?? settings.batch, settings.frames - 3)) : undefined;
          if (opts.json) {
            const out: Record<string, unknown> = {
              name: config.name,
              backend: be.backend,
              params,
              latentShape,
              roundTripMaxError: err,
              macs,
              blocks: summaryRows(config),
            };
            if (timing) out.timing = { batch: opts.batch ?? settings.batch, frames: settings.frames, ...timing };
            if (convBench) out.conv3d = convBench;
            printJson(out);
            return;
          }
          const lines = [
            `model ${config.name}${config.description ? ` — ${config.description}` : ''}`,
            '',
            table(summaryRows(config)),
            '',
            `parameters      ${params.total.toLocaleString('en-US')} (encoder ${params.encoder.toLocaleString('en-US')}, predictor ${params.predictor.toLocaleString('en-US')})`,
            `latent half     [${latentShape.join(', ')}] per sample (×2 halves)`,
            `MACs            E (= D) ${(macs.encoderPerClip / 1e6).toFixed(2)} M per clip, P ${(macs.predictorPerStep / 1e6).toFixed(1)} M per step`,
            `round trip      max |D(E(x)) − x| = ${err.toExponential(2)} (random clips, batch and running statistics)`,
            `backend         ${be.backend}`,
          ];
          if (timing) {
            lines.push(
              `training step   ${timing.secondsPerStep.toFixed(3)} s (cpu ${timing.cpuSecondsPerStep.toFixed(3)} s) at batch ${opts.batch ?? settings.batch}, ${settings.frames} frames`,
              `predict 10→10   ${timing.predictSequencesPerSecond.toFixed(1)} sequences/s at batch 16`,
            );
          }
          if (convBench) {
            lines.push('', 'conv3d variants (cpu ms per call: forward / forward+backward)');
            for (const r of convBench) lines.push(`  ${r.shape.padEnd(44)} ${r.variant.padEnd(7)} ${r.forwardMs.toFixed(2).padStart(7)} / ${r.forwardBackwardMs.toFixed(2).padStart(7)}`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        } finally {
          model.dispose();
        }
      }),
    );
}
