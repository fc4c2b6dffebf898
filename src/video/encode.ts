/**
 * encodeFrames: gray or RGB frames → mp4 (libx264 yuv420p crf 18 +faststart), gif (palette of the frames,
 * loop 0) or png (all frames tiled into one image); written to a temp file in the target directory, then renamed.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { InternalError, UserError } from '../runtime/errors.js';
import { command, firstLine, watch } from './command.js';
import { contactSheet } from './frames.js';
import { pixelFormat, type FrameChannels } from './decode.js';

export type VideoFormat = 'mp4' | 'gif' | 'png';
export const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'gif', 'png'];

export interface EncodeOptions {
  width: number;
  height: number;
  fps: number;
  out: string;
  format: VideoFormat;
  /** bytes per pixel of the frames: 1 = gray (default), 3 = RGB interleaved */
  channels?: FrameChannels;
}

function even(n: number): number {
  return n % 2 === 0 ? n : n + 1;
}

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
 * Encode frames (each width×height×channels bytes) to mp4, gif or png (all frames tiled into one image).
 * The file is written next to `out` under a temporary name and renamed when ffmpeg succeeded, so a failure
 * never leaves a partial output (the temporary file is removed).
 */
export async function encodeFrames(frames: Uint8Array[], o: EncodeOptions): Promise<void> {
  const { width: W, height: H, format } = o;
  if (!(Number.isInteger(W) && W > 0 && Number.isInteger(H) && H > 0)) {
    throw new InternalError(`encodeFrames: bad size ${W}x${H}`);
  }
  if (frames.length === 0) throw new InternalError('encodeFrames: no frames');
  const C = o.channels ?? 1;
  if (C !== 1 && C !== 3) throw new InternalError(`encodeFrames: channels must be 1 or 3, got ${String(C)}`);
  for (const [i, f] of frames.entries()) {
    if (f.length !== W * H * C) throw new InternalError(`encodeFrames: frame ${i} has ${f.length} bytes, expected ${W * H * C}`);
  }
  if (!VIDEO_FORMATS.includes(format)) throw new UserError(`unknown output format "${format}" (mp4, gif or png)`);
  const fps = o.fps > 0 && Number.isFinite(o.fps) ? o.fps : 25;
  const out = resolve(o.out);
  await checkWritableOutput(out);

  let input: Uint8Array[] = frames;
  let w = W;
  let h = H;
  if (format === 'png') {
    const t = contactSheet(frames, W, H, C);
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
    .inputOptions(['-v', 'error', '-f', 'rawvideo', '-pix_fmt', pixelFormat(C), '-s', `${w}x${h}`, '-r', String(fps)])
    .outputOptions([...(filters.length ? ['-vf', filters.join(',')] : []), ...outputOptions])
    .format(muxer)
    .output(tmp);
  const { stderr, done } = watch(cmd);
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
