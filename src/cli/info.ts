import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { action, printJson, startBackend } from './common.js';
import { binaryVersion, ffmpegBinary, ffprobeBinary } from '../runtime/ffmpeg-paths.js';
import { errorMessage } from '../runtime/errors.js';
import { describeAdapter } from '../runtime/webgpu.js';
import { packageVersion } from '../runtime/package-root.js';
import { DEFAULT_MODEL_NAME, bundledModelNames, bundledModelsDir } from '../model/pretrained.js';
import { datasetRecordOf, describeDataset } from '../data/dataset-record.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function binary(find: () => { path: string; source: string }) {
  try {
    const b = find();
    return { path: b.path, source: b.source, version: binaryVersion(b.path) };
  } catch (err) {
    return { path: null, source: null, version: null, error: errorMessage(err) };
  }
}

/** A bundled model's config name and what it was trained on (its state.json's dataset record), without loading weights. */
function bundledModel(name: string): { name: string; config: string | null; trainedOn: string | null } {
  const dir = join(bundledModelsDir(), name);
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { name?: string; model?: { imageSize?: number[] } };
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
    return { name, config: config.name ?? null, trainedOn: describeDataset(datasetRecordOf(state, config.model?.imageSize ?? [64, 64, 1])) };
  } catch {
    return { name, config: null, trainedOn: null };
  }
}

export function register(program: Command): void {
  program
    .command('info')
    .description('show Node, tfjs, the chosen backend (and why others were skipped), ffmpeg/ffprobe, the bundled models')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const be = await startBackend(cmd);
        const info = {
          crevnet: packageVersion(),
          node: process.version,
          platform: `${process.platform}-${process.arch}`,
          tfjs: tf.version.tfjs,
          backend: be.backend,
          backendProvider: be.provider,
          /** the WebGPU adapter when the backend is webgpu, else null */
          adapter: be.adapter ?? null,
          /** the BLAS under the native backend's kernels, else null */
          blas: be.blas ?? null,
          skipped: be.attempts.filter((a) => !a.ok).map((a) => ({ backend: a.candidate, reason: a.reason })),
          warnings: be.warnings,
          ffmpeg: binary(ffmpegBinary),
          ffprobe: binary(ffprobeBinary),
          models: { bundled: bundledModelNames(), default: DEFAULT_MODEL_NAME, details: bundledModelNames().map(bundledModel) },
        };
        if (opts.json) return printJson(info);
        const lines = [
          `crevnet   ${info.crevnet}`,
          `node      ${info.node} (${info.platform})`,
          `tfjs      ${info.tfjs}`,
          `backend   ${info.backend} (${info.backendProvider})`,
          ...(info.adapter
            ? [
                `adapter   ${describeAdapter(info.adapter)}${info.adapter.software ? ' [software]' : ''}`,
                `          max buffer ${mib(info.adapter.maxBufferSize)}, max storage binding ${mib(info.adapter.maxStorageBufferBindingSize)}`,
              ]
            : []),
          ...(info.blas ? [`blas      ${info.blas}`] : []),
          ...info.skipped.map((s) => `  skipped ${s.backend}: ${s.reason}`),
          `ffmpeg    ${info.ffmpeg.path ?? 'not found'}${info.ffmpeg.source ? ` [${info.ffmpeg.source}]` : ''}`,
          `          ${info.ffmpeg.version ?? info.ffmpeg.error}`,
          `ffprobe   ${info.ffprobe.path ?? 'not found'}${info.ffprobe.source ? ` [${info.ffprobe.source}]` : ''}`,
          `          ${info.ffprobe.version ?? info.ffprobe.error}`,
          ...(info.models.details.length === 0
            ? ['models    none bundled']
            : info.models.details.map(
                (m, i) =>
                  `${i === 0 ? 'models   ' : '         '} ${m.name}${m.name === info.models.default ? ' (default)' : ''}: ${m.config ? `config ${m.config}, ` : ''}trained on ${m.trainedOn ?? 'unknown (unreadable state.json)'}`,
              )),
          '          choose one with --model NAME',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
