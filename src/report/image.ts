/**
 * Raster images: grayscale PNG encoding (pngjs) and labelled strips of sequences
 * (context | ground truth | prediction) as SVG documents that embed the pixel grid as a PNG.
 */
import { PNG } from 'pngjs';
import { escapeXml } from './plot.js';

/** Encode an 8-bit grayscale image (row-major, width·height bytes) as PNG. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height) throw new RangeError(`encodeGrayPng: expected ${width * height} bytes, got ${pixels.length}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/** Encode an 8-bit RGB image (row-major, channels interleaved, width·height·3 bytes) as PNG. */
export function encodeRgbPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (pixels.length !== width * height * 3) throw new RangeError(`encodeRgbPng: expected ${width * height * 3} bytes, got ${pixels.length}`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
}

/** Decode a PNG to 8-bit gray (the red channel of RGBA); used by tests and tools. */
export function decodePngGray(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes));
  const out = new Uint8Array(png.width * png.height);
  for (let i = 0; i < out.length; i++) out[i] = png.data[i * 4]!;
  return { width: png.width, height: png.height, pixels: out };
}

export interface StripSequence {
  /** label shown left of the sequence, e.g. "seq 3" */
  label: string;
  /** K context frames, each height·width uint8 */
  context: Uint8Array[];
  /** N ground-truth frames */
  truth: Uint8Array[];
  /** N predicted frames (already clipped to uint8) */
  prediction: Uint8Array[];
}
// frames are height·width·channels bytes, channels interleaved (StripOptions.channels)

export interface StripOptions {
  height: number;
  width: number;
  /** integer upscaling of every pixel (nearest neighbour), default 2 */
  scale?: number;
  /** index of the first context frame in the sequence (for the frame numbers), default 0 */
  firstFrame?: number;
  title?: string;
  /** bytes per pixel of the frames: 1 = gray (default), 3 = RGB */
  channels?: number;
}

/**
 * Build the strip: for each sequence two rows — context frames then ground truth, and under the
 * ground truth the prediction. Returns the SVG document and the raw grid PNG it embeds.
 */
export function sequenceStripSvg(seqs: StripSequence[], o: StripOptions): { svg: string; grid: Uint8Array; gridWidth: number; gridHeight: number } {
  if (seqs.length === 0) throw new RangeError('sequenceStripSvg: no sequences');
  const s = Math.max(1, Math.floor(o.scale ?? 2));
  const fh = o.height * s;
  const fw = o.width * s;
  const K = seqs[0]!.context.length;
  const N = seqs[0]!.truth.length;
  const pad = 2 * s; // between frames
  const gap = 8 * s; // between context and horizon columns
  const seqGap = 10 * s; // between sequences
  const gw = K * (fw + pad) + gap + N * (fw + pad) - pad;
  const rowH = fh + pad;
  const gh = seqs.length * (2 * rowH) + (seqs.length - 1) * seqGap - pad;
  const C = o.channels ?? 1;
  const grid = new Uint8Array(gw * gh * C).fill(255);
  const blit = (frame: Uint8Array, x0: number, y0: number) => {
    for (let r = 0; r < fh; r++) {
      const src = Math.floor(r / s) * o.width;
      const dst = (y0 + r) * gw + x0;
      for (let c = 0; c < fw; c++) {
        const from = (src + Math.floor(c / s)) * C;
        for (let ch = 0; ch < C; ch++) grid[(dst + c) * C + ch] = frame[from + ch]!;
      }
    }
  };
  const xCtx = (k: number) => k * (fw + pad);
  const xHor = (n: number) => K * (fw + pad) + gap + n * (fw + pad);
  seqs.forEach((q, i) => {
    if (q.context.length !== K || q.truth.length !== N || q.prediction.length !== N) throw new RangeError('sequenceStripSvg: sequences differ in length');
    const y0 = i * (2 * rowH + seqGap);
    q.context.forEach((f, k) => blit(f, xCtx(k), y0));
    q.truth.forEach((f, n) => blit(f, xHor(n), y0));
    q.prediction.forEach((f, n) => blit(f, xHor(n), y0 + rowH));
  });
  const png = C === 3 ? encodeRgbPng(grid, gw, gh) : encodeGrayPng(grid, gw, gh);

  const ml = 92;
  const mt = (o.title ? 26 : 0) + 34;
  const W = ml + gw + 12;
  const H = mt + gh + 12;
  const font = "font-family=\"'DejaVu Sans', Arial, sans-serif\"";
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  if (o.title) parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold" ${font}>${escapeXml(o.title)}</text>`);
  const f0 = o.firstFrame ?? 0;
  const hy = mt - 20;
  parts.push(`<text x="${ml + (K * (fw + pad)) / 2}" y="${hy}" text-anchor="middle" font-size="12" ${font}>context</text>`);
  parts.push(`<text x="${ml + xHor(0) + (N * (fw + pad)) / 2}" y="${hy}" text-anchor="middle" font-size="12" ${font}>ground truth (upper) | prediction (lower)</text>`);
  for (let k = 0; k < K; k++) parts.push(`<text x="${ml + xCtx(k) + fw / 2}" y="${mt - 5}" text-anchor="middle" font-size="9" fill="#555" ${font}>${f0 + k}</text>`);
  for (let n = 0; n < N; n++) parts.push(`<text x="${ml + xHor(n) + fw / 2}" y="${mt - 5}" text-anchor="middle" font-size="9" fill="#555" ${font}>${f0 + K + n}</text>`);
  seqs.forEach((q, i) => {
    const y0 = mt + i * (2 * rowH + seqGap);
    parts.push(`<text x="${ml - 8}" y="${y0 + fh / 2 + 4}" text-anchor="end" font-size="11" ${font}>${escapeXml(q.label)} truth</text>`);
    parts.push(`<text x="${ml - 8}" y="${y0 + rowH + fh / 2 + 4}" text-anchor="end" font-size="11" ${font}>prediction</text>`);
  });
  const b64 = Buffer.from(png).toString('base64');
  parts.push(`<image x="${ml}" y="${mt}" width="${gw}" height="${gh}" href="data:image/png;base64,${b64}"/>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n${parts.join('\n')}\n</svg>\n`;
  return { svg, grid: png, gridWidth: gw, gridHeight: gh };
}
