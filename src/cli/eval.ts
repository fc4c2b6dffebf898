/** `crevnet eval`: the 10→10 test rollout of a checkpoint beside two trivial baselines. */
import { Command, Option } from 'commander';
import { FIT_MODES, type FitMode } from '../video/ffmpeg.js';
import { decodeProgressLine } from '../video/dataset.js';
import cliProgress from 'cli-progress';
import { action, parseIntOption, parsePositiveInt, parseWorkers, startBackend } from './common.js';
import { evaluate } from '../eval/evaluate.js';
import { formatEvalTable } from '../eval/report.js';
import { toJson } from '../report/files.js';
import { DEFAULT_MODEL_NAME } from '../model/pretrained.js';
import { DEFAULT_EVAL_COUNT, DEFAULT_EVAL_SEED } from '../eval/sources.js';

interface EvalCliOptions {
  model?: string;
  versus?: string;
  data?: string[];
  frameStep?: number;
  fit?: FitMode;
  heldOut?: boolean;
  count?: number;
  seed?: number;
  context: number;
  horizon: number;
  batch: number;
  out?: string;
  json?: boolean;
  strip: number;
  workers: number | 'auto';
  rawOutput?: boolean;
}

function progressReporter(): { update: (done: number, total: number) => void; stop: () => void } {
  const err = process.stderr;
  if (err.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: err, format: 'eval |{bar}| {value}/{total} sequences | {rate} seq/s | ETA {eta_formatted}', hideCursor: true, fps: 5 },
      cliProgress.Presets.shades_classic,
    );
    const t0 = performance.now();
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0, { rate: '-' });
          started = true;
        }
        bar.update(done, { rate: (done / ((performance.now() - t0) / 1000)).toFixed(2) });
      },
      stop: () => bar.stop(),
    };
  }
  let next = 0.1;
  const t0 = performance.now();
  return {
    update(done, total) {
      if (done / total + 1e-9 < next && done !== total) return;
      while (next <= done / total + 1e-9) next += 0.1;
      const s = (performance.now() - t0) / 1000;
      err.write(`eval: ${done}/${total} sequences, ${(done / s).toFixed(2)} seq/s\n`);
    },
    stop() {},
  };
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model (10→10 rollout) on Moving MNIST, a .npy of sequences or your videos: MSE, MAE, SSIM, SSIMstrict, PSNR beside copy-last and black-frame baselines')
    .option('--model <dir|name|default>', `checkpoint or run directory, or a bundled model's name; default: the bundled ${DEFAULT_MODEL_NAME}`)
    .option('--versus <dir|name>', 'a second model scored on the same sequences: its metrics, and model − versus per frame with a paired 95% interval')
    .option('--data <file.npy|videos...>', 'a time-major uint8 (T, N, H, W[, C]) .npy, e.g. mnist_test_seq.npy (read in batches), or videos (files, directories, globs): their non-overlapping windows of context + horizon frames')
    .option('--held-out', "the held-out videos of the model's own training run (a model trained with --data), with its frame step and fit")
    .option('--frame-step <k>', 'videos: take every k-th frame', parsePositiveInt('--frame-step'))
    .addOption(new Option('--fit <mode>', "videos: fit the aspect ratio to the model frame (default crop)").choices([...FIT_MODES]))
    .option('--count <n>', `sequences to generate from MNIST test digits (default ${DEFAULT_EVAL_COUNT}); with --data, only the first n`, parsePositiveInt('--count'))
    .option('--seed <n>', `seed of the generated set (default ${DEFAULT_EVAL_SEED})`, parseIntOption('--seed'))
    .option('--context <k>', 'known frames (≥ 3)', parseIntOption('--context'), 10)
    .option('--horizon <n>', 'predicted frames', parseIntOption('--horizon'), 10)
    .option('--batch <b>', 'sequences per batch', parsePositiveInt('--batch'), 16)
    .option('--out <dir>', 'write report.json, per_frame.csv, per_frame.png/.svg, samples.png/.svg')
    .option('--strip <n>', 'sequences in samples.png', parseIntOption('--strip'), 4)
    .option('--workers <n|auto>', "threads for the model's rollout (main included); auto = 2 on the single-threaded wasm/cpu backends (if 2 cores), 1 on tensorflow", parseWorkers('--workers'), 'auto')
    .option('--raw-output', "score the decoder's raw frames, not the model's frames clamped to [0, 1] (changes MSE and MAE only; how OpenSTL's CrevNet is scored)")
    .option('--json', 'print the report as JSON')
    .action(
      action(async (opts: EvalCliOptions, cmd: Command) => {
        await startBackend(cmd);
        const progress = progressReporter();
        let result;
        try {
          result = await evaluate({
            model: opts.model,
            versus: opts.versus,
            data: opts.data,
            heldOut: opts.heldOut,
            frameStep: opts.frameStep,
            fit: opts.fit,
            onDecode: (p) => {
              if (p.done === p.total || p.done % 20 === 0) process.stderr.write(`${decodeProgressLine(p)}\n`);
            },
            onSkip: (sk) => process.stderr.write(`warning: skipped ${sk.path}: ${sk.reason}\n`),
            count: opts.count,
            seed: opts.seed,
            context: opts.context,
            horizon: opts.horizon,
            batch: opts.batch,
            out: opts.out,
            stripCount: Math.max(0, opts.strip),
            workers: opts.workers,
            rawOutput: opts.rawOutput,
            onProgress: progress.update,
          });
        } finally {
          progress.stop();
        }
        const { report, files } = result;
        for (const w of files?.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
        if (opts.json) {
          process.stdout.write(toJson(report));
          return;
        }
        process.stdout.write(formatEvalTable(report));
        if (files) process.stdout.write(`\nwrote ${files.report}, ${files.csv}, ${files.plot.png ?? files.plot.svg}${files.strip ? `, ${files.strip.png ?? files.strip.svg}` : ''}\n`);
      }),
    );
}
