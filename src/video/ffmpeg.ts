/**
 * The only module that talks to ffmpeg/ffprobe (through fluent-ffmpeg; runtime.md §7).
 * Binaries come from src/runtime/ffmpeg-paths.ts.
 *
 * - probeVideo: size (as displayed, after rotation), frame rate, frame count (`-count_frames` only when the
 *   container does not state nb_frames), rotation, duration, codec; a clear UserError for files that are not
 *   readable videos.
 * - decodeGray: frames streamed through a pipe as raw 8-bit gray at the requested size (never temp image files,
 *   never full-resolution frames in Node memory); optional frame window [start, start+maxFrames) or the last n.
 * - encodeFrames: gray frames → mp4 (libx264 yuv420p crf 18 +faststart), gif (gray palette, loop 0) or png
 *   (all frames tiled into one image); written to a temp file in the target directory, then renamed.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { InternalError, UserError } from '../runtime/errors.js';
import { ffmpegBinary, ffprobeBinary } from '../runtime/ffmpeg-paths.js';
import { tileFrames } from './frames.js';

export type FitMode = 'crop' | 'pad' | 'stretch';
export type VideoFormat = 'mp4' | 'gif' | 'png';
export const FIT_MODES: readonly FitMode[] = ['crop', 'pad', 'stretch'];
export const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'gif', 'png'];

export interface VideoProbe {
  /** displayed width, i.e. after applying `rotation` */
  width: number;
  /** displayed height, i.e. after applying `rotation` */
  height: number;
  /** frames per second (average frame rate; r_frame_rate when the average is unknown) */
  fps: number;
  /** number of video frames (nb_frames, or counted by decoding when the container does not say) */
  frameCount: number;
  /** clockwise rotation in degrees (0, 90, 180, 270) that the player applies to the coded frames */
  rotation: number;
  /** seconds */
  duration: number;
  /** ffprobe codec_name, e.g. h264 */
  codec: string;
}

export interface DecodeOptions {
  width: number;
  height: number;
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

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  out: string;
  format: VideoFormat;
}

/** File extensions treated as videos when a directory is given (lower case, without the dot). */
export const VIDEO_EXTENSIONS = [
  'mp4', 'm4v', 'mov', 'mkv', 'webm', 'avi', 'mpg', 'mpeg', 'ts', 'mts', 'm2ts', 'wmv', 'flv', 'ogv', '3gp', 'gif',
] as const;

// ---------------------------------------------------------------------------------------------------------------

function command(): ffmpeg.FfmpegCommand {
  const cmd = ffmpeg({ stdoutLines: 50 });
  cmd.setFfmpegPath(ffmpegBinary().path);
  cmd.setFfprobePath(ffprobeBinary().path);
  return cmd;
}

/** "[h264 @ 0x55d0c] Invalid NAL unit size" → "h264: Invalid NAL unit size"; the input's full path → its name. */
function cleanLine(line: string, path?: string): string {
  let s = line.trim().replace(/^\[([^\]@]+?) @ 0x[0-9a-fA-F]+\]\s*/, '$1: ');
  if (path) s = s.split(path).join(basename(path));
  return s;
}

function firstLine(lines: string[], path?: string): string | undefined {
  const l = lines.find((x) => x.trim().length > 0);
  return l === undefined ? undefined : cleanLine(l, path);
}

/** `abs` is checked, `path` (as the user gave it) is shown. */
async function checkReadableFile(abs: string, path: string): Promise<number> {
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`${path}: no such file`);
    throw new UserError(`${path}: cannot access (${code ?? String(err)})`);
  }
  if (st.isDirectory()) throw new UserError(`${path} is a directory, not a video file`);
  if (!st.isFile()) throw new UserError(`${path} is not a regular file`);
  try {
    await access(abs, constants.R_OK);
  } catch {
    throw new UserError(`${path}: permission denied (cannot read the file)`);
  }
  if (st.size === 0) throw new UserError(`${path} is empty (0 bytes), not a video`);
  return st.size;
}

