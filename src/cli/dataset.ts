/**
 * `crevnet dataset`:
 *   mmnist   generate Moving MNIST sequences as a uint8 .npy in the published time-major layout (T, N, 64, 64),
 *            or one sequence as an .mp4/.gif video;
 *   videos   materialise the fixed windows of your videos (decoded as `train --data` does) as a uint8 .npy
 *            (T, N, H, W, C) for `eval --data` and `metrics`;
 *   samples  make a folder of short synthetic colour clips with ffmpeg's own sources (src/video/samples.ts).
 */
import { Option, type Command } from 'commander';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { action, parseIntOption, parsePositiveInt } from './common.js';
import { UserError } from '../runtime/errors.js';
import { loadMnistDigits, type MnistSplit } from '../data/idx.js';
import { MOVING_MNIST_DEFAULTS, MovingMnistStream } from '../data/moving-mnist.js';
import { formatShape, NpyWriter, writeTimeMajorBatch } from '../data/npy.js';
import { Rng } from '../data/rng.js';
import { decodeProgressLine } from '../video/dataset.js';
import { loadTrainingConfig } from '../train/config.js';
import { openVideoSequenceSource } from '../eval/sources.js';
import { FIT_MODES, type FitMode } from '../video/ffmpeg.js';
import { makeSampleVideos, SAMPLE_DEFAULTS, SAMPLE_KINDS, type SampleKind } from '../video/samples.js';

export const DATASETS = ['mmnist', 'videos', 'samples'] as const;
const OUTPUT_EXTENSIONS = ['.npy', '.mp4', '.gif'] as const;
/** Sequences generated and written per step (20·256·4096 bytes = 21 MB). */
const WRITE_BATCH = 256;

interface DatasetOptions {
  split: string;
  count?: number;
  seed: number;
  out: string;
  fps?: number;
  /** videos */
  data?: string[];
  size?: [number, number, number];
  config?: string;
  frames?: number;
  frameStep?: number;
  fit?: FitMode;
  /** samples */
  kind?: SampleKind[];
  clipSize?: [number, number];
  clipFrames?: number;
  panSpeed?: [number, number];
}

function parseSpeed(value: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!m || Number(m[1]) > Number(m[2])) throw new UserError(`--pan-speed must be MIN,MAX pixels per frame (e.g. 2,6), got "${value}"`);
  return [Number(m[1]), Number(m[2])];
}

