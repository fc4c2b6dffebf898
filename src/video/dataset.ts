/**
 * A dataset of the user's own videos: files (from directories, globs or lists, see src/video/inputs.ts) decoded once
 * through src/video to uint8 frames of the config's [H, W, C] (C = 1 gray or 3 RGB) and cut into windows of T
 * frames, taking every k-th frame (`frameStep`, for slow footage).
 *
 * - Decoding happens once per file: frames stay in memory as uint8 within `memoryBudget`; with a `cacheDir` every
 *   decoded video is also written there as a .npy (N, H, W, C) with a .json beside it naming the source's size and
 *   mtime, so the next session (a resume) reads the .npy instead of running ffmpeg, and a changed source is decoded
 *   again. Videos beyond the memory budget are read from their .npy with positioned reads.
 * - A file that cannot be decoded, or is shorter than one window, is skipped and reported once by name
 *   (`onSkip`); zero usable files is a one-line UserError.
 * - Validation holds out whole files (splitFiles): a file is either a training file or a held-out one, never both.
 * - Training windows (VideoWindowStream) start at random frames drawn from the run's seeded Rng, one draw per window
 *   over all windows of all files (uniform over windows), so the stream is resumed exactly from the Rng state.
 * - Evaluation windows (fixedWindows) are fixed: non-overlapping windows of every file, taken round-robin over
 *   the files so a capped set still covers every file.
 *
 * The decoding and its cache are in decoded-videos.ts, the windows in windows.ts (both re-exported here); this file
 * holds the held-out split and openVideoData, which puts them together for a run.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../runtime/errors.js';
import type { DatasetRecord } from '../data/dataset-record.js';
import type { FitMode } from './decode.js';
import { expandInputs } from './inputs.js';
import { checkImageSize, closeVideos, loadVideos, windowSpan, type DecodedVideo, type DecodeProgress, type ImageSize, type SkippedVideo } from './decoded-videos.js';

export * from './decoded-videos.js';
export * from './windows.js';

/**
 * Split files into training and held-out files. `valFiles` given: those are held out (and removed from the training
 * files if listed there too). Otherwise `valSplit` (a fraction in [0, 1)) of the files is held out, at least one
 * when the fraction is above 0: the files whose name hashes lowest (sha256 of the file name), so the choice is the
 * same on every machine, in every directory and whatever order the files are listed in.
 */