/** True when the file starts like an ISO-BMFF (mp4/mov/3gp) container: a box whose type is ftyp/moov/mdat/… */
async function looksLikeMp4(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(12);
    const { bytesRead } = await fh.read(buf, 0, 12, 0);
    if (bytesRead < 8) return false;
    return ['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip'].includes(buf.toString('latin1', 4, 8));
  } finally {
    await fh.close();
  }
}

type ProbeData = ffmpeg.FfprobeData;
type ProbeStream = ffmpeg.FfprobeStream & Record<string, unknown>;

function runProbe(path: string, options: string[]): Promise<ProbeData> {
  return new Promise((resolvePromise, reject) => {
    command()
      .input(path)
      .ffprobe(['-v', 'error', ...options], (err: unknown, data: ProbeData) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolvePromise(data);
      });
  });
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && v !== 'N/A') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function rate(v: unknown): number | undefined {
  if (typeof v === 'number') return v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const d = m[2] === undefined ? 1 : Number(m[2]);
  if (!(n > 0) || !(d > 0)) return undefined;
  return n / d;
}

/** Clockwise rotation in {0, 90, 180, 270}: the legacy `rotate` tag is clockwise, display-matrix side data
 *  (ffprobe's `rotation`) is counter-clockwise. */
function rotationOf(s: ProbeStream): number {
  const tag = num(s.tags?.rotate);
  let cw: number | undefined = tag;
  if (cw === undefined) {
    const ccw = num(s.rotation);
    if (ccw !== undefined) cw = -ccw;
  }
  if (cw === undefined) return 0;
  return (((Math.round(cw / 90) * 90) % 360) + 360) % 360;
}

/** Index of the first real video stream (not cover art), or -1. */
function pickVideoStream(data: ProbeData): number {
  return data.streams.findIndex(
    (s) => s.codec_type === 'video' && !(s.disposition && Number(s.disposition.attached_pic) === 1),
  );
}

const probeCache = new WeakMap<VideoProbe, { streamIndex: number; path: string }>();

/** Probe a video file; a UserError with a clear message for anything that is not a readable video. */
export async function probeVideo(path: string): Promise<VideoProbe> {
  const abs = resolve(path);
  await checkReadableFile(abs, path);
  let data: ProbeData;
  try {
    data = await runProbe(abs, []);
  } catch (err) {
    if (err instanceof UserError) throw err; // e.g. no ffprobe binary
    const lines = (err instanceof Error ? err.message : String(err)).split('\n').slice(1);
    const why = firstLine(lines, abs) ?? 'ffprobe failed';
    if (await looksLikeMp4(abs)) {
      throw new UserError(`${path}: cannot read this MP4/MOV file (${why}); it is probably truncated or damaged`);
    }
    throw new UserError(`${path} is not a video file ffmpeg can read (${why})`);
  }
  const idx = pickVideoStream(data);
  if (idx < 0) {
    const kinds = [...new Set(data.streams.map((s) => s.codec_type ?? 'unknown'))];
    const what = kinds.length === 0 ? 'no streams at all' : `only ${kinds.join(' and ')}`;
    throw new UserError(`${path} has no video stream (it contains ${what})`);
  }
  const s = data.streams[idx] as ProbeStream;
  const codedW = num(s.width) ?? 0;
  const codedH = num(s.height) ?? 0;
  if (!(codedW > 0 && codedH > 0)) {
    throw new UserError(`${path}: the video stream has no frame size (is the file damaged?)`);
  }
  const rotation = rotationOf(s);
  const swap = rotation === 90 || rotation === 270;
  let frameCount = num(s.nb_frames);
  let duration = num(s.duration) ?? num(data.format?.duration);
  let fps = rate(s.avg_frame_rate) ?? rate(s.r_frame_rate);
  if (!(frameCount !== undefined && frameCount > 0)) {
    // The container does not say: count by decoding (slow for long files, so only here).
    let counted: ProbeData;
    try {
      counted = await runProbe(abs, ['-count_frames', '-select_streams', String(s.index ?? idx)]);
    } catch (err) {
      const lines = (err instanceof Error ? err.message : String(err)).split('\n').slice(1);
      throw new UserError(`${path}: cannot count the frames (${firstLine(lines, abs) ?? 'ffprobe failed'})`);
    }
    const cs = counted.streams[0] as ProbeStream | undefined;
    frameCount = num(cs?.nb_read_frames) ?? 0;
  }
  if (!(frameCount > 0)) throw new UserError(`${path}: the video stream has no decodable frames`);
  if (fps === undefined && duration !== undefined && duration > 0) fps = frameCount / duration;
  if (fps === undefined) fps = 25;
  if (duration === undefined || !(duration > 0)) duration = frameCount / fps;
  const probe: VideoProbe = {
    width: swap ? codedH : codedW,
    height: swap ? codedW : codedH,
    fps,
    frameCount,
    rotation,
    duration,
    codec: String(s.codec_name ?? 'unknown'),
  };
  probeCache.set(probe, { streamIndex: Number(s.index ?? idx), path: abs });
  return probe;
}

