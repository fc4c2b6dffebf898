/**
 * How a video frame of one size is fitted to the model's frame size: the geometry behind `--fit
 * crop|pad|stretch`. Pure arithmetic, shared by the ffmpeg filter chain (./decode.ts) and the browser
 * app (web/), so both cut and letterbox the same pixels.
 */

export type FitMode = 'crop' | 'pad' | 'stretch';
export const FIT_MODES: readonly FitMode[] = ['crop', 'pad', 'stretch'];

export interface FitPlan {
  /** the part of the source frame that is used (all of it unless cropping) */
  crop: { x: number; y: number; width: number; height: number };
  /** the size the crop is scaled to */
  scaled: { width: number; height: number };
  /** where the scaled picture sits in the target frame (non-zero only when padding; the rest is black) */
  offset: { x: number; y: number };
}

/**
 * Source sw×sh → target W×H. stretch: scale the whole frame; crop: cut the source to the target's aspect
 * ratio (centred) at full resolution, then scale; pad: scale to fit inside and letterbox with black
 * (placeInFrame).
 * Equal aspect ratios scale the whole frame whatever the mode.
 */
export function fitPlan(sw: number, sh: number, W: number, H: number, fit: FitMode): FitPlan {
  const whole = { crop: { x: 0, y: 0, width: sw, height: sh }, scaled: { width: W, height: H }, offset: { x: 0, y: 0 } };
  if (fit === 'stretch' || sw * H === sh * W) return whole;
  if (fit === 'crop') {
    const cw = Math.max(1, Math.min(sw, Math.round((sh * W) / H)));
    const ch = Math.max(1, Math.min(sh, Math.round((sw * H) / W)));
    return { ...whole, crop: { x: Math.floor((sw - cw) / 2), y: Math.floor((sh - ch) / 2), width: cw, height: ch } };
  }
  const s = Math.min(W / sw, H / sh);
  const nw = Math.max(1, Math.min(W, Math.round(sw * s)));
  const nh = Math.max(1, Math.min(H, Math.round(sh * s)));
  return { ...whole, scaled: { width: nw, height: nh }, offset: { x: Math.floor((W - nw) / 2), y: Math.floor((H - nh) / 2) } };
}

/**
 * The scaled picture (plan.scaled, `channels` bytes per pixel, interleaved) placed in a W×H frame at the plan's
 * offset with black (0) around it; the picture itself when it fills the frame. Done here rather than with
 * ffmpeg's pad filter, whose "black" on gray frames is 16 (limited range) in some ffmpeg versions and 0 in others.
 */
export function placeInFrame(img: Uint8Array, plan: FitPlan, W: number, H: number, channels = 1): Uint8Array {
  const { width: w, height: h } = plan.scaled;
  if (w === W && h === H) return img;
  const C = channels;
  const out = new Uint8Array(W * H * C);
  for (let y = 0; y < h; y++) out.set(img.subarray(y * w * C, (y + 1) * w * C), ((plan.offset.y + y) * W + plan.offset.x) * C);
  return out;
}
