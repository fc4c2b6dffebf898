/**
 * Where evaluation sequences come from, read batch by batch (never materialised whole, except videos):
 *  - a time-major .npy file in the layout of the published mnist_test_seq.npy, uint8 (T, N, H, W)
 *    (float32 in [0, 1] is accepted too), read with positioned reads;
 *  - sequences generated from MNIST **test** digits with a fixed seed (src/data/moving-mnist.ts), the
 *    fallback when the standard file is absent. Sequence i is drawn entirely before i+1, so the
 *    first N sequences of a seed are the same whatever the batch size or --count;
 *  - fixed windows of the user's videos (openVideoSequenceSource), decoded once into memory.
 * Every source yields float32 time-major [frames, n, H, W, C] in [0, 1] (uint8 / 255), C = `channels`.
 */
import { UserError } from '../runtime/errors.js';
import { NpyFile, readTimeMajorBatch, formatShape } from '../data/npy.js';
import { loadMnistDigits, type DigitSet } from '../data/idx.js';
import { MovingMnistStream } from '../data/moving-mnist.js';
import { Rng } from '../data/rng.js';
import { uint8ToFloat } from '../data/pixels.js';
import {
  checkImageSize,
  closeVideos,
  dataName,
  fixedWindows,
  loadVideos,
  materialiseWindows,
  skippedLine,
  windowSpan,
  type DecodeProgress,
  type ImageSize,
  type SkippedVideo,
} from '../video/dataset.js';
import { expandInputs } from '../video/inputs.js';
import type { FitMode } from '../video/ffmpeg.js';

/** Seed of the default generated test set (`crevnet eval` without --data): 10 000 sequences, seed 0. */
export const DEFAULT_EVAL_SEED = 0;
export const DEFAULT_EVAL_COUNT = 10000;

