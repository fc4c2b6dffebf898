/**
 * `crevnet dataset mmnist`: generate Moving MNIST sequences (src/data/moving-mnist.ts) as a uint8 .npy
 * in the published time-major layout (T, N, 64, 64), or one sequence as an .mp4/.gif video.
 */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { action, parseIntOption, parsePositiveInt } from './common.js';
import { UserError } from '../runtime/errors.js';
import { loadMnistDigits, type MnistSplit } from '../data/idx.js';
import { MOVING_MNIST_DEFAULTS, MovingMnistStream } from '../data/moving-mnist.js';
import { formatShape, NpyWriter, writeTimeMajorBatch } from '../data/npy.js';
import { Rng } from '../data/rng.js';

export const DATASETS = ['mmnist'] as const;
const OUTPUT_EXTENSIONS = ['.npy', '.mp4', '.gif'] as const;
/** Sequences generated and written per step (20·256·4096 bytes = 21 MB). */
const WRITE_BATCH = 256;

interface DatasetOptions {
  split: string;
  count: number;
  seed: number;
  out: string;
  fps: number;
}

/** Validate the output path: supported extension and an existing parent directory. */
async function checkOutput(out: string): Promise<(typeof OUTPUT_EXTENSIONS)[number]> {
  const ext = path.extname(out).toLowerCase();
  if (!(OUTPUT_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new UserError(`unsupported output extension "${ext || '(none)'}" for ${out} (use .npy, .mp4 or .gif)`);
  }
  const dir = path.dirname(path.resolve(out));
  const st = await stat(dir).catch(() => null);
  if (!st || !st.isDirectory()) throw new UserError(`output directory ${dir} does not exist`);
  return ext as (typeof OUTPUT_EXTENSIONS)[number];
}

export async function runDataset(name: string, o: DatasetOptions): Promise<string> {
  if (!(DATASETS as readonly string[]).includes(name)) {
    throw new UserError(`unknown dataset "${name}" (available: ${DATASETS.join(', ')})`);
  }
  if (o.split !== 'train' && o.split !== 'test') throw new UserError(`--split must be train or test, got "${o.split}"`);
  if (!Number.isInteger(o.count) || o.count < 1) throw new UserError(`--count must be a positive integer, got ${o.count}`);
  const ext = await checkOutput(o.out);
  const split = o.split as MnistSplit;
  const digits = await loadMnistDigits(split);
  const stream = new MovingMnistStream(digits, new Rng(o.seed));
  const { frames, size } = MOVING_MNIST_DEFAULTS;
  const source = `split ${split} (${split === 'train' ? 'train-images-idx3-ubyte' : 't10k-images-idx3-ubyte'}), seed ${o.seed}`;

  if (ext === '.npy') {
    const shape = [frames, o.count, size, size];
    const w = await NpyWriter.create(o.out, 'uint8', shape);
    try {
      for (let i0 = 0; i0 < o.count; i0 += WRITE_BATCH) {
        const n = Math.min(WRITE_BATCH, o.count - i0);
        await writeTimeMajorBatch(w, i0, n, stream.nextBatch(n));
      }
      await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
    return `wrote ${o.out}: uint8 ${formatShape(shape)} time-major Moving MNIST, ${source}`;
  }

  // Video: the first sequence only (a time-major batch of one is frame after frame).
  const seq = stream.nextBatch(1);
  const frameBytes = size * size;
  const list: Uint8Array[] = [];
  for (let t = 0; t < frames; t++) list.push(seq.subarray(t * frameBytes, (t + 1) * frameBytes));
  const { encodeFrames } = await import('../video/ffmpeg.js');
  await encodeFrames(list, { width: size, height: size, fps: o.fps, out: o.out, format: ext === '.mp4' ? 'mp4' : 'gif' });
  return `wrote ${o.out}: sequence 0 (${frames} frames ${size}×${size} at ${o.fps} fps) of Moving MNIST, ${source}`;
}

export function register(program: Command): void {
  program
    .command('dataset')
    .description('generate Moving MNIST sequences: .npy uint8 (20, N, 64, 64) time-major like mnist_test_seq.npy, or the first sequence as .mp4/.gif')
    .argument('<name>', `dataset (${DATASETS.join(', ')})`)
    .option('--split <split>', 'MNIST digits to draw from: train (60,000) or test (t10k, 10,000)', 'test')
    .option('--count <n>', 'number of sequences', parsePositiveInt('--count'), 1000)
    .option('--seed <n>', 'RNG seed (sfc32); the same seed gives the same bytes everywhere', parseIntOption('--seed'), 0)
    .option('--fps <n>', 'frame rate for .mp4/.gif output', parsePositiveInt('--fps'), 10)
    .requiredOption('--out <file>', 'output file: .npy (all sequences) or .mp4/.gif (the first sequence)')
    .action(
      action(async (name: string, opts: DatasetOptions) => {
        const msg = await runDataset(name, opts);
        process.stdout.write(`${msg}\n`);
      }),
    );
}
