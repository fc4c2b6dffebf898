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
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { errorMessage, UserError } from '../runtime/errors.js';
import { NpyFile, readNpy, writeNpy } from '../data/npy.js';
import type { Rng, RngState } from '../data/rng.js';
import type { DatasetRecord } from '../data/dataset-record.js';
import { decodeFrames, type FitMode, type FrameChannels } from './decode.js';
import { probeVideo } from './probe.js';
import { expandInputs } from './inputs.js';

/** Default bytes of decoded frames kept in memory (the rest is read from the .npy cache). */
export const DEFAULT_MEMORY_BUDGET = 2 * 1024 ** 3;
/** Version of the cache files' layout; a cache written by another version is decoded again. */
const CACHE_VERSION = 1;

export type ImageSize = [number, number, number];

/** One usable video: its decoded frames (in memory, or in an open .npy cache file). */
export interface DecodedVideo {
  /** path as given (or as expanded from a directory/glob) */
  path: string;
  /** decoded frames */
  frames: number;
  /** uint8 (frames, H, W, C), when held in memory */
  data?: Uint8Array;
  /** the .npy cache, when the frames are read from disk */
  npy?: NpyFile;
  /** true when the frames came from the .npy cache (no ffmpeg run) */
  cached: boolean;
}

export interface SkippedVideo {
  path: string;
  reason: string;
}

export interface DecodeProgress {
  /** files finished (decoded, read from the cache or skipped) */
  done: number;
  total: number;
  /** frames decoded or read so far */
  frames: number;
  /** files read from the .npy cache so far (no ffmpeg run) */
  cached: number;
  seconds: number;
  /** the file just finished */
  file: string;
}

export interface LoadOptions {
  imageSize: ImageSize;
  fit: FitMode;
  /** a usable file has at least this many frames (one window) */
  minFrames: number;
  /** directory for .npy caches (created when needed); none = memory only */
  cacheDir?: string;
  /** bytes of decoded frames kept in memory; beyond it frames are read from the cache (needs cacheDir) */
  memoryBudget?: number;
  /** ffmpeg processes at once (default min(2, cores)) */
  concurrency?: number;
  onProgress?: (p: DecodeProgress) => void;
  onSkip?: (s: SkippedVideo) => void;
}

export function checkImageSize(imageSize: readonly number[]): FrameChannels {
  const c = imageSize[2];
  if (c !== 1 && c !== 3) throw new UserError(`videos decode to 1 (gray) or 3 (RGB) channels; the model's imageSize has ${String(c)}`);
  return c;
}

/** Frames a window of `frames` frames spans with every `frameStep`-th frame taken. */
export function windowSpan(frames: number, frameStep: number): number {
  return (frames - 1) * frameStep + 1;
}

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

interface CacheMeta {
  version: number;
  source: string;
  bytes: number;
  mtimeMs: number;
  imageSize: ImageSize;
  fit: FitMode;
  frames: number;
}

/** Cache file names for `path` decoded at `imageSize`/`fit`: <name>-<hash>.npy and .json. */
export function cachePaths(cacheDir: string, path: string, imageSize: ImageSize, fit: FitMode): { npy: string; meta: string } {
  const abs = resolve(path);
  const h = createHash('sha256').update(`${abs}\n${imageSize.join('x')}\n${fit}`).digest('hex').slice(0, 12);
  const name = basename(abs, extname(abs)).replace(/[^\w.-]+/g, '_').slice(0, 60) || 'video';
  const stem = join(cacheDir, `${name}-${h}`);
  return { npy: `${stem}.npy`, meta: `${stem}.json` };
}

/** The cache's .json, written atomically (temp file + rename) after its .npy. */
async function writeMeta(path: string, meta: CacheMeta): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readMeta(path: string): Promise<CacheMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CacheMeta;
  } catch {
    return undefined;
  }
}

function sameSource(m: CacheMeta | undefined, want: Omit<CacheMeta, 'frames'>): m is CacheMeta {
  return (
    m !== undefined &&
    m.version === want.version &&
    m.source === want.source &&
    m.bytes === want.bytes &&
    m.mtimeMs === want.mtimeMs &&
    m.fit === want.fit &&
    JSON.stringify(m.imageSize) === JSON.stringify(want.imageSize)
  );
}

