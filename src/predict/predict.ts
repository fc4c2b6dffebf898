/**
 * Predict the future of one video with a CrevNet model (its test rollout; see docs/architecture.md, Rollout):
 * probe → decode K context frames (+ ground truth) at the model's size, gray or RGB as the model takes them →
 * model.predict → score → compose → encode.
 *
 * The work is split into three stages so that the batch runner (batch.ts) can put decoding/encoding on an I/O
 * queue and inference on a queue of its own: loadClip (I/O), inferClip (tfjs), writePrediction (I/O).
 */
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { frameScores } from '../eval/metrics.js';
import type { CrevNet } from '../model/crevnet.js';
import { InternalError, UserError } from '../runtime/errors.js';
import {
  checkWritableOutput,
  decodeFrames,
  encodeFrames,
  probeVideo,
  type FitMode,
  type FrameChannels,
  type VideoFormat,
  type VideoProbe,
} from '../video/ffmpeg.js';
import { floatToUint8, uint8ToFloat } from '../data/pixels.js';
import { composeFrames } from './compose.js';

export { composeFrames } from './compose.js';

export interface PredictOptions {
  /** number of known frames fed to the model (K ≥ 3); default 10 */
  context?: number;
  /** number of frames to predict; default 10 */
  horizon?: number;
  /** 'end' (default): the last `context` frames are the context and the prediction goes beyond the video;
   *  N: the context ends at frame N (frames N-K … N-1) and frames N … are the ground truth where they exist */
  start?: number | 'end';
  /** how the video's aspect ratio is fitted to the model's frame; default crop */
  fit?: FitMode;
  /** output file; default outputs/predict/<input name>.<format> (relative to the working directory) */
  out?: string;
  /** default: from the extension of `out`, else mp4 */
  format?: VideoFormat;
  /** ground truth | prediction | |difference| side by side */
  compare?: boolean;
  /** nearest-neighbour upscale factor; default: smallest K with short side ≥ 256 */
  scale?: number;
  /** result of probeVideo(input), to avoid probing twice */
  probe?: VideoProbe;
}

export interface PerFrameScores {
  ssim: number[];
  mse: number[];
}

export interface PredictResult {
  input: string;
  output: string;
  fps: number;
  /** frames in the input video */
  inputFrames: number;
  context: number;
  horizon: number;
  /** wall-clock seconds for this input (probe to written output) */
  seconds: number;
  /** against the ground truth (only with --start N when frames after N exist); length = ground-truth frames */
  perFrame?: PerFrameScores;
  /** whether the input video has colour (decided from its context frames) */
  inputIsColour: boolean;
  /** 1 or 3: the channels the model predicted in */
  channels: number;
}

export const DEFAULT_CONTEXT = 10;
export const DEFAULT_HORIZON = 10;
export const DEFAULT_FIT: FitMode = 'crop';
export const DEFAULT_OUT_DIR = join('outputs', 'predict');

export function formatFromPath(path: string): VideoFormat | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  return ext === 'mp4' || ext === 'gif' || ext === 'png' ? ext : undefined;
}

/** outputs/predict/<input name without extension>.<format> */
export function defaultOutputPath(input: string, format: VideoFormat, dir = DEFAULT_OUT_DIR): string {
  const name = basename(input, extname(input)) || 'video';
  return join(dir, `${name}.${format}`);
}

/** The model's frame size: gray (C = 1) or RGB (C = 3) models; videos are decoded to that. */
export function modelFrameSize(model: CrevNet): { height: number; width: number; channels: FrameChannels } {
  const [height, width, channels] = model.config.imageSize;
  if (channels !== 1 && channels !== 3) {
    throw new UserError(`model ${model.config.name} takes ${channels}-channel frames; predict supports gray (1) and RGB (3) models`);
  }
  return { height, width, channels };
}

export interface Clip {
  input: string;
  probe: VideoProbe;
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB) bytes per pixel */
  channels: FrameChannels;
  /** K context frames, W·H·C bytes each */
  context: Uint8Array[];
  /** ground-truth frames after the context (0 … horizon of them) */
  truth: Uint8Array[];
  horizon: number;
  /** whether the input has colour (chroma in its last context frame) */
  inputIsColour: boolean;
}

/** Mean spread max(R, G, B) − min(R, G, B) above which a frame counts as colour (gray video decodes to ≤ 2). */
const COLOUR_SPREAD = 6;

/** Whether an RGB frame (interleaved) has colour: the mean channel spread of its pixels. */
export function hasColour(rgb: Uint8Array): boolean {
  let sum = 0;
  const n = rgb.length / 3;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i]!;
    const g = rgb[i + 1]!;
    const b = rgb[i + 2]!;
    sum += Math.max(r, g, b) - Math.min(r, g, b);
  }
  return n > 0 && sum / n > COLOUR_SPREAD;
}

