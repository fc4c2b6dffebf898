/**
 * Pure helpers on 8-bit frames: row-major, `channels` bytes per pixel (1 = gray, 3 = RGB interleaved; default 1).
 * No ffmpeg, no tfjs.
 */

export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function checkFrame(f: ArrayLike<number>, width: number, height: number, what = 'frame', channels = 1): void {
  if (f.length !== width * height * channels) {
    const px = channels === 1 ? 'pixels' : 'bytes';
    throw new RangeError(`${what} has ${f.length} ${px}, expected ${width}x${height}${channels === 1 ? '' : `x${channels}`}=${width * height * channels}`);
  }
}

/** Nearest-neighbour upscale by an integer factor k (each pixel becomes a k×k block). */
export function upscaleNearest(frame: Uint8Array, width: number, height: number, k: number, channels = 1): Uint8Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`scale must be a positive integer, got ${k}`);
  checkFrame(frame, width, height, 'frame', channels);
  if (k === 1) return frame.slice();
  const C = channels;
  const ow = width * k * C;
  const out = new Uint8Array(ow * height * k);
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * k * ow, (y * k + 1) * ow);
    const src = y * width * C;
    if (C === 1) {
      for (let x = 0; x < width; x++) row.fill(frame[src + x]!, x * k, x * k + k);
    } else {
      const px = frame.subarray(src, src + width * C);
      for (let x = 0; x < width; x++) {
        for (let j = 0; j < k; j++) row.set(px.subarray(x * C, x * C + C), (x * k + j) * C);
      }
    }
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
  opts: { cols?: number; gap?: number; gapValue?: number; channels?: number } = {},
): GrayImage {
  if (frames.length === 0) throw new RangeError('tileFrames: no frames');
  const C = opts.channels ?? 1;
  const cols = Math.max(1, Math.min(opts.cols ?? frames.length, frames.length));
  const rows = Math.ceil(frames.length / cols);
  const gap = opts.gap ?? 0;
  const ow = cols * width + (cols - 1) * gap;
  const oh = rows * height + (rows - 1) * gap;
  const out = new Uint8Array(ow * oh * C);
  if (gap > 0) out.fill(opts.gapValue ?? 128);
  const rowBytes = width * C;
  frames.forEach((f, i) => {
    checkFrame(f, width, height, `frame ${i}`, C);
    const x0 = (i % cols) * (width + gap);
    const y0 = Math.floor(i / cols) * (height + gap);
    for (let y = 0; y < height; y++) out.set(f.subarray(y * rowBytes, (y + 1) * rowBytes), ((y0 + y) * ow + x0) * C);
  });
  // cells of the last row that hold no frame stay black rather than gap-coloured
  for (let i = frames.length; i < rows * cols; i++) {
    const x0 = (i % cols) * (width + gap);
    const y0 = Math.floor(i / cols) * (height + gap);
    for (let y = 0; y < height; y++) out.fill(0, ((y0 + y) * ow + x0) * C, ((y0 + y) * ow + x0 + width) * C);
  }
  return { data: out, width: ow, height: oh };
}

/** Frames side by side (one row) with `gap`-pixel separators of value `gapValue`. */
export function sideBySide(frames: Uint8Array[], width: number, height: number, gap = 2, gapValue = 128, channels = 1): GrayImage {
  return tileFrames(frames, width, height, { cols: frames.length, gap, gapValue, channels });
}

/** The one-image form of a frame sequence (`--format png`): up to 10 frames per row, 2-pixel grey gaps. */
export function contactSheet(frames: Uint8Array[], width: number, height: number, channels = 1): GrayImage {
  return tileFrames(frames, width, height, { cols: Math.min(frames.length, 10), gap: 2, gapValue: 128, channels });
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