/** Decode one video (or read its cache). Returns the frames as one contiguous array, or the open cache file. */
async function loadOne(
  path: string,
  o: LoadOptions,
  keepInMemory: () => boolean,
  account: (bytes: number) => void,
): Promise<DecodedVideo> {
  const [H, W, C] = o.imageSize;
  const frameBytes = H * W * C;
  const abs = resolve(path);
  const st = await stat(abs);
  const want = { version: CACHE_VERSION, source: abs, bytes: st.size, mtimeMs: st.mtimeMs, imageSize: o.imageSize, fit: o.fit };
  const cache = o.cacheDir ? cachePaths(o.cacheDir, path, o.imageSize, o.fit) : undefined;
  if (cache && existsSync(cache.npy)) {
    const meta = await readMeta(cache.meta);
    if (sameSource(meta, want)) {
      try {
        const f = await NpyFile.open(cache.npy);
        const ok = f.dtype === 'uint8' && f.shape.length === 4 && f.shape[0] === meta.frames && f.shape[1] === H && f.shape[2] === W && f.shape[3] === C;
        if (ok) {
          if (keepInMemory()) {
            await f.close();
            const arr = await readNpy(cache.npy);
            account(arr.data.length);
            return { path, frames: meta.frames, data: arr.data as Uint8Array, cached: true };
          }
          return { path, frames: meta.frames, npy: f, cached: true };
        }
        await f.close();
      } catch {
        // an unreadable cache is decoded again
      }
    }
  }
  const frames = await decodeFrames(path, { width: W, height: H, channels: C as FrameChannels, fit: o.fit });
  // a too-short file is reported by the caller; nothing is cached for it
  if (frames.length < o.minFrames) return { path, frames: frames.length, cached: false };
  const data = new Uint8Array(frames.length * frameBytes);
  frames.forEach((f, i) => data.set(f, i * frameBytes));
  frames.length = 0;
  if (cache && data.length > 0) {
    await mkdir(o.cacheDir!, { recursive: true });
    await writeNpy(cache.npy, { dtype: 'uint8', shape: [data.length / frameBytes, H, W, C], data });
    await writeMeta(cache.meta, { ...want, frames: data.length / frameBytes });
  }
  const n = data.length / frameBytes;
  if (cache && n > 0 && !keepInMemory()) return { path, frames: n, npy: await NpyFile.open(cache.npy), cached: false };
  account(data.length);
  return { path, frames: n, data, cached: false };
}

/**
 * Decode (or read from the cache) every file; unreadable or too-short files are skipped and reported through
 * `onSkip` (once each). Returns the usable videos in the order of `files`.
 */
export async function loadVideos(files: string[], o: LoadOptions): Promise<{ videos: DecodedVideo[]; skipped: SkippedVideo[] }> {
  checkImageSize(o.imageSize);
  const budget = o.cacheDir ? (o.memoryBudget ?? DEFAULT_MEMORY_BUDGET) : Infinity;
  let inMemory = 0;
  const results: (DecodedVideo | SkippedVideo)[] = new Array(files.length);
  const t0 = performance.now();
  let done = 0;
  let frames = 0;
  let cached = 0;
  let next = 0;
  const frameBytes = o.imageSize[0] * o.imageSize[1] * o.imageSize[2];
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      const path = files[i]!;
      let r: DecodedVideo | SkippedVideo;
      try {
        // probing first gives the clear message for a file that is not a video at all
        await probeVideo(path);
        // the budget is checked before the frames exist: a file is kept in memory when what is held so far fits
        r = await loadOne(path, o, () => inMemory + frameBytes <= budget, (b) => (inMemory += b));
        if (r.frames < o.minFrames) {
          await r.npy?.close();
          if (r.data) inMemory -= r.data.length;
          r = { path, reason: `too short: ${r.frames} frame${r.frames === 1 ? '' : 's'}, a window needs ${o.minFrames}` };
        }
      } catch (err) {
        const msg = errorMessage(err);
        r = { path, reason: msg.startsWith(path) ? msg.slice(path.length).replace(/^[:\s]+/, '').replace(/^is /, '') : msg };
      }
      results[i] = r;
      done++;
      if ('frames' in r) {
        frames += r.frames;
        if (r.cached) cached++;
      } else o.onSkip?.(r);
      o.onProgress?.({ done, total: files.length, frames, cached, seconds: (performance.now() - t0) / 1000, file: path });
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? Math.min(2, availableParallelism()), files.length));
  await Promise.all(Array.from({ length: n }, worker));
  const videos = results.filter((r): r is DecodedVideo => 'frames' in r);
  const skipped = results.filter((r): r is SkippedVideo => !('frames' in r));
  return { videos, skipped };
}

/** Close the cache files of `videos` (frames in memory need nothing). */
export async function closeVideos(videos: DecodedVideo[]): Promise<void> {
  for (const v of videos) await v.npy?.close();
}

/** Where a window comes from: video index and first frame. */
export interface WindowRef {
  video: number;
  start: number;
}

