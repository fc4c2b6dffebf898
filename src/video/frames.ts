/** Pure helpers on 8-bit gray frames (row-major, one byte per pixel). No ffmpeg, no tfjs. */

export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function checkFrame(f: ArrayLike<number>, width: number, height: number, what = 'frame'): void {
  if (f.length !== width * height) {
    throw new RangeError(`${what} has ${f.length} pixels, expected ${width}x${height}=${width * height}`);
  }
}

/** Nearest-neighbour upscale by an integer factor k (each pixel becomes a k×k block). */
export function upscaleNearest(frame: Uint8Array, width: number, height: number, k: number): Uint8Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`scale must be a positive integer, got ${k}`);
  checkFrame(frame, width, height);
  if (k === 1) return frame.slice();
  const ow = width * k;
  const out = new Uint8Array(ow * height * k);
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * k * ow, (y * k + 1) * ow);
    const src = y * width;
    for (let x = 0; x < width; x++) row.fill(frame[src + x]!, x * k, x * k + k);
    for (let r = 1; r < k; r++) out.copyWithin((y * k + r) * ow, y * k * ow, (y * k + 1) * ow);
  }
  return out;
}

/**
 * Lay frames of equal size out on a grid, `cols` per row, left to right then top to bottom,
 * with `gap` pixels of value `gapValue` between cells (none around the border). Empty cells are black.
 */
export function tileFrames(
  frames: Uint8Array[],
  width: number,
  height: number,
  opts: { cols?: number; gap?: number; gapValue?: number } = {},
): GrayImage {
  if (frames.length === 0) throw new RangeError('tileFrames: no frames');
  const cols = Math.max(1, Math.min(opts.cols ?? frames.length, frames.length));
  const rows = Math.ceil(frames.length / cols);
  const gap = opts.gap ?? 0;
  const ow = cols * width + (cols - 1) * gap;
  const oh = rows * height + (rows - 1) * gap;
  const out = new Uint8Array(ow * oh);
  if (gap > 0) out.fill(opts.gapValue ?? 128);
  frames.forEach((f, i) => {
    checkFrame(f, width, height, `frame ${i}`);
    const x0 = (i % cols) * (width + gap);
    const y0 = Math.floor(i / cols) * (height + gap);
    for (let y = 0; y < height; y++) out.set(f.subarray(y * width, (y + 1) * width), (y0 + y) * ow + x0);
  });
  // cells of the last row that hold no frame stay black rather than gap-coloured
  for (let i = frames.length; i < rows * cols; i++) {
    const x0 = (i % cols) * (width + gap);
    const y0 = Math.floor(i / cols) * (height + gap);
    for (let y = 0; y < height; y++) out.fill(0, (y0 + y) * ow + x0, (y0 + y) * ow + x0 + width);
  }
  return { data: out, width: ow, height: oh };
}

/** Frames side by side (one row) with `gap`-pixel separators of value `gapValue`. */
export function sideBySide(frames: Uint8Array[], width: number, height: number, gap = 2, gapValue = 128): GrayImage {
  return tileFrames(frames, width, height, { cols: frames.length, gap, gapValue });
}

/** The one-image form of a frame sequence (`--format png`): up to 10 frames per row, 2-pixel grey gaps. */
export function contactSheet(frames: Uint8Array[], width: number, height: number): GrayImage {
  return tileFrames(frames, width, height, { cols: Math.min(frames.length, 10), gap: 2, gapValue: 128 });
}

/** |a − b| per pixel. */
export function absDiff(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`absDiff: lengths differ (${a.length} vs ${b.length})`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.abs(a[i]! - b[i]!);
  return out;
}

/** Smallest integer K ≥ 1 with min(width, height)·K ≥ minShortSide. */
export function defaultScale(width: number, height: number, minShortSide = 256): number {
  const short = Math.min(width, height);
  if (!(short > 0)) throw new RangeError(`bad size ${width}x${height}`);
  return Math.max(1, Math.ceil(minShortSide / short));
}
