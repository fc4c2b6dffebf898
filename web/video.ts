/**
 * Frames of a video file with the browser's own decoder: a hidden <video>, frame-accurate seeks, and a
 * canvas to read each frame's pixels at a reduced size (resize.ts). Only the frames asked for are
 * decoded, one at a time, so a long or 4K video costs one small canvas, not its full-size frames.
 *
 * The frame rate is not exposed by <video>: it is found from the presentation times that
 * requestVideoFrameCallback reports after seeks (the time of frame 1 minus that of frame 0).
 *
 * Pixels: where WebCodecs can copy the decoded frame's planes (VideoFrame.copyTo), the luma plane is
 * read directly, as ffmpeg reads it for `crevnet predict`; otherwise the frame is drawn on a canvas and
 * luma is computed from RGB with the decoder's matrix.
 */
import { fitLuma, fitPlan, lumaFromRgba, readSize, type FitMode, type FitPlan, type Matrix } from './resize.js';

/** A problem with the user's input, shown in the page as it is. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export interface VideoInfo {
  name: string;
  /** file size, when known */
  bytes?: number;
  width: number;
  height: number;
  duration: number;
  fps: number;
  frameCount: number;
  /** true when the frame rate could not be measured and a default was assumed */
  fpsAssumed: boolean;
}

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

const SEEK_TIMEOUT_MS = 8000;
const LOAD_TIMEOUT_MS = 15000;

/** What the first bytes say the file is (container signatures), or undefined. */
export function sniffContainer(head: Uint8Array): string | undefined {
  const ascii = (a: number, b: number): string => String.fromCharCode(...head.subarray(a, b));
  if (head.length >= 8 && ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip'].includes(ascii(4, 8))) return 'mp4/mov';
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm/mkv';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'RIFF') return 'avi';
  if (ascii(0, 3) === 'FLV') return 'flv';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === 0xba) return 'mpeg';
  if (head.length >= 1 && head[0] === 0x47) return 'mpeg-ts';
  return undefined;
}

/** The media error in words (the browser's own message is an internal pipeline status, not for people). */
function mediaErrorText(v: HTMLVideoElement): string {
  const e = v.error;
  if (!e) return 'unknown error';
  const names: Record<number, string> = { 1: 'aborted', 2: 'network error', 3: 'decode error', 4: 'format not supported' };
  return names[e.code] ?? `media error ${e.code}`;
}

export class VideoReader {
  readonly info: VideoInfo;
  private readonly video: FrameCallbackVideo;
  private readonly canvas: HTMLCanvasElement;
  private firstTime: number;
  private closed = false;

  private constructor(video: FrameCallbackVideo, info: VideoInfo, firstTime: number) {
    this.video = video;
    this.info = info;
    this.firstTime = firstTime;
    this.canvas = document.createElement('canvas');
  }