/**
 * Copy window `w` (frames start, start+k, … of video w.video) into the time-major batch `out` [T, B, H, W, C] as
 * sequence `b`.
 */
export async function readWindow(
  videos: DecodedVideo[],
  w: WindowRef,
  frames: number,
  frameStep: number,
  frameBytes: number,
  out: Uint8Array,
  b: number,
  batch: number,
): Promise<void> {
  const v = videos[w.video]!;
  for (let t = 0; t < frames; t++) {
    const f = w.start + t * frameStep;
    const dst = out.subarray((t * batch + b) * frameBytes, (t * batch + b + 1) * frameBytes);
    if (v.data) dst.set(v.data.subarray(f * frameBytes, (f + 1) * frameBytes));
    else await v.npy!.readElementsInto(f * frameBytes, dst);
  }
}

/** The windows of one video a random draw can pick: every start with a whole window after it. */
function startsOf(v: DecodedVideo, span: number): number {
  return Math.max(0, v.frames - span + 1);
}

/**
 * Endless training windows: each sequence draws one index uniformly over all windows of all videos from the Rng
 * (advanced in place), so `rngState()` after a batch resumes the stream exactly. Batches are uint8 time-major
 * [T, B, H, W, C], like MovingMnistStream's.
 */
export class VideoWindowStream {
  private readonly cumulative: number[] = [];
  readonly windows: number;
  readonly frameBytes: number;
  /** where the sequences of the last batch came from (tests, diagnostics) */
  lastWindows: WindowRef[] = [];
  /** seconds spent in nextBatch so far (the data-wait share of training) */
  waitSeconds = 0;

  constructor(
    readonly videos: DecodedVideo[],
    readonly frames: number,
    readonly frameStep: number,
    readonly imageSize: ImageSize,
    private readonly rng: Rng,
  ) {
    const span = windowSpan(frames, frameStep);
    let total = 0;
    for (const v of videos) {
      total += startsOf(v, span);
      this.cumulative.push(total);
    }
    if (total < 1) throw new UserError(`no video has a whole window of ${frames} frames (every ${frameStep}. frame spans ${span})`);
    if (total > 2 ** 32) throw new UserError(`too many windows (${total}) for one draw; use fewer or shorter videos`);
    this.windows = total;
    this.frameBytes = imageSize[0] * imageSize[1] * imageSize[2];
  }

  /** Window index i (0 ≤ i < windows) → video and start frame. */
  locate(i: number): WindowRef {
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > i) hi = mid;
      else lo = mid + 1;
    }
    const before = lo === 0 ? 0 : this.cumulative[lo - 1]!;
    return { video: lo, start: i - before };
  }

  async nextBatch(batch: number): Promise<Uint8Array> {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    const t0 = performance.now();
    const out = new Uint8Array(this.frames * batch * this.frameBytes);
    const refs: WindowRef[] = [];
    for (let b = 0; b < batch; b++) refs.push(this.locate(this.rng.int(this.windows)));
    for (let b = 0; b < batch; b++) await readWindow(this.videos, refs[b]!, this.frames, this.frameStep, this.frameBytes, out, b, batch);
    this.lastWindows = refs;
    this.waitSeconds += (performance.now() - t0) / 1000;
    return out;
  }

  rngState(): RngState {
    return this.rng.state();
  }
}

/**
 * Fixed evaluation windows: the non-overlapping windows of every video (starts 0, T·k, 2·T·k, …), taken
 * round-robin over the videos (first window of each, then the second of each, …), at most `cap`.
 */
export function fixedWindows(videos: DecodedVideo[], frames: number, frameStep: number, cap = Infinity): WindowRef[] {
  const span = windowSpan(frames, frameStep);
  const stride = frames * frameStep;
  const per = videos.map((v) => (v.frames >= span ? Math.floor((v.frames - span) / stride) + 1 : 0));
  const out: WindowRef[] = [];
  for (let j = 0; out.length < cap; j++) {
    let any = false;
    for (let v = 0; v < videos.length && out.length < cap; v++) {
      if (j < per[v]!) {
        out.push({ video: v, start: j * stride });
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

/** The windows `refs` as one uint8 time-major array [T, N, H, W, C]. */
export async function materialiseWindows(videos: DecodedVideo[], refs: WindowRef[], frames: number, frameStep: number, imageSize: ImageSize): Promise<Uint8Array> {
  const frameBytes = imageSize[0] * imageSize[1] * imageSize[2];
  const out = new Uint8Array(frames * refs.length * frameBytes);
  for (let i = 0; i < refs.length; i++) await readWindow(videos, refs[i]!, frames, frameStep, frameBytes, out, i, refs.length);
  return out;
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
