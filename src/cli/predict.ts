/**
 * `crevnet predict --frames <video|directory|glob>...`: the future of any video.
 * Order of checks: options → inputs exist → every output location is writable → model loads → decode/predict/encode.
 * So a bad command line, a missing input or an unwritable output fails before anything is decoded or written.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import type { CrevNet } from '../model/crevnet.js';
import { batchExitCode, expandInputs, isFailure, planOutputs, predictBatch, summaryTable } from '../predict/batch.js';
import { DEFAULT_MODEL_NAME, resolveModelDir } from '../model/pretrained.js';
import { DEFAULT_CONTEXT, DEFAULT_FIT, DEFAULT_HORIZON } from '../predict/predict.js';
import { CrevnetError, errorMessage, UserError } from '../runtime/errors.js';
import { FIT_MODES, VIDEO_FORMATS, type FitMode, type VideoFormat } from '../video/ffmpeg.js';
import { action, parsePositiveInt, parseWorkers, printJson, startBackend } from './common.js';
import { datasetRecordOf, describeDataset, footageMismatch, type DatasetRecord } from '../data/dataset-record.js';

interface PredictCliOptions {
  frames: string[];
  model: string;
  context: number;
  horizon: number;
  start: number | 'end';
  fit: FitMode;
  out?: string;
  format?: VideoFormat;
  compare?: boolean;
  scale?: number;
  concurrency: number;
  workers: number | 'auto';
  json?: boolean;
}

function parseStart(value: string): number | 'end' {
  if (value === 'end') return 'end';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--start must be a frame index ≥ 0 or "end", got "${value}"`);
  return n;
}

/** Resolve --model (a checkpoint or run directory, a bundled model's name, or "default") and load it; UserError when it
 *  cannot be read. Same resolution as `crevnet eval` (src/model/pretrained.ts). */
export async function loadPredictModel(spec: string | undefined): Promise<{ model: CrevNet; dir: string; label: string; dataset: DatasetRecord }> {
  const { dir, label } = resolveModelDir(spec);
  try {
    await access(dir, constants.R_OK | constants.X_OK);
  } catch {
    throw new UserError(`cannot read the model directory ${label} (permission denied)`);
  }
  try {
    // loaded lazily: the model code is only needed once the inputs and outputs have been checked
    const { loadCheckpoint } = await import('../model/checkpoint.js');
    const { model, state, optimizerWeights } = await loadCheckpoint(dir);
    for (const w of optimizerWeights ?? []) w.tensor.dispose();
    return { model, dir, label, dataset: datasetRecordOf(state, model.config.imageSize) };
  } catch (err) {
    if (err instanceof CrevnetError) throw err;
    throw new UserError(`cannot load the model from ${label}: ${errorMessage(err)}`);
  }
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('predict the next frames of videos (files, directories or globs) and write context + prediction')
    .requiredOption('--frames <inputs...>', 'input videos: files, directories (their videos) or glob patterns')
    .option('--model <dir|name|default>', `checkpoint or run directory, a bundled model's name, or "default" (the bundled ${DEFAULT_MODEL_NAME})`, 'default')
    .option('--context <n>', 'known frames fed to the model (≥ 3)', parsePositiveInt('--context'), DEFAULT_CONTEXT)
    .option('--horizon <n>', 'frames to predict', parsePositiveInt('--horizon'), DEFAULT_HORIZON)
    .option('--start <N|end>', 'the context ends at frame N (later frames are the ground truth), or at the end', parseStart, 'end')
    .addOption(new Option('--fit <mode>', 'fit the aspect ratio to the model frame').choices([...FIT_MODES]).default(DEFAULT_FIT))
    .option('--out <path>', 'output file (one input) or existing directory (several); default outputs/predict/<name>.<format>')
    .addOption(new Option('--format <fmt>', 'output format (default: from --out, else mp4)').choices([...VIDEO_FORMATS]))
    .option('--compare', 'show ground truth | prediction | |difference| side by side')
    .option('--scale <k>', 'nearest-neighbour upscale (default: short side ≥ 256 px)', parsePositiveInt('--scale'))
    .option('--concurrency <n>', 'concurrent ffmpeg decode/encode processes', parsePositiveInt('--concurrency'), availableParallelism())
    .option('--workers <n|auto>', "threads for the rollouts of several inputs (main included; auto = 2 on the single-threaded wasm/cpu backends if 2 cores, 1 on tensorflow); one input runs on one thread", parseWorkers('--workers'), 'auto')
    .option('--json', 'print one JSON object per input (a JSON array) on stdout')
    .action(
      action(async (opts: PredictCliOptions, cmd: Command) => {
        if (opts.context < 3) throw new UserError(`--context must be ≥ 3 (the model needs 3 known frames), got ${opts.context}`);
        const inputs = await expandInputs(opts.frames);
        const plans = await planOutputs(inputs, { out: opts.out, format: opts.format });
        await startBackend(cmd);
        const { model, label, dataset } = await loadPredictModel(opts.model);
        try {
          const single = plans.length === 1;
          const results = await predictBatch(model, plans, {
            context: opts.context,
            horizon: opts.horizon,
            start: opts.start,
            fit: opts.fit,
            compare: opts.compare,
            scale: opts.scale,
            concurrency: opts.concurrency,
            workers: opts.workers,
            // one input that fails is reported as the command's one `error:` line instead
            onProgress: (line, result) => {
              if (!(single && isFailure(result))) process.stderr.write(`${line}\n`);
            },
          });
          const only = results[0];
          if (single && only && isFailure(only)) {
            throw only.exitCode === 2 ? new UserError(only.error) : new CrevnetError(only.error, only.exitCode);
          }
          // what the model knows, and a line for each input that is plainly other footage
          const trained = `model: ${label} (config ${model.config.name}), trained on ${describeDataset(dataset)}`;
          const notes = results.flatMap((r) => (isFailure(r) ? [] : (footageMismatch(dataset, r.input, r.inputIsColour) ?? [])));
          if (opts.json) {
            printJson(results);
            for (const n of notes) process.stderr.write(`${n}\n`);
          } else {
            process.stdout.write(`${summaryTable(results)}\n${trained}\n${notes.map((n) => `${n}\n`).join('')}`);
          }
          process.exitCode = batchExitCode(results);
        } finally {
          model.dispose();
        }
      }),
    );
}