interface ResolvedOptions {
  context: number;
  horizon: number;
  start: number | 'end';
  fit: FitMode;
}

function resolveOptions(opts: PredictOptions): ResolvedOptions {
  const context = opts.context ?? DEFAULT_CONTEXT;
  const horizon = opts.horizon ?? DEFAULT_HORIZON;
  const start = opts.start ?? 'end';
  if (!(Number.isInteger(context) && context >= 3)) {
    throw new UserError(`--context must be an integer ≥ 3 (the model needs 3 known frames), got ${context}`);
  }
  if (!(Number.isInteger(horizon) && horizon >= 1)) throw new UserError(`--horizon must be a positive integer, got ${horizon}`);
  if (start !== 'end' && !(Number.isInteger(start) && start >= 0)) {
    throw new UserError(`--start must be a frame index ≥ 0 or "end", got ${String(start)}`);
  }
  return { context, horizon, start, fit: opts.fit ?? DEFAULT_FIT };
}

/** Stage 1 (I/O): probe and decode the context frames (and the ground truth that follows them, if any). */
export async function loadClip(
  input: string,
  size: { width: number; height: number; channels?: FrameChannels },
  opts: PredictOptions,
): Promise<Clip> {
  const o = resolveOptions(opts);
  const probe = opts.probe ?? (await probeVideo(input));
  const K = o.context;
  const n = probe.frameCount;
  const channels = size.channels ?? 1;
  const common = { width: size.width, height: size.height, fit: o.fit, probe, channels };
  let context: Uint8Array[];
  let truth: Uint8Array[] = [];
  if (o.start === 'end') {
    if (n < K) {
      throw new UserError(`${input} has ${n} frame${n === 1 ? '' : 's'}; --context ${K} needs at least ${K}`);
    }
    context = await decodeFrames(input, { ...common, last: K });
  } else {
    const N = o.start;
    if (N < K) throw new UserError(`--start ${N} leaves only ${N} frames before it; --context ${K} needs --start ≥ ${K}`);
    if (N > n) {
      throw new UserError(`--start ${N} is past the end of ${input}, which has ${n} frames`);
    }
    const frames = await decodeFrames(input, { ...common, start: N - K, maxFrames: K + o.horizon });
    context = frames.slice(0, K);
    truth = frames.slice(K);
  }
  if (context.length < K) {
    throw new UserError(
      `${input}: only ${context.length} frame${context.length === 1 ? '' : 's'} could be decoded; --context ${K} needs ${K}`,
    );
  }
  // a gray model's frames say nothing about colour: one small RGB frame (the last of the context) does
  const lastIndex = o.start === 'end' ? undefined : o.start - 1;
  const rgb =
    channels === 3
      ? context[K - 1]!
      : (await decodeFrames(input, { width: 32, height: 32, fit: o.fit, probe, channels: 3, ...(lastIndex === undefined ? { last: 1 } : { start: lastIndex, maxFrames: 1 }) }))[0];
  const inputIsColour = rgb !== undefined && hasColour(rgb);
  return { input, probe, width: size.width, height: size.height, channels, context, truth, horizon: o.horizon, inputIsColour };
}

export interface ClipPrediction {
  /** horizon frames, W·H·C bytes each, clamped to [0,1] → 0…255 */
  frames: Uint8Array[];
  perFrame?: PerFrameScores;
}

/**
 * A rollout on raw arrays: time-major context [K, B, H, W, C] in [0, 1] → predicted frames, time-major
 * [horizon, B, H, W, C] (CrevNet.predict's clamped frames). The model on this thread
 * (modelClipPredictor) or sharded over threads (DataParallel.predict, src/run/parallel.ts).
 */
export type ClipPredictor = (context: Float32Array, shape: [number, number, number, number, number], horizon: number) => Promise<Float32Array>;

/** The model's rollout on this thread. */
export function modelClipPredictor(model: CrevNet): ClipPredictor {
  return async (context, shape, horizon) => {
    const ctx = tf.tensor5d(context, shape, 'float32');
    let pred: tf.Tensor | undefined;
    try {
      const p: tf.Tensor = model.predict(ctx, horizon);
      pred = p;
      const expected = [horizon, ...shape.slice(1)];
      if (p.shape.length !== 5 || p.shape.some((d, i) => d !== expected[i])) {
        throw new InternalError(`model.predict returned shape [${p.shape.join(',')}], expected [${expected.join(',')}]`);
      }
      return (await p.data()) as Float32Array;
    } finally {
      ctx.dispose();
      pred?.dispose();
    }
  };
}

/**
 * Stage 2 (tfjs) for several clips at once: their contexts as one batch [K, n, H, W, C] in [0, 1] →
 * `predict` → per clip its frames and scores against its ground truth. The clips must share the
 * frame size, channels, context length and horizon (one predictBatch call's clips do). Eval-mode
 * normalisation is per sample, so each clip's frames do not depend on the others in the batch.
 */