// ---------------------------------------------------------------------------------------------------------------

function even(n: number): number {
  return n % 2 === 0 ? n : n + 1;
}

/** The -vf chain that turns the (coded) source into W×H gray: rotation, then the fit, then gray. */
export function decodeFilters(probe: VideoProbe, o: { width: number; height: number; fit: FitMode; start?: number }): string[] {
  const { width: W, height: H } = o;
  const f: string[] = [];
  if (o.start && o.start > 0) f.push(`trim=start_frame=${o.start}`);
  if (probe.rotation === 90) f.push('transpose=clock');
  else if (probe.rotation === 270) f.push('transpose=cclock');
  else if (probe.rotation === 180) f.push('hflip', 'vflip');
  const sw = probe.width;
  const sh = probe.height;
  if (o.fit === 'stretch' || sw * H === sh * W) {
    f.push(`scale=${W}:${H}:flags=area`, 'format=gray');
  } else if (o.fit === 'crop') {
    // cut the source to the target's aspect ratio (centred) at full resolution, then scale down
    const cw = Math.max(1, Math.min(sw, Math.round((sh * W) / H)));
    const ch = Math.max(1, Math.min(sh, Math.round((sw * H) / W)));
    const x = Math.floor((sw - cw) / 2);
    const y = Math.floor((sh - ch) / 2);
    f.push(`crop=${cw}:${ch}:${x}:${y}`, `scale=${W}:${H}:flags=area`, 'format=gray');
  } else {
    const s = Math.min(W / sw, H / sh);
    const nw = Math.max(1, Math.min(W, Math.round(sw * s)));
    const nh = Math.max(1, Math.min(H, Math.round(sh * s)));
    const x = Math.floor((W - nw) / 2);
    const y = Math.floor((H - nh) / 2);
    f.push(`scale=${nw}:${nh}:flags=area`, 'format=gray', `pad=${W}:${H}:${x}:${y}:black`);
  }
  return f;
}

interface RawDecode {
  frames: Uint8Array[];
  /** frames seen in the pipe (more than frames.length when a ring buffer kept only the last ones) */
  seen: number;
  /** ffmpeg's stderr lines (errors only; -v error) */
  stderr: string[];
}

