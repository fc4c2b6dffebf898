/**
 * decodeFrames / decodeGray: frames streamed through a pipe as raw 8-bit gray at the requested size (never temp
 * image files, never full-resolution frames in Node memory); optional frame window [start, start+maxFrames) or
 * the last n.
 */
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { InternalError, UserError } from '../runtime/errors.js';
import { cleanLine, command, firstLine, watch } from './command.js';
import { fitPlan, placeInFrame, type FitMode } from './fit.js';
import { probedStream, probeVideo, type VideoProbe } from './probe.js';

export { FIT_MODES, type FitMode } from './fit.js';

/** 1 = 8-bit gray, 3 = 8-bit RGB (interleaved) */
export type FrameChannels = 1 | 3;

/** ffmpeg's name of the raw pixel format for 1 or 3 channels. */
export function pixelFormat(channels: FrameChannels = 1): 'gray' | 'rgb24' {
  return channels === 3 ? 'rgb24' : 'gray';
}

export interface DecodeOptions {
  width: number;
  height: number;
  /** 1 (gray, default) or 3 (RGB) bytes per pixel */
  channels?: FrameChannels;
  /** crop: fill the frame, cut the overflow (centred); pad: letterbox with black; stretch: ignore the aspect ratio */
  fit: FitMode;
  /** at most this many frames (from `start`) */
  maxFrames?: number;
  /** index of the first frame to return (frames before it are decoded and dropped before scaling) */
  start?: number;
  /** return only the last `last` frames of the video (cannot be combined with start/maxFrames) */
  last?: number;
  /** result of probeVideo, to avoid probing twice */
  probe?: VideoProbe;
}

/**
 * The -vf chain that turns the (coded) source into gray or RGB at the fitted size: rotation, the crop (exact, not
 * rounded to the chroma grid), the scale, the pixel format. Padding to W×H is done on the frames (placeInFrame).
 */
export function decodeFilters(
  probe: VideoProbe,
  o: { width: number; height: number; fit: FitMode; start?: number; channels?: FrameChannels },
): string[] {
  const f: string[] = [];
  if (o.start && o.start > 0) f.push(`trim=start_frame=${o.start}`);
  if (probe.rotation === 90) f.push('transpose=clock');
  else if (probe.rotation === 270) f.push('transpose=cclock');
  else if (probe.rotation === 180) f.push('hflip', 'vflip');
  const p = fitPlan(probe.width, probe.height, o.width, o.height, o.fit);
  if (p.crop.width !== probe.width || p.crop.height !== probe.height) {
    // cut the source to the target's aspect ratio at full resolution, then scale down
    f.push(`crop=${p.crop.width}:${p.crop.height}:${p.crop.x}:${p.crop.y}:exact=1`);
  }
  f.push(`scale=${p.scaled.width}:${p.scaled.height}:flags=area`, `format=${pixelFormat(o.channels)}`);
  return f;
}

interface RawDecode {
  frames: Uint8Array[];
  /** frames seen in the pipe (more than frames.length when a ring buffer kept only the last ones) */
  seen: number;
  /** ffmpeg's stderr lines (errors only; -v error) */
  stderr: string[];
}

/** One ffmpeg run: raw frames through stdout, cut into exact W·H·C frames. `keepLast` → ring buffer. */
function runDecode(
  abs: string,
  display: string,
  probe: VideoProbe,
  o: { width: number; height: number; fit: FitMode; channels?: FrameChannels; start?: number; frames?: number; keepLast?: number; seek?: number },
): Promise<RawDecode> {
  const C = o.channels ?? 1;
  // ffmpeg delivers the fitted picture; with --fit pad it is placed in the W×H frame here
  const plan = fitPlan(probe.width, probe.height, o.width, o.height, o.fit);
  const padded = plan.scaled.width !== o.width || plan.scaled.height !== o.height;
  const frameBytes = plan.scaled.width * plan.scaled.height * C;
  const meta = probedStream(probe);
  const inputOptions = ['-v', 'error', '-nostdin', '-noautorotate'];
  if (o.seek !== undefined && o.seek > 0) inputOptions.push('-ss', o.seek.toFixed(3));
  const outputOptions = [
    '-map', `0:${meta && meta.path === abs ? meta.streamIndex : 'v:0'}`,
    '-an', '-sn', '-dn',
    '-vsync', 'passthrough',
    '-pix_fmt', pixelFormat(C),
  ];
  if (o.frames !== undefined) outputOptions.push('-frames:v', String(o.frames));
  const cmd = command()
    .input(abs)
    .inputOptions(inputOptions)
    .videoFilters(decodeFilters(probe, o))
    .outputOptions(outputOptions)
    .format('rawvideo');
  const { stderr, done } = watch(cmd);
  // fluent-ffmpeg reports "Output stream closed" as an error when the pipe closes more than 20 ms
  // before the ffmpeg process exits, which happens on a loaded machine. A stream that does not
  // destroy itself at its end never emits 'close', so success or failure comes from the exit code.
  const out = new PassThrough({ autoDestroy: false });
  cmd.pipe(out, { end: true });

  return (async () => {
    const frames: Uint8Array[] = [];
    let seen = 0;
    let cur: Uint8Array = new Uint8Array(frameBytes);
    let fill = 0;
    const take = (chunk: Buffer): void => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - fill, chunk.length - off);
        cur.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === frameBytes) {
          seen++;
          frames.push(padded ? placeInFrame(cur, plan, o.width, o.height, C) : cur);
          const evicted = o.keepLast !== undefined && frames.length > o.keepLast ? frames.shift() : undefined;
          // reuse the evicted buffer; a padded frame is a copy, so `cur` itself can be refilled
          if (!padded) cur = evicted ?? new Uint8Array(frameBytes);
          fill = 0;
        }
      }
    };
    try {
      // events, not for-await: async iteration destroys the stream at its end (→ 'close', see above)
      await new Promise<void>((res, rej) => {
        out.on('data', take);
        out.once('end', res);
        out.once('error', rej);
      });
    } catch (err) {
      cmd.kill('SIGKILL');
      out.destroy();
      throw err;
    }
    try {
      await done;
    } catch (err) {
      const why = firstLine(stderr, abs) ?? cleanLine((err as Error).message.split('\n')[0] ?? 'ffmpeg failed', abs);
      throw new UserError(`${display}: cannot decode the video (${why}); is the file truncated or damaged?`);
    } finally {
      out.destroy();
    }
    if (fill !== 0) {
      const why = firstLine(stderr, abs);
      throw new UserError(
        `${display}: ffmpeg stopped in the middle of a frame (${fill} of ${frameBytes} bytes)${why ? `: ${why}` : ''}`,
      );
    }
    return { frames, seen, stderr };
  })();
}