/** "64x64x3" → [64, 64, 3] (C = 1 when absent). */
function parseSize(value: string): [number, number, number] {
  const m = /^(\d+)x(\d+)(?:x([13]))?$/i.exec(value.trim());
  if (!m) throw new UserError(`--size must be HxW or HxWxC with C = 1 or 3 (e.g. 64x64x3), got "${value}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 1)];
}

function parseClipSize(value: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m) throw new UserError(`--clip-size must be WxH (e.g. 320x240), got "${value}"`);
  return [Number(m[1]), Number(m[2])];
}

function parseKinds(value: string): SampleKind[] {
  const kinds = value.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(SAMPLE_KINDS as readonly string[]).includes(k)) throw new UserError(`--kind: unknown clip kind "${k}" (${SAMPLE_KINDS.join(', ')})`);
  }
  return kinds as SampleKind[];
}

/** `dataset videos`: the fixed windows of the videos as one time-major .npy. */
async function runVideos(o: DatasetOptions): Promise<string> {
  if (!o.data || o.data.length === 0) throw new UserError('dataset videos needs --data <videos|directories|globs>');
  if (path.extname(o.out).toLowerCase() !== '.npy') throw new UserError(`dataset videos writes a .npy file, got --out ${o.out}`);
  await checkOutput(o.out);
  let imageSize = o.size;
  let frames = o.frames;
  if (o.config) {
    const cfg = await loadTrainingConfig(o.config);
    imageSize ??= cfg.model.imageSize;
    frames ??= cfg.train.frames;
  }
  imageSize ??= [64, 64, 3];
  frames ??= 20;
  const source = await openVideoSequenceSource({
    inputs: o.data,
    frames,
    frameStep: o.frameStep,
    fit: o.fit,
    imageSize,
    count: o.count,
    onProgress: (p) => {
      if (p.done === p.total || p.done % 20 === 0) process.stderr.write(`${decodeProgressLine(p)}\n`);
    },
    onSkip: (sk) => process.stderr.write(`warning: skipped ${sk.path}: ${sk.reason}\n`),
  });
  const [H, W, C] = imageSize;
  const shape = [frames, source.count, H, W, C];
  const w = await NpyWriter.create(o.out, 'uint8', shape);
  try {
    const raw = await source.read(0, source.count, frames);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = Math.round(raw[i]! * 255);
    await w.write(0, bytes);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
  return `wrote ${o.out}: uint8 ${formatShape(shape)} time-major (T, N, H, W, C), ${source.description}`;
}

/** `dataset samples`: synthetic colour clips into a directory. */
async function runSamples(o: DatasetOptions): Promise<string> {
  const [width, height] = o.clipSize ?? [SAMPLE_DEFAULTS.width, SAMPLE_DEFAULTS.height];
  const st = await stat(o.out).catch(() => null);
  if (st && !st.isDirectory()) throw new UserError(`--out ${o.out} is a file; dataset samples writes clips into a directory`);
  const paths = await makeSampleVideos({
    out: o.out,
    count: o.count ?? SAMPLE_DEFAULTS.count,
    kinds: o.kind ?? SAMPLE_DEFAULTS.kinds,
    frames: o.clipFrames ?? SAMPLE_DEFAULTS.frames,
    width,
    height,
    fps: o.fps ?? SAMPLE_DEFAULTS.fps,
    seed: o.seed,
    ...(o.panSpeed ? { panSpeed: o.panSpeed } : {}),
    onClip: (p, what) => process.stderr.write(`${p}: ${what}\n`),
  });
  return `wrote ${paths.length} clips (${width}×${height}, ${o.clipFrames ?? SAMPLE_DEFAULTS.frames} frames each) to ${o.out}`;
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
  if (name === 'videos') return runVideos(o);
  if (name === 'samples') return runSamples(o);
  const count = o.count ?? 1000;
  const fps = o.fps ?? 10;
  if (o.split !== 'train' && o.split !== 'test') throw new UserError(`--split must be train or test, got "${o.split}"`);
  if (!Number.isInteger(count) || count < 1) throw new UserError(`--count must be a positive integer, got ${count}`);
  const ext = await checkOutput(o.out);
  const split = o.split as MnistSplit;
  const digits = await loadMnistDigits(split);
  const stream = new MovingMnistStream(digits, new Rng(o.seed));
  const { frames, size } = MOVING_MNIST_DEFAULTS;
  const source = `split ${split} (${split === 'train' ? 'train-images-idx3-ubyte' : 't10k-images-idx3-ubyte'}), seed ${o.seed}`;

  if (ext === '.npy') {
    const shape = [frames, count, size, size];
    const w = await NpyWriter.create(o.out, 'uint8', shape);
    try {
      for (let i0 = 0; i0 < count; i0 += WRITE_BATCH) {
        const n = Math.min(WRITE_BATCH, count - i0);
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
  await encodeFrames(list, { width: size, height: size, fps, out: o.out, format: ext === '.mp4' ? 'mp4' : 'gif' });
  return `wrote ${o.out}: sequence 0 (${frames} frames ${size}×${size} at ${fps} fps) of Moving MNIST, ${source}`;
}

export function register(program: Command): void {
  program
    .command('dataset')
    .description(
      'mmnist: Moving MNIST as .npy uint8 (20, N, 64, 64) time-major like mnist_test_seq.npy, or its first sequence as .mp4/.gif; ' +
        'videos: the fixed windows of --data videos as .npy uint8 (T, N, H, W, C); samples: a folder of synthetic colour clips',
    )
    .argument('<name>', `dataset (${DATASETS.join(', ')})`)
    .option('--split <split>', 'mmnist: MNIST digits to draw from: train (60,000) or test (t10k, 10,000)', 'test')
    .option('--count <n>', 'mmnist: number of sequences (default 1000); videos: at most n windows; samples: clips (default 12)', parsePositiveInt('--count'))
    .option('--seed <n>', 'RNG seed (sfc32); the same seed gives the same bytes everywhere', parseIntOption('--seed'), 0)
    .option('--fps <n>', 'frame rate of .mp4/.gif output and of sample clips (default 10)', parsePositiveInt('--fps'))
    .option('--data <videos...>', 'videos: files, directories, globs')
    .option('--config <name|file>', "videos: take the frame size and window length (train.frames) from this config")
    .option('--size <HxWxC>', 'videos: frame size, e.g. 64x64x3 (default 64x64x3, or the --config\'s)', parseSize)
    .option('--frames <n>', 'videos: frames per window (default 20, or the --config\'s train.frames)', parsePositiveInt('--frames'))
    .option('--frame-step <k>', 'videos: take every k-th frame', parsePositiveInt('--frame-step'))
    .addOption(new Option('--fit <mode>', 'videos: fit the aspect ratio to the frame size (default crop)').choices([...FIT_MODES]))
    .option('--kind <kinds>', `samples: comma-separated clip kinds, cycled (${SAMPLE_KINDS.join(', ')}; default all)`, parseKinds)
    .option('--clip-size <WxH>', `samples: clip size (default ${SAMPLE_DEFAULTS.width}x${SAMPLE_DEFAULTS.height})`, parseClipSize)
    .option('--pan-speed <min,max>', 'samples: speed range of the pan clips in pixels of the clip per frame (default width/80,3·width/80)', parseSpeed)
    .option('--clip-frames <n>', `samples: frames per clip (default ${SAMPLE_DEFAULTS.frames})`, parsePositiveInt('--clip-frames'))
    .requiredOption('--out <path>', 'mmnist: .npy (all sequences) or .mp4/.gif (the first); videos: .npy; samples: a directory')
    .action(
      action(async (name: string, opts: DatasetOptions) => {
        const msg = await runDataset(name, opts);
        process.stdout.write(`${msg}\n`);
      }),
    );
}