/** One ffmpeg run: raw gray frames through stdout, cut into exact W·H frames. `keepLast` → ring buffer. */
function runDecode(
  abs: string,
  display: string,
  probe: VideoProbe,
  o: { width: number; height: number; fit: FitMode; start?: number; frames?: number; keepLast?: number; seek?: number },
): Promise<RawDecode> {
  const frameBytes = o.width * o.height;
  const meta = probeCache.get(probe);
  const inputOptions = ['-v', 'error', '-nostdin', '-noautorotate'];
  if (o.seek !== undefined && o.seek > 0) inputOptions.push('-ss', o.seek.toFixed(3));
  const outputOptions = [
    '-map', `0:${meta && meta.path === abs ? meta.streamIndex : 'v:0'}`,
    '-an', '-sn', '-dn',
    '-vsync', 'passthrough',
    '-pix_fmt', 'gray',
  ];
  if (o.frames !== undefined) outputOptions.push('-frames:v', String(o.frames));
  const cmd = command()
    .input(abs)
    .inputOptions(inputOptions)
    .videoFilters(decodeFilters(probe, o))
    .outputOptions(outputOptions)
    .format('rawvideo');
  const stderr: string[] = [];
  cmd.on('stderr', (line: string) => {
    if (stderr.length < 20 && line.trim()) stderr.push(line);
  });
  const done = new Promise<void>((res, rej) => {
    cmd.on('end', () => res());
    cmd.on('error', (err: Error) => rej(err));
  });
  done.catch(() => undefined); // observed below; avoid an unhandled rejection while the pipe drains
  const out = cmd.pipe() as PassThrough;

  return (async () => {
    const frames: Uint8Array[] = [];
    let seen = 0;
    let cur: Uint8Array = new Uint8Array(frameBytes);
    let fill = 0;
    try {
      for await (const chunk of out as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(frameBytes - fill, chunk.length - off);
          cur.set(chunk.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === frameBytes) {
            seen++;
            frames.push(cur);
            if (o.keepLast !== undefined && frames.length > o.keepLast) {
              cur = frames.shift() as Uint8Array; // reuse the evicted buffer
            } else {
              cur = new Uint8Array(frameBytes);
            }
            fill = 0;
          }
        }
      }
    } catch (err) {
      cmd.kill('SIGKILL');
      throw err;
    }
    try {
      await done;
    } catch (err) {
      const why = firstLine(stderr, abs) ?? cleanLine((err as Error).message.split('\n')[0] ?? 'ffmpeg failed', abs);
      throw new UserError(`${display}: cannot decode the video (${why}); is the file truncated or damaged?`);
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

/**
 * Decode a video to 8-bit gray frames of exactly width×height (one Uint8Array of W·H bytes per frame).
 * Frames are scaled inside ffmpeg (flags=area) and streamed through a pipe; only the requested frames are kept.
 */
export async function decodeGray(path: string, o: DecodeOptions): Promise<Uint8Array[]> {
  if (!(Number.isInteger(o.width) && o.width > 0 && Number.isInteger(o.height) && o.height > 0)) {
    throw new InternalError(`decodeGray: bad size ${o.width}x${o.height}`);
  }
  if (o.last !== undefined && (o.start !== undefined || o.maxFrames !== undefined)) {
    throw new InternalError('decodeGray: `last` cannot be combined with `start`/`maxFrames`');
  }
  const abs = resolve(path);
  const probe = o.probe ?? (await probeVideo(path));
  const base = { width: o.width, height: o.height, fit: o.fit };
  const truncated = (got: number, expected: number, stderr: string[]): UserError =>
    new UserError(
      `${path}: decoded only ${got} of the ${expected} frames the container announces (${
        firstLine(stderr, abs) ?? 'no error message'
      }); the file is probably truncated or damaged`,
    );

  if (o.last !== undefined) {
    const n = o.last;
    if (!(Number.isInteger(n) && n > 0)) throw new InternalError(`decodeGray: bad last=${n}`);
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
  if (!(Number.isInteger(start) && start >= 0)) throw new InternalError(`decodeGray: bad start=${start}`);
  if (o.maxFrames !== undefined && !(Number.isInteger(o.maxFrames) && o.maxFrames >= 0)) {
    throw new InternalError(`decodeGray: bad maxFrames=${o.maxFrames}`);
  }
  if (o.maxFrames === 0) return [];
  const r = await runDecode(abs, path, probe, { ...base, start, frames: o.maxFrames });
  const expected = Math.min(o.maxFrames ?? Infinity, Math.max(0, probe.frameCount - start));
  if (r.frames.length < expected && r.stderr.length > 0) throw truncated(start + r.frames.length, probe.frameCount, r.stderr);
  return r.frames;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Throw a UserError unless `out` can be written: its directory exists, is a directory and is writable.
 * With `createDirs`, a missing directory is fine when the nearest existing ancestor is a writable directory
 * (the caller creates it later, so nothing is created by the check itself).
 */
export async function checkWritableOutput(out: string, opts: { createDirs?: boolean } = {}): Promise<void> {
  const shown = dirname(out);
  let dir = dirname(resolve(out));
  let st = await stat(dir).catch(() => undefined);
  if (!st && opts.createDirs) {
    while (!st && dirname(dir) !== dir) {
      dir = dirname(dir);
      st = await stat(dir).catch(() => undefined);
    }
  }
  if (!st) throw new UserError(`output directory ${shown} does not exist`);
  if (!st.isDirectory()) throw new UserError(`output directory ${shown} is not a directory (${dir} is a file)`);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new UserError(`output directory ${dir === resolve(shown) ? shown : dir} is not writable`);
  }
  const o = await stat(out).catch(() => undefined);
  if (o?.isDirectory()) throw new UserError(`output ${out} is a directory`);
}

function tempPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Encode gray frames (each width×height bytes) to mp4, gif or png (all frames tiled into one image).
 * The file is written next to `out` under a temporary name and renamed when ffmpeg succeeded, so a failure
 * never leaves a partial output (the temporary file is removed).
 */
export async function encodeFrames(frames: Uint8Array[], o: EncodeOptions): Promise<void> {
  const { width: W, height: H, format } = o;
  if (!(Number.isInteger(W) && W > 0 && Number.isInteger(H) && H > 0)) {
    throw new InternalError(`encodeFrames: bad size ${W}x${H}`);
  }
  if (frames.length === 0) throw new InternalError('encodeFrames: no frames');
  for (const [i, f] of frames.entries()) {
    if (f.length !== W * H) throw new InternalError(`encodeFrames: frame ${i} has ${f.length} bytes, expected ${W * H}`);
  }
  if (!VIDEO_FORMATS.includes(format)) throw new UserError(`unknown output format "${format}" (mp4, gif or png)`);
  const fps = o.fps > 0 && Number.isFinite(o.fps) ? o.fps : 25;
  const out = resolve(o.out);
  await checkWritableOutput(out);

  let input: Uint8Array[] = frames;
  let w = W;
  let h = H;
  if (format === 'png') {
    const t = tileFrames(frames, W, H, { cols: Math.min(frames.length, 10), gap: 2, gapValue: 128 });
    input = [t.data];
    w = t.width;
    h = t.height;
  }
  const outputOptions: string[] = [];
  const filters: string[] = [];
  let muxer: string;
  if (format === 'mp4') {
    if (w % 2 || h % 2) filters.push(`pad=${even(w)}:${even(h)}:0:0:black`);
    outputOptions.push('-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart');
    muxer = 'mp4';
  } else if (format === 'gif') {
    filters.push('split[a][b];[a]palettegen=max_colors=256:reserve_transparent=0[p];[b][p]paletteuse=dither=none');
    outputOptions.push('-loop', '0');
    muxer = 'gif';
  } else {
    outputOptions.push('-frames:v', '1', '-c:v', 'png');
    muxer = 'image2pipe';
  }

  const tmp = tempPath(out);
  const source = new PassThrough({ highWaterMark: 1 << 20 });
  const cmd = command()
    .input(source)
    .inputOptions(['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${w}x${h}`, '-r', String(fps)])
    .outputOptions([...(filters.length ? ['-vf', filters.join(',')] : []), ...outputOptions])
    .format(muxer)
    .output(tmp);
  const stderr: string[] = [];
  cmd.on('stderr', (line: string) => {
    if (stderr.length < 20 && line.trim()) stderr.push(line);
  });
  const done = new Promise<void>((res, rej) => {
    cmd.on('end', () => res());
    cmd.on('error', (err: Error) => rej(err));
  });
  done.catch(() => undefined);
  try {
    cmd.run();
    // Write honouring back-pressure; stop early if ffmpeg has already failed.
    let failed = false;
    const failure = done.then(
      () => undefined,
      () => {
        failed = true;
      },
    );
    for (const f of input) {
      if (failed) break;
      if (!source.write(f)) await Promise.race([once(source, 'drain'), failure]);
    }
    source.end();
    try {
      await done;
    } catch (err) {
      const why = firstLine(stderr) ?? (err as Error).message.split('\n')[0];
      throw new InternalError(`ffmpeg could not write ${format} ${o.out}: ${why}`);
    }
    await rename(tmp, out);
  } catch (err) {
    source.destroy();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