export interface SequenceSource {
  /** human-readable description, e.g. "generated: 1000 sequences from MNIST test digits, seed 0" */
  readonly description: string;
  /** machine-readable description for reports */
  readonly info: Record<string, unknown>;
  /** true only for the published file (numbers comparable to published tables) */
  readonly standard: boolean;
  readonly count: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  /** 1 (gray) or 3 (RGB) */
  readonly channels: number;
  /**
   * Sequences [i0, i0+n), time steps [0, frames): float32 time-major [frames, n, H, W, C] in [0, 1].
   * Generated sources must be read in order (i0 = previous i0 + n).
   */
  read(i0: number, n: number, frames: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Keep time steps [0, frames) of a time-major [T, n, H, W] array (a view, no copy). */
function firstFrames<T extends Uint8Array | Float32Array>(a: T, T: number, frames: number): T {
  if (frames === T) return a;
  return a.subarray(0, (a.length / T) * frames) as T;
}

/** The published mnist_test_seq.npy or any .npy in its layout. */
export class NpySequenceSource implements SequenceSource {
  readonly description: string;
  readonly info: Record<string, unknown>;
  readonly standard: boolean;
  readonly count: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;

  private constructor(
    private readonly file: NpyFile,
    count: number,
  ) {
    const [T, N, H, W, C] = file.shape as [number, number, number, number, number | undefined];
    this.frames = T;
    this.count = count;
    this.height = H;
    this.width = W;
    this.channels = C ?? 1;
    const isStandard = T === 20 && N === 10000 && H === 64 && W === 64 && file.dtype === 'uint8' && /mnist_test_seq\.npy$/.test(file.path);
    this.standard = isStandard && count === N;
    this.description = `${file.path} (${file.dtype} ${formatShape(file.shape)}${count < N ? `, first ${count} sequences` : ''})`;
    this.info = { kind: 'npy', path: file.path, dtype: file.dtype, shape: file.shape, count, standard: this.standard };
  }

  /**
   * Open and validate `path`: (T, N, H, W) for gray or (T, N, H, W, C) for C channels, uint8 or float32, frames of
   * `height`×`width`×`channels`. `count` (optional) evaluates only the first `count` sequences.
   */
  static async open(path: string, expect: { height: number; width: number; channels?: number; count?: number }): Promise<NpySequenceSource> {
    const f = await NpyFile.open(path);
    const C = expect.channels ?? 1;
    try {
      const s = f.shape;
      const want = C === 1 ? `(T, N, ${expect.height}, ${expect.width})` : `(T, N, ${expect.height}, ${expect.width}, ${C})`;
      if (!(s.length === 4 || (s.length === 5 && C !== 1) || (s.length === 5 && s[4] === 1))) {
        throw new UserError(`${path}: expected a time-major uint8 array ${want} like mnist_test_seq.npy, got shape ${formatShape(s)}`);
      }
      if (s[2] !== expect.height || s[3] !== expect.width) {
        throw new UserError(`${path}: frames are ${s[2]}×${s[3]}, the model expects ${expect.height}×${expect.width} (shape ${formatShape(s)})`);
      }
      const got = s.length === 5 ? s[4]! : 1;
      if (got !== C) {
        throw new UserError(`${path}: frames have ${got} channel${got === 1 ? '' : 's'}, the model expects ${C} (shape ${formatShape(s)}; expected ${want})`);
      }
      if (s[1]! < 1) throw new UserError(`${path}: holds no sequences (shape ${formatShape(s)})`);
      const count = expect.count === undefined ? s[1]! : Math.min(expect.count, s[1]!);
      return new NpySequenceSource(f, count);
    } catch (err) {
      await f.close();
      throw err;
    }
  }

  async read(i0: number, n: number, frames: number): Promise<Float32Array> {
    const raw = await readTimeMajorBatch(this.file, i0, n, { t0: 0, frames });
    return raw instanceof Uint8Array ? uint8ToFloat(raw) : raw;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Moving MNIST sequences generated on the fly from MNIST test digits. */
export class GeneratedSequenceSource implements SequenceSource {
  readonly description: string;
  readonly info: Record<string, unknown>;
  readonly standard = false;
  readonly channels = 1;
  readonly height: number;
  readonly width: number;
  private readonly stream: MovingMnistStream;
  private next = 0;

  constructor(
    digits: DigitSet,
    readonly count: number,
    readonly seed: number,
    readonly frames = 20,
    size = 64,
  ) {
    this.height = size;
    this.width = size;
    this.stream = new MovingMnistStream(digits, new Rng(seed), { frames, size });
    this.description = `generated: ${count} sequences from MNIST test digits, seed ${seed} (non-standard: not comparable to published tables)`;
    this.info = { kind: 'generated', split: 'test', count, seed, frames, size, standard: false };
  }

  static async create(count: number, seed: number, frames = 20, size = 64): Promise<GeneratedSequenceSource> {
    return new GeneratedSequenceSource(await loadMnistDigits('test'), count, seed, frames, size);
  }

  async read(i0: number, n: number, frames: number): Promise<Float32Array> {
    if (i0 !== this.next) throw new RangeError(`generated sequences must be read in order (asked for ${i0}, next is ${this.next})`);
    if (i0 + n > this.count) throw new RangeError(`sequences [${i0}, ${i0 + n}) outside [0, ${this.count})`);
    this.next += n;
    return uint8ToFloat(firstFrames(this.stream.nextBatch(n), this.frames, frames));
  }

  async close(): Promise<void> {}
}

/** A source over sequences already in memory (validation sets, tests): uint8 time-major [T, N, H, W, C]. */
export class ArraySequenceSource implements SequenceSource {
  readonly info: Record<string, unknown>;
  readonly standard = false;

  constructor(
    private readonly data: Uint8Array,
    readonly frames: number,
    readonly count: number,
    readonly height: number,
    readonly width: number,
    readonly description = `${count} in-memory sequences`,
    readonly channels = 1,
    info?: Record<string, unknown>,
  ) {
    if (data.length !== frames * count * height * width * channels) throw new RangeError('ArraySequenceSource: data length does not match the shape');
    this.info = info ?? { kind: 'memory', count, frames };
  }

  async read(i0: number, n: number, frames: number): Promise<Float32Array> {
    const hw = this.height * this.width * this.channels;
    const out = new Float32Array(frames * n * hw);
    for (let t = 0; t < frames; t++) {
      const src = this.data.subarray((t * this.count + i0) * hw, (t * this.count + i0 + n) * hw);
      uint8ToFloat(src, out, t * n * hw);
    }
    return out;
  }

  async close(): Promise<void> {}
}

/**
 * Fixed windows of the user's videos (src/data/video-dataset.ts): every file's non-overlapping windows of
 * `frames` frames (every `frameStep`-th frame), round-robin over the files, at most `count`; decoded once and held
 * in memory as uint8.
 */
export async function openVideoSequenceSource(o: {
  inputs: string[];
  frames: number;
  frameStep?: number;
  fit?: FitMode;
  imageSize: ImageSize;
  count?: number;
  onProgress?: (p: DecodeProgress) => void;
  onSkip?: (s: SkippedVideo) => void;
}): Promise<ArraySequenceSource & { skipped: SkippedVideo[] }> {
  const frameStep = o.frameStep ?? 1;
  if (!(Number.isInteger(frameStep) && frameStep >= 1)) throw new UserError(`--frame-step must be a positive integer, got ${frameStep}`);
  checkImageSize(o.imageSize);
  const files = await expandInputs(o.inputs, '--data');
  const fit = o.fit ?? 'crop';
  const { videos, skipped } = await loadVideos(files, { imageSize: o.imageSize, fit, minFrames: windowSpan(o.frames, frameStep), onProgress: o.onProgress, onSkip: o.onSkip });
  if (videos.length === 0) {
    throw new UserError(`no usable video among ${files.length} file${files.length === 1 ? '' : 's'} of --data ${o.inputs.join(' ')}${skipped.length ? ` (${skippedLine(skipped)})` : ''}`);
  }
  const refs = fixedWindows(videos, o.frames, frameStep, o.count ?? Infinity);
  const data = await materialiseWindows(videos, refs, o.frames, frameStep, o.imageSize);
  await closeVideos(videos);
  const [H, W, C] = o.imageSize;
  const name = dataName(o.inputs);
  const description =
    `videos "${name}": ${refs.length} windows of ${o.frames} frames${frameStep > 1 ? ` (every ${frameStep}th frame)` : ''} from ${videos.length} file${videos.length === 1 ? '' : 's'}` +
    `, ${H}×${W} ${C === 3 ? 'RGB' : 'gray'} (--fit ${fit})`;
  const info = {
    kind: 'video',
    name,
    files: videos.map((v) => ({ path: v.path, frames: v.frames })),
    skipped,
    frameStep,
    fit,
    imageSize: o.imageSize,
    count: refs.length,
    standard: false,
  };
  const source = new ArraySequenceSource(data, o.frames, refs.length, H, W, description, C, info);
  return Object.assign(source, { skipped });
}
