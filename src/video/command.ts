/**
 * The fluent-ffmpeg plumbing shared by probe.ts, decode.ts and encode.ts: a command with the
 * binaries of src/runtime/ffmpeg-paths.ts, stderr collection, and ffmpeg messages made readable.
 */
import { basename } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { ffmpegBinary, ffprobeBinary } from '../runtime/ffmpeg-paths.js';

export type FfmpegCommand = ffmpeg.FfmpegCommand;
export type ProbeData = ffmpeg.FfprobeData;
export type ProbeStream = ffmpeg.FfprobeStream & Record<string, unknown>;

/** A fluent-ffmpeg command that uses the ffmpeg/ffprobe binaries chosen by src/runtime/ffmpeg-paths.ts. */
export function command(): FfmpegCommand {
  const cmd = ffmpeg({ stdoutLines: 50 });
  cmd.setFfmpegPath(ffmpegBinary().path);
  cmd.setFfprobePath(ffprobeBinary().path);
  return cmd;
}

/**
 * Collect the first 20 non-empty stderr lines of `cmd` and a promise of its end (rejected on an ffmpeg error).
 * Call before the command starts. `done` is already observed, so a failure is never an unhandled rejection
 * while the caller is still busy with the pipes; the caller awaits it for the outcome.
 */
export function watch(cmd: FfmpegCommand): { stderr: string[]; done: Promise<void> } {
  const stderr: string[] = [];
  cmd.on('stderr', (line: string) => {
    if (stderr.length < 20 && line.trim()) stderr.push(line);
  });
  const done = new Promise<void>((res, rej) => {
    cmd.on('end', () => res());
    cmd.on('error', (err: Error) => rej(err));
  });
  done.catch(() => undefined);
  return { stderr, done };
}

/** "[h264 @ 0x55d0c] Invalid NAL unit size" → "h264: Invalid NAL unit size"; the input's full path → its name. */
export function cleanLine(line: string, path?: string): string {
  let s = line.trim().replace(/^\[([^\]@]+?) @ 0x[0-9a-fA-F]+\]\s*/, '$1: ');
  if (path) s = s.split(path).join(basename(path));
  return s;
}

/** The first non-empty line, cleaned (see cleanLine); undefined when there is none. */
export function firstLine(lines: string[], path?: string): string | undefined {
  const l = lines.find((x) => x.trim().length > 0);
  return l === undefined ? undefined : cleanLine(l, path);
}
