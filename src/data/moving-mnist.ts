/**
 * Moving MNIST generator with the standard rules (Srivastava et al. 2015, as OpenSTL generates it): each digit gets its own trajectory; per digit draw x, y, θ, then the digit index;
 * per frame move first, then bounce (x ≤ 0, x ≥ 1, y ≤ 0, y ≥ 1, in that order), store
 * top = trunc(S·y), left = trunc(S·x) with S = size − 28; digits are combined by pixel-wise max.
 * Output is uint8 (divide by 255 for the [0,1] float frames), time-major [T, count, size, size].
 */
import type { DigitSet } from './idx.js';
import { Rng, type RngState } from './rng.js';

export interface MovingMnistOptions {
  /** frames per sequence (default 20) */
  frames?: number;
  /** canvas side in pixels (default 64) */
  size?: number;
  /** digits per sequence (default 2) */
  digitsPerSequence?: number;
}

export const MOVING_MNIST_DEFAULTS = { frames: 20, size: 64, digitsPerSequence: 2 } as const;
/** Position step per frame in the unit square (speed = 0.1·S px/frame, 3.6 for 64×64). */
export const MOVING_MNIST_STEP = 0.1;

/** One digit's path through a sequence. */
export interface DigitTrack {
  /** index into the DigitSet */
  digit: number;
  /** row offset of the 28×28 digit per frame, in 0..S */
  top: Int32Array;
  /** column offset per frame, in 0..S */
  left: Int32Array;
  /** continuous positions in [0,1] per frame (after the move and bounce of that frame) */
  x: Float64Array;
  y: Float64Array;
}

interface Resolved {
  frames: number;
  size: number;
  digitsPerSequence: number;
}

function resolve(digits: DigitSet, opts: MovingMnistOptions = {}): Resolved {
  const frames = opts.frames ?? MOVING_MNIST_DEFAULTS.frames;
  const size = opts.size ?? MOVING_MNIST_DEFAULTS.size;
  const digitsPerSequence = opts.digitsPerSequence ?? MOVING_MNIST_DEFAULTS.digitsPerSequence;
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames must be a positive integer, got ${frames}`);
  if (!Number.isInteger(digitsPerSequence) || digitsPerSequence < 1) {
    throw new RangeError(`digitsPerSequence must be a positive integer, got ${digitsPerSequence}`);
  }
  if (!Number.isInteger(size) || size < digits.rows || size < digits.cols) {
    throw new RangeError(`size must be an integer ≥ ${digits.rows}, got ${size}`);
  }
  if (digits.count < 1 || digits.pixels.length !== digits.count * digits.rows * digits.cols) {
    throw new RangeError('invalid DigitSet');
  }
  return { frames, size, digitsPerSequence };
}

/**
 * Draw one digit's trajectory: consumes x, y, θ, then the digit index from `rng` (in that order).
 * `range` is S = size − 28 (36 for 64×64).
 */
export function drawDigitTrack(rng: Rng, digitCount: number, frames: number, range: number): DigitTrack {
  let x = rng.next();
  let y = rng.next();
  const theta = rng.next() * 2 * Math.PI;
  let vx = Math.cos(theta);
  let vy = Math.sin(theta);
  const digit = rng.int(digitCount);
  const top = new Int32Array(frames);
  const left = new Int32Array(frames);
  const xs = new Float64Array(frames);
  const ys = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    y += MOVING_MNIST_STEP * vy;
    x += MOVING_MNIST_STEP * vx;
    if (x <= 0) {
      x = 0;
      vx = -vx;
    }
    if (x >= 1) {
      x = 1;
      vx = -vx;
    }
    if (y <= 0) {
      y = 0;
      vy = -vy;
    }
    if (y >= 1) {
      y = 1;
      vy = -vy;
    }
    top[t] = Math.trunc(range * y);
    left[t] = Math.trunc(range * x);
    xs[t] = x;
    ys[t] = y;
  }
  return { digit, top, left, x: xs, y: ys };
}

/** The tracks of one sequence (digitsPerSequence of them, drawn in order). */
export function drawSequenceTracks(digits: DigitSet, rng: Rng, opts?: MovingMnistOptions): DigitTrack[] {
  const o = resolve(digits, opts);
  const range = o.size - digits.rows;
  const tracks: DigitTrack[] = [];
  for (let k = 0; k < o.digitsPerSequence; k++) tracks.push(drawDigitTrack(rng, digits.count, o.frames, range));
  return tracks;
}

/**
 * Render sequences [0, count) drawn from `rng` into `out`, time-major [frames, count, size, size].
 * `out` must be zero-filled.
 */
function render(digits: DigitSet, count: number, rng: Rng, o: Resolved, out: Uint8Array): void {
  const { frames, size } = o;
  const rows = digits.rows;
  const cols = digits.cols;
  const range = size - rows;
  const frameSize = size * size;
  const digitSize = rows * cols;
  const src = digits.pixels;
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < o.digitsPerSequence; k++) {
      const tr = drawDigitTrack(rng, digits.count, frames, range);
      const dBase = tr.digit * digitSize;
      for (let t = 0; t < frames; t++) {
        const base = (t * count + i) * frameSize + tr.top[t]! * size + tr.left[t]!;
        for (let r = 0; r < rows; r++) {
          const o0 = base + r * size;
          const s0 = dBase + r * cols;
          for (let c = 0; c < cols; c++) {
            const v = src[s0 + c]!;
            if (v > out[o0 + c]!) out[o0 + c] = v;
          }
        }
      }
    }
  }
}

/** Bytes of a time-major [frames, count, size, size] uint8 batch. */
export function sequenceBytes(count: number, opts: MovingMnistOptions = {}): number {
  const frames = opts.frames ?? MOVING_MNIST_DEFAULTS.frames;
  const size = opts.size ?? MOVING_MNIST_DEFAULTS.size;
  return frames * count * size * size;
}

/**
 * Generate `count` sequences from `rng` (advanced in place): uint8, time-major [T, count, size, size].
 * Sequence i is drawn entirely before sequence i+1, so the result equals concatenating batches of a
 * MovingMnistStream started from the same RNG state.
 */
export function generateSequences(digits: DigitSet, count: number, rng: Rng, opts?: MovingMnistOptions): Uint8Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const o = resolve(digits, opts);
  const out = new Uint8Array(o.frames * count * o.size * o.size);
  render(digits, count, rng, o, out);
  return out;
}

/**
 * An endless stream of fresh Moving MNIST sequences. Batches are generated on demand (nothing is
 * materialised); `rngState()` after a batch, passed to `Rng.fromState`, resumes the stream exactly.
 */
export class MovingMnistStream {
  private readonly digits: DigitSet;
  private readonly rng: Rng;
  private readonly o: Resolved;
  private produced = 0;

  constructor(digits: DigitSet, rng: Rng, opts?: MovingMnistOptions) {
    this.digits = digits;
    this.rng = rng;
    this.o = resolve(digits, opts);
  }

  get frames(): number {
    return this.o.frames;
  }

  get size(): number {
    return this.o.size;
  }

  /** Sequences generated so far by this stream object. */
  get sequencesProduced(): number {
    return this.produced;
  }

  /** Next `batch` sequences, uint8 time-major [T, batch, size, size]. */
  nextBatch(batch: number): Uint8Array {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    const out = new Uint8Array(this.o.frames * batch * this.o.size * this.o.size);
    render(this.digits, batch, this.rng, this.o, out);
    this.produced += batch;
    return out;
  }

  /** State of the underlying RNG (the stream's position). */
  rngState(): RngState {
    return this.rng.state();
  }
}