  /**
   * Load the video's metadata and measure its frame rate and frame count. `head` is the file's first
   * bytes (to tell "not a video" from "a video this browser cannot decode").
   */
  static async open(url: string, name: string, opts: { bytes?: number; head?: Uint8Array } = {}): Promise<VideoReader> {
    const v = document.createElement('video') as FrameCallbackVideo;
    v.muted = true;
    v.playsInline = true;
    v.preload = 'auto';
    // in the page but invisible: a detached or display:none element may never present a frame
    v.className = 'decoder';
    document.body.append(v);
    const container = opts.head ? sniffContainer(opts.head) : undefined;
    const fail = (why: string): InputError => {
      v.remove();
      if (opts.head && !container) return new InputError(`${name} is not a video (the browser cannot read it as one: ${why})`);
      if (container === 'gif') return new InputError(`${name} is an animated GIF, which the page cannot decode; convert it to mp4 or webm (or use crevnet predict)`);
      return new InputError(`${name} cannot be decoded by this browser (${why}); the file may be damaged, or its codec unsupported here`);
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(fail('no picture after 15 s')), LOAD_TIMEOUT_MS);
        v.addEventListener('loadeddata', () => (clearTimeout(timer), resolve()), { once: true });
        v.addEventListener('error', () => (clearTimeout(timer), reject(fail(mediaErrorText(v)))), { once: true });
        v.src = url;
      });
    } catch (err) {
      v.removeAttribute('src');
      v.load();
      throw err;
    }
    if (!(v.videoWidth > 0 && v.videoHeight > 0)) throw fail('no video track');
    const duration = Number.isFinite(v.duration) ? v.duration : NaN;
    const reader = new VideoReader(v, { name, width: v.videoWidth, height: v.videoHeight, duration, fps: 0, frameCount: 0, fpsAssumed: false }, 0);
    if (opts.bytes !== undefined) reader.info.bytes = opts.bytes;
    try {
      await reader.measure();
    } catch (err) {
      reader.close();
      throw err;
    }
    return reader;
  }

  /** Seek to `t` seconds; resolves with the presentation time of the frame now shown (undefined if unknown). */
  private seek(t: number): Promise<number | undefined> {
    const v = this.video;
    return new Promise((resolve, reject) => {
      let seeked = false;
      let mediaTime: number | undefined;
      let framed = false;
      let late: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        cleanup();
        resolve(mediaTime);
      };
      const onSeeked = (): void => {
        seeked = true;
        // a browser without requestVideoFrameCallback, or one that shows the same frame, may not call it
        if (framed || !v.requestVideoFrameCallback) finish();
        else late = setTimeout(finish, 300);
      };
      const onError = (): void => {
        cleanup();
        reject(new InputError(`${this.info.name}: the browser could not decode the frame at ${t.toFixed(3)} s (${mediaErrorText(v)}); the file may be truncated or damaged`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new InputError(`${this.info.name}: the frame at ${t.toFixed(3)} s could not be decoded within ${SEEK_TIMEOUT_MS / 1000} s; the file may be truncated or damaged`));
      }, SEEK_TIMEOUT_MS);
      const handle = v.requestVideoFrameCallback?.((_now, meta) => {
        mediaTime = meta.mediaTime;
        framed = true;
        if (seeked) finish();
      });
      const cleanup = (): void => {
        clearTimeout(timer);
        if (late) clearTimeout(late);
        if (handle !== undefined) v.cancelVideoFrameCallback?.(handle);
        v.removeEventListener('seeked', onSeeked);
        v.removeEventListener('error', onError);
      };
      v.addEventListener('seeked', onSeeked);
      v.addEventListener('error', onError);
      v.currentTime = t;
    });
  }

  /** Frame rate from the first two frames' presentation times; frame count from the duration, checked at the end. */
  private async measure(): Promise<void> {
    const info = this.info;
    const t0 = await this.seek(0);
    if (t0 === undefined) {
      info.fps = 25;
      info.fpsAssumed = true;
    } else {
      this.firstTime = t0;
      const end = Number.isFinite(info.duration) ? info.duration : t0 + 1;
      // bisection for the first presentation time after t0: `lo` shows frame 0, `hi` is a later frame's time
      let lo = t0;
      let hi = Math.min(end, t0 + 1);
      const first = await this.seek(hi);
      if (first === undefined || first <= t0 + 1e-6) {
        // one frame per second or slower, or a single frame
        info.fps = first === undefined ? 25 : 1 / Math.max(1e-3, end - t0);
        info.fpsAssumed = first === undefined;
      } else {
        hi = first;
        while (hi - lo > 2e-4) {
          const mid = (lo + hi) / 2;
          const m = await this.seek(mid);
          if (m === undefined) break;
          if (m > t0 + 1e-6) hi = m;
          else lo = mid;
        }
        info.fps = 1 / (hi - t0);
      }
    }
    const span = Number.isFinite(info.duration) ? info.duration - this.firstTime : 0;
    let n = Math.max(1, Math.round(span * info.fps));
    if (!info.fpsAssumed) {
      // the container's duration may include a trailing gap: trust the last frame that can be reached
      const last = await this.seek(this.timeOf(n - 1));
      if (last !== undefined) n = Math.min(n, Math.round((last - this.firstTime) * info.fps) + 1);
    }
    info.frameCount = Math.max(1, n);
  }

  /** Seek target of frame i: the middle of its display interval. */
  private timeOf(i: number): number {
    return this.firstTime + (i + 0.5) / this.info.fps;
  }

  /** Frame i at the model's W×H, gray, fitted like `crevnet predict --fit`. */
  async frame(i: number, W: number, H: number, fit: FitMode): Promise<Uint8Array> {
    if (this.closed) throw new Error('the video has been closed');
    await this.seek(this.timeOf(i));
    const plan = fitPlan(this.info.width, this.info.height, W, H, fit);
    const planes = await this.lumaPlane(plan);
    if (planes.luma) return fitLuma(planes.luma, plan.crop.width, plan.crop.height, plan, W, H, planes.limited);
    return this.fromCanvas(plan, W, H, planes.matrix);
  }

  /**
   * The crop's limited- or full-range luma from the decoded frame's Y plane (WebCodecs), when the frame
   * is in a planar YUV format in memory and not rotated; else the matrix to use on RGB.
   */
  private async lumaPlane(plan: FitPlan): Promise<{ luma?: Uint8Array; limited: boolean; matrix: Matrix }> {
    const fallbackMatrix: Matrix = this.info.height >= 720 ? 'bt709' : 'bt601';
    if (typeof VideoFrame === 'undefined') return { limited: true, matrix: fallbackMatrix };
    let vf: VideoFrame;
    try {
      vf = new VideoFrame(this.video, { timestamp: 0 });
    } catch {
      return { limited: true, matrix: fallbackMatrix };
    }
    try {
      const m = vf.colorSpace.matrix;
      const matrix: Matrix = m === 'bt709' ? 'bt709' : m === 'smpte170m' || m === 'bt470bg' ? 'bt601' : fallbackMatrix;
      const limited = vf.colorSpace.fullRange !== true;
      const fmt = vf.format as string | null;
      const sub = fmt === 'I420' || fmt === 'I420A' || fmt === 'NV12' ? [2, 2] : fmt === 'I422' || fmt === 'I422A' ? [2, 1] : fmt === 'I444' || fmt === 'I444A' ? [1, 1] : undefined;
      const vis = vf.visibleRect;
      const rotated = ((vf as VideoFrame & { rotation?: number }).rotation ?? 0) !== 0 || (vf as VideoFrame & { flip?: boolean }).flip === true;
      if (!sub || !vis || rotated || vis.width !== this.info.width || vis.height !== this.info.height) {
        return { limited, matrix };
      }
      // copyTo wants a rectangle on the chroma grid: widen the crop to it, then cut the exact crop out
      const [sx, sy] = sub as [number, number];
      const c = plan.crop;
      const x0 = Math.floor((vis.x + c.x) / sx) * sx;
      const y0 = Math.floor((vis.y + c.y) / sy) * sy;
      const x1 = Math.min(vis.x + vis.width, Math.ceil((vis.x + c.x + c.width) / sx) * sx);
      const y1 = Math.min(vis.y + vis.height, Math.ceil((vis.y + c.y + c.height) / sy) * sy);
      const rect = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
      let buf: Uint8Array;
      let layout: PlaneLayout[];
      try {
        buf = new Uint8Array(vf.allocationSize({ rect }));
        layout = await vf.copyTo(buf, { rect });
      } catch {
        return { limited, matrix };
      }
      const { offset, stride } = layout[0]!;
      const luma = new Uint8Array(c.width * c.height);
      const dx = vis.x + c.x - x0;
      const dy = vis.y + c.y - y0;
      for (let y = 0; y < c.height; y++) {
        const from = offset + (dy + y) * stride + dx;
        luma.set(buf.subarray(from, from + c.width), y * c.width);
      }
      return { luma, limited, matrix };
    } finally {
      vf.close();
    }
  }

  /** The crop drawn on a canvas (reduced when large), luma from RGB. */
  private fromCanvas(plan: FitPlan, W: number, H: number, matrix: Matrix): Uint8Array {
    const { width: rw, height: rh } = readSize(plan);
    const c = this.canvas;
    if (c.width !== rw || c.height !== rh) {
      c.width = rw;
      c.height = rh;
    }
    const g = c.getContext('2d', { willReadFrequently: true, alpha: false });
    if (!g) throw new Error('no 2D canvas');
    g.imageSmoothingEnabled = true;
    g.imageSmoothingQuality = 'high';
    g.drawImage(this.video, plan.crop.x, plan.crop.y, plan.crop.width, plan.crop.height, 0, 0, rw, rh);
    const rgba = g.getImageData(0, 0, rw, rh).data;
    return fitLuma(lumaFromRgba(rgba, rw * rh, matrix), rw, rh, plan, W, H, false);
  }

  /** Frames [start, start + count) in order; `onFrame(done)` after each. */
  async frames(start: number, count: number, W: number, H: number, fit: FitMode, onFrame?: (done: number) => void): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      out.push(await this.frame(start + i, W, H, fit));
      onFrame?.(i + 1);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.video.removeAttribute('src');
    this.video.load();
    this.video.remove();
    this.canvas.width = 0;
    this.canvas.height = 0;
  }
}
