/**
 * The frames a prediction is shown as: context then prediction, upscaled; with `compare`, ground truth |
 * prediction | |difference| side by side. Pure (no ffmpeg, no files): `crevnet predict` encodes these
 * frames, the browser app offers the same frames as its downloads.
 */
import { UserError } from '../runtime/errors.js';
import { absDiff, defaultScale, sideBySide, upscaleNearest } from '../video/frames.js';

/** What is composed: W×H frames, gray (one byte per pixel) or RGB (three, interleaved). */
export interface ComposeInput {
  width: number;
  height: number;
  /** bytes per pixel: 1 (default) or 3 */
  channels?: number;
  /** the K context frames */
  context: Uint8Array[];
  /** ground-truth frames after the context (0 … horizon of them) */
  truth: Uint8Array[];
}

/** The output frames: context then predictions, upscaled; with compare, truth | prediction | |difference|. */
export function composeFrames(
  clip: ComposeInput,
  prediction: { frames: Uint8Array[] },
  opts: { compare?: boolean; scale?: number },
): { frames: Uint8Array[]; width: number; height: number } {
  const { width: W, height: H } = clip;
  const C = clip.channels ?? 1;
  const k = opts.scale ?? defaultScale(W, H);
  if (!(Number.isInteger(k) && k >= 1)) throw new UserError(`--scale must be a positive integer, got ${k}`);
  const up = (f: Uint8Array): Uint8Array => upscaleNearest(f, W, H, k, C);
  if (!opts.compare) {
    return { frames: [...clip.context, ...prediction.frames].map(up), width: W * k, height: H * k };
  }
  const black = new Uint8Array(W * H * C);
  const rows: Uint8Array[][] = [
    ...clip.context.map((f) => [f, f, black]),
    ...prediction.frames.map((p, t) => {
      const g = clip.truth[t];
      return g ? [g, p, absDiff(g, p)] : [black, p, black];
    }),
  ];
  const gap = Math.max(2, k);
  let width = 0;
  let height = 0;
  const frames = rows.map((panels) => {
    const img = sideBySide(panels.map(up), W * k, H * k, gap, 128, C);
    width = img.width;
    height = img.height;
    return img.data;
  });
  return { frames, width, height };
}
