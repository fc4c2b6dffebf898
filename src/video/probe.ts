/**
 * probeVideo: size (as displayed, after rotation), frame rate, frame count (`-count_frames` only
 * when the container does not state nb_frames), rotation, duration, codec; a clear UserError for files that
 * are not readable videos.
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../runtime/errors.js';
import { command, firstLine, type ProbeData, type ProbeStream } from './command.js';

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

/** File extensions treated as videos when a directory is given (lower case, without the dot). */
export const VIDEO_EXTENSIONS = [
  'mp4', 'm4v', 'mov', 'mkv', 'webm', 'avi', 'mpg', 'mpeg', 'ts', 'mts', 'm2ts', 'wmv', 'flv', 'ogv', '3gp', 'gif',
] as const;

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

/** Why ffprobe failed on `abs`: its first stderr line (the line after fluent-ffmpeg's own), cleaned. */
function probeFailure(err: unknown, abs: string): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').slice(1);
  return firstLine(lines, abs) ?? 'ffprobe failed';
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

/** The stream index and absolute path a probe result came from (only for results of probeVideo). */
export function probedStream(probe: VideoProbe): { streamIndex: number; path: string } | undefined {
  return probeCache.get(probe);
}

/** Probe a video file; a UserError with a clear message for anything that is not a readable video. */
export async function probeVideo(path: string): Promise<VideoProbe> {
  const abs = resolve(path);
  await checkReadableFile(abs, path);
  let data: ProbeData;
  try {
    data = await runProbe(abs, []);
  } catch (err) {
    if (err instanceof UserError) throw err; // e.g. no ffprobe binary
    const why = probeFailure(err, abs);
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
      throw new UserError(`${path}: cannot count the frames (${probeFailure(err, abs)})`);
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