/** Decode a video to 8-bit gray frames of exactly width×height (one Uint8Array of W·H bytes per frame). */
export function decodeGray(path: string, o: Omit<DecodeOptions, 'channels'>): Promise<Uint8Array[]> {
  return decodeFrames(path, { ...o, channels: 1 });
}

/**
 * Decode a video to 8-bit frames of exactly width×height×channels (one Uint8Array of W·H·C bytes per frame,
 * channels interleaved, the model's [H, W, C] layout). Frames are scaled inside ffmpeg (flags=area) and streamed
 * through a pipe; only the requested frames are kept.
 */
export async function decodeFrames(path: string, o: DecodeOptions): Promise<Uint8Array[]> {
  if (!(Number.isInteger(o.width) && o.width > 0 && Number.isInteger(o.height) && o.height > 0)) {
    throw new InternalError(`decodeFrames: bad size ${o.width}x${o.height}`);
  }
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) {
    throw new InternalError(`decodeFrames: channels must be 1 or 3, got ${String(o.channels)}`);
  }
  if (o.last !== undefined && (o.start !== undefined || o.maxFrames !== undefined)) {
    throw new InternalError('decodeFrames: `last` cannot be combined with `start`/`maxFrames`');
  }
  const abs = resolve(path);
  const probe = o.probe ?? (await probeVideo(path));
  const base = { width: o.width, height: o.height, fit: o.fit, channels: o.channels ?? 1 };
  const truncated = (got: number, expected: number, stderr: string[]): UserError =>
    new UserError(
      `${path}: decoded only ${got} of the ${expected} frames the container announces (${
        firstLine(stderr, abs) ?? 'no error message'
      }); the file is probably truncated or damaged`,
    );

  if (o.last !== undefined) {
    const n = o.last;
    if (!(Number.isInteger(n) && n > 0)) throw new InternalError(`decodeFrames: bad last=${n}`);
    const skip = Math.max(0, probe.frameCount - n);
    // Long video: seek close to the end (keyframe seek + exact decode), keep the last n frames in a ring.
    const margin = 2 + n / probe.fps;
    const seekTo = skip / probe.fps - margin;
    if (seekTo > 5) {
      const r = await runDecode(abs, path, probe, { ...base, keepLast: n, seek: seekTo });
      if (r.frames.length === n && r.seen > n) return r.frames;
    } else if (skip > 0) {
      const r = await runDecode(abs, path, probe, { ...base, keepLast: n, start: skip });
      if (r.frames.length === n) return r.frames;
    }
    // Short video, or the container's frame count was off: decode everything, keep the last n.
    const r = await runDecode(abs, path, probe, { ...base, keepLast: n });
    const expected = Math.min(n, probe.frameCount);
    if (r.frames.length < expected && r.stderr.length > 0) throw truncated(r.seen, probe.frameCount, r.stderr);
    return r.frames;
  }

  const start = o.start ?? 0;
  if (!(Number.isInteger(start) && start >= 0)) throw new InternalError(`decodeFrames: bad start=${start}`);
  if (o.maxFrames !== undefined && !(Number.isInteger(o.maxFrames) && o.maxFrames >= 0)) {
    throw new InternalError(`decodeFrames: bad maxFrames=${o.maxFrames}`);
  }
  if (o.maxFrames === 0) return [];
  const r = await runDecode(abs, path, probe, { ...base, start, frames: o.maxFrames });
  const expected = Math.min(o.maxFrames ?? Infinity, Math.max(0, probe.frameCount - start));
  if (r.frames.length < expected && r.stderr.length > 0) throw truncated(start + r.frames.length, probe.frameCount, r.stderr);
  return r.frames;
}
