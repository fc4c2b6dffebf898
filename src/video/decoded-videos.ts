/**
 * Decoding the user's videos once (src/video/dataset.ts uses it): each file to uint8 frames of the config's
 * [H, W, C], kept in memory within a budget and written to a .npy cache beside a .json naming the source's size and
 * mtime, so a later session reads the cache and a changed source is decoded again; undecodable or too-short files
 * are reported, not fatal.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { errorMessage, UserError } from '../runtime/errors.js';
import { NpyFile, readNpy, writeNpy } from '../data/npy.js';
import { decodeFrames, type FitMode, type FrameChannels } from './decode.js';
import { probeVideo } from './probe.js';

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
