/**
 * Where evaluation sequences come from, read batch by batch (never materialised whole):
 *  - a time-major .npy file in the layout of the published mnist_test_seq.npy, uint8 (T, N, H, W)
 *    (float32 in [0, 1] is accepted too), read with positioned reads;
 *  - sequences generated from MNIST **test** digits with a fixed seed (src/data/moving-mnist.ts), the
 *    fallback when the standard file is absent. Sequence i is drawn entirely before i+1, so the
 *    first N sequences of a seed are the same whatever the batch size or --count.
 * Every source yields float32 time-major [frames, n, H, W] in [0, 1] (uint8 / 255).
 */
import { UserError } from '../runtime/errors.js';
import { NpyFile, readTimeMajorBatch, formatShape } from '../data/npy.js';
import { loadMnistDigits, type DigitSet } from '../data/idx.js';
import { MovingMnistStream } from '../data/moving-mnist.js';
import { Rng } from '../data/rng.js';
import { uint8ToFloat } from '../data/pixels.js';

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
  /**
   * Sequences [i0, i0+n), time steps [0, frames): float32 time-major [frames, n, H, W] in [0, 1].
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

  private constructor(
    private readonly file: NpyFile,
    count: number,
  ) {
    const [T, N, H, W] = file.shape as [number, number, number, number];
    this.frames = T;
    this.count = count;
    this.height = H;
    this.width = W;
    const isStandard = T === 20 && N === 10000 && H === 64 && W === 64 && file.dtype === 'uint8' && /mnist_test_seq\.npy$/.test(file.path);
    this.standard = isStandard && count === N;
    this.description = `${file.path} (${file.dtype} ${formatShape(file.shape)}${count < N ? `, first ${count} sequences` : ''})`;
    this.info = { kind: 'npy', path: file.path, dtype: file.dtype, shape: file.shape, count, standard: this.standard };
  }

  /**
   * Open and validate `path`: 4-D (T, N, H, W), uint8 or float32, frames of `height`×`width`.
   * `count` (optional) evaluates only the first `count` sequences.
   */
  static async open(path: string, expect: { height: number; width: number; count?: number }): Promise<NpySequenceSource> {
    const f = await NpyFile.open(path);
    try {
      const s = f.shape;
      if (s.length !== 4) {
        throw new UserError(`${path}: expected a time-major uint8 array (T, N, ${expect.height}, ${expect.width}) like mnist_test_seq.npy, got shape ${formatShape(s)}`);
      }
      if (s[2] !== expect.height || s[3] !== expect.width) {
        throw new UserError(`${path}: frames are ${s[2]}×${s[3]}, the model expects ${expect.height}×${expect.width} (shape ${formatShape(s)})`);
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

/** A source over sequences already in memory (validation sets, tests): uint8 time-major [T, N, H, W]. */
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
  ) {
    if (data.length !== frames * count * height * width) throw new RangeError('ArraySequenceSource: data length does not match the shape');
    this.info = { kind: 'memory', count, frames };
  }

  async read(i0: number, n: number, frames: number): Promise<Float32Array> {
    const hw = this.height * this.width;
    const out = new Float32Array(frames * n * hw);
    for (let t = 0; t < frames; t++) {
      const src = this.data.subarray((t * this.count + i0) * hw, (t * this.count + i0 + n) * hw);
      uint8ToFloat(src, out, t * n * hw);
    }
    return out;
  }

  async close(): Promise<void> {}
}