export function splitFiles(files: string[], o: { valSplit?: number; valFiles?: string[] }): { train: string[]; val: string[] } {
  if (o.valFiles && o.valFiles.length > 0) {
    const held = new Set(o.valFiles.map((f) => resolve(f)));
    const train = files.filter((f) => !held.has(resolve(f)));
    if (train.length === 0) throw new UserError('every --data file is also a --val-data file; nothing is left to train on');
    return { train, val: [...o.valFiles] };
  }
  const f = o.valSplit ?? 0;
  if (!(f >= 0 && f < 1)) throw new UserError(`--val-split must be a fraction in [0, 1), got ${f}`);
  if (f === 0) return { train: [...files], val: [] };
  if (files.length < 2) {
    throw new UserError(
      `--val-split holds out whole files, and there is only one video (${files[0] ?? 'none'}); add videos, pass --val-data FILE, or --val-split 0 for no validation`,
    );
  }
  const n = Math.min(files.length - 1, Math.max(1, Math.round(f * files.length)));
  const key = (p: string) => createHash('sha256').update(basename(p)).digest('hex');
  const ranked = files.map((p, i) => ({ p, i, k: key(p) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  const held = new Set(ranked.slice(0, n).map((r) => r.i));
  return { train: files.filter((_, i) => !held.has(i)), val: files.filter((_, i) => held.has(i)) };
}

/** "3 files skipped: a.mp4 (too short: …); b.mov (…)" — one line for all skipped files. */
export function skippedLine(skipped: SkippedVideo[]): string {
  return `${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped: ${skipped.map((s) => `${s.path} (${s.reason})`).join('; ')}`;
}

/** One progress line of the first decode. */
export function decodeProgressLine(p: DecodeProgress): string {
  const rate = p.seconds > 0 ? ` (${Math.round(p.frames / p.seconds)} frames/s)` : '';
  const fromCache = p.cached > 0 ? ` (${p.cached === p.done ? 'all' : p.cached} from the cache)` : '';
  return `decoding videos: ${p.done}/${p.total} files${fromCache}, ${p.frames} frames, ${p.seconds.toFixed(1)} s${rate}`;
}

export interface OpenVideoDataOptions {
  /** --data: files, directories, globs */
  inputs: string[];
  /** --val-data: held-out files, directories, globs (instead of valSplit) */
  valInputs?: string[];
  /**
   * fraction of the files held out (by file) when valInputs is not given; default DEFAULT_VAL_SPLIT, or none
   * when there is only one file (a single video trains without validation)
   */
  valSplit?: number;
  imageSize: ImageSize;
  fit: FitMode;
  /** frames per training window (train.frames) */
  frames: number;
  frameStep: number;
  cacheDir?: string;
  memoryBudget?: number;
  onProgress?: (p: DecodeProgress) => void;
  onSkip?: (s: SkippedVideo) => void;
}

/** Default held-out fraction of a video run's files (with two files or more). */
export const DEFAULT_VAL_SPLIT = 0.2;

export interface VideoData {
  /** the held-out fraction used (0 with --val-data or without held-out files) */
  valSplit: number;
  train: DecodedVideo[];
  val: DecodedVideo[];
  skipped: SkippedVideo[];
  record: DatasetRecord;
}

/** The data's name: the one directory given (or the directory all the files given are in), else the one file's name, else "videos". */
export function dataName(inputs: string[]): string {
  if (inputs.length === 1) {
    const b = basename(resolve(inputs[0]!.replace(/[*?[{].*$/, '') || '.'));
    return b.replace(/\.[^.]+$/, '') || 'videos';
  }
  const dirs = new Set(inputs.map((p) => dirname(resolve(p))));
  return dirs.size === 1 ? basename([...dirs][0]!) || 'videos' : 'videos';
}

/**
 * List, split and decode the videos of a training run. Throws a one-line UserError when no training file (or, with
 * held-out files, no held-out file) is usable; skipped files are reported through onSkip before that.
 */
export async function openVideoData(o: OpenVideoDataOptions): Promise<VideoData> {
  checkImageSize(o.imageSize);
  if (!(Number.isInteger(o.frameStep) && o.frameStep >= 1)) throw new UserError(`--frame-step must be a positive integer, got ${o.frameStep}`);
  const files = await expandInputs(o.inputs, '--data');
  const valFiles = o.valInputs && o.valInputs.length > 0 ? await expandInputs(o.valInputs, '--val-data') : undefined;
  const valSplit = valFiles ? 0 : (o.valSplit ?? (files.length >= 2 ? DEFAULT_VAL_SPLIT : 0));
  const split = splitFiles(files, { valSplit, valFiles });
  const minFrames = windowSpan(o.frames, o.frameStep);
  const common = { imageSize: o.imageSize, fit: o.fit, minFrames, cacheDir: o.cacheDir, memoryBudget: o.memoryBudget, onSkip: o.onSkip };
  const all = [...split.train, ...split.val];
  const loaded = await loadVideos(all, { ...common, onProgress: o.onProgress });
  const isVal = new Set(split.val.map((f) => resolve(f)));
  const train = loaded.videos.filter((v) => !isVal.has(resolve(v.path)));
  const val = loaded.videos.filter((v) => isVal.has(resolve(v.path)));
  const why = (list: string[]) => {
    const s = loaded.skipped.filter((x) => list.some((f) => resolve(f) === resolve(x.path)));
    return s.length > 0 ? ` (${skippedLine(s)})` : '';
  };
  if (train.length === 0) {
    await closeVideos(loaded.videos);
    throw new UserError(`no usable training video among ${split.train.length} file${split.train.length === 1 ? '' : 's'} of --data ${o.inputs.join(' ')}${why(split.train)}`);
  }
  if (split.val.length > 0 && val.length === 0) {
    await closeVideos(loaded.videos);
    throw new UserError(`no usable held-out video among ${split.val.join(', ')}${why(split.val)}`);
  }
  const sum = (vs: DecodedVideo[]) => vs.reduce((a, v) => a + v.frames, 0);
  const record: DatasetRecord = {
    name: dataName(o.inputs),
    kind: 'video',
    imageSize: [...o.imageSize],
    frameStep: o.frameStep,
    fit: o.fit,
    files: train.length,
    frames: sum(train),
    valFiles: val.length,
    valFrames: sum(val),
  };
  return { valSplit, train, val, skipped: loaded.skipped, record };
}