export async function inferClips(predict: ClipPredictor, clips: readonly Clip[]): Promise<ClipPrediction[]> {
  const first = clips[0];
  if (!first) return [];
  const { width: W, height: H, horizon } = first;
  const C = first.channels ?? 1;
  const K = first.context.length;
  for (const c of clips) {
    if (c.width !== W || c.height !== H || (c.channels ?? 1) !== C || c.horizon !== horizon || c.context.length !== K) {
      throw new InternalError('inferClips: the clips differ in frame size, channels, context or horizon');
    }
  }
  const n = clips.length;
  const HW = W * H * C;
  const data = new Float32Array(K * n * HW);
  clips.forEach((clip, b) => clip.context.forEach((f, t) => uint8ToFloat(f, data, (t * n + b) * HW)));
  const raw = await predict(data, [K, n, H, W, C], horizon);
  if (raw.length !== horizon * n * HW) throw new InternalError(`the rollout returned ${raw.length} values, expected ${horizon * n * HW}`);
  return clips.map((clip, b) => {
    const frame = (t: number) => raw.subarray((t * n + b) * HW, (t * n + b + 1) * HW);
    const frames: Uint8Array[] = [];
    for (let t = 0; t < horizon; t++) frames.push(floatToUint8(frame(t), 0, HW));
    if (clip.truth.length === 0) return { frames };
    const ssim: number[] = [];
    const mse: number[] = [];
    clip.truth.forEach((g, t) => {
      const s = frameScores(frame(t), uint8ToFloat(g), H, W, C);
      ssim.push(s.ssim);
      mse.push(s.mse);
    });
    return { frames, perFrame: { ssim, mse } };
  });
}

/** Stage 2 (tfjs) for one clip on this thread: time-major [K,1,H,W,C] in [0,1] → model.predict → scores against the ground truth. */
export async function inferClip(model: CrevNet, clip: Clip): Promise<ClipPrediction> {
  return (await inferClips(modelClipPredictor(model), [clip]))[0]!;
}

/** Stage 3 (I/O): compose and encode at the input's frame rate (atomic write). */
export async function writePrediction(
  clip: Clip,
  prediction: ClipPrediction,
  out: string,
  opts: { format?: VideoFormat; compare?: boolean; scale?: number },
): Promise<{ output: string; format: VideoFormat }> {
  const format = opts.format ?? formatFromPath(out) ?? 'mp4';
  const composed = composeFrames(clip, prediction, opts);
  await mkdir(dirname(resolve(out)), { recursive: true }); // the default directory is created on first use
  await encodeFrames(composed.frames, { width: composed.width, height: composed.height, fps: clip.probe.fps, out, format, channels: clip.channels ?? 1 });
  return { output: out, format };
}

/** Where the output goes; checks that it can be written (the default directory may still have to be created). */
export async function prepareOutput(input: string, opts: PredictOptions): Promise<{ out: string; format: VideoFormat }> {
  const format = opts.format ?? (opts.out ? formatFromPath(opts.out) : undefined) ?? 'mp4';
  const out = opts.out ?? defaultOutputPath(input, format);
  await checkWritableOutput(out, { createDirs: !opts.out });
  return { out, format };
}

/**
 * Predict `horizon` frames after the context of one video and write context + prediction to a video file.
 * Checks the output location first (nothing is decoded if it cannot be written).
 */
export async function predictVideo(model: CrevNet, input: string, opts: PredictOptions = {}): Promise<PredictResult> {
  const t0 = performance.now();
  const o = resolveOptions(opts);
  const size = modelFrameSize(model);
  const { out, format } = await prepareOutput(input, opts);
  const clip = await loadClip(input, size, opts);
  const prediction = await inferClip(model, clip);
  await writePrediction(clip, prediction, out, { format, compare: opts.compare, scale: opts.scale });
  return makeResult(clip, prediction, out, o.context, (performance.now() - t0) / 1000);
}

export function makeResult(clip: Clip, prediction: ClipPrediction, output: string, context: number, seconds: number): PredictResult {
  const r: PredictResult = {
    input: clip.input,
    output,
    fps: clip.probe.fps,
    inputFrames: clip.probe.frameCount,
    context,
    horizon: clip.horizon,
    seconds: Math.round(seconds * 1000) / 1000,
    inputIsColour: clip.inputIsColour,
    channels: clip.channels ?? 1,
  };
  if (prediction.perFrame) r.perFrame = prediction.perFrame;
  return r;
}

export function meanSsim(r: PredictResult): number | undefined {
  const s = r.perFrame?.ssim;
  if (!s || s.length === 0) return undefined;
  return s.reduce((a, b) => a + b, 0) / s.length;
}
