/** Shared by test/video-*.test.ts and the predict tests (predict-*, cli-predict): ffmpeg availability and fixture generation. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegBinary, ffprobeBinary } from '../src/runtime/ffmpeg-paths.js';

function find(): { ffmpeg: string; ffprobe: string } | string {
  try {
    return { ffmpeg: ffmpegBinary().path, ffprobe: ffprobeBinary().path };
  } catch (err) {
    return `no ffmpeg/ffprobe binary found (${err instanceof Error ? err.message : String(err)}): skipping`;
  }
}

const found = find();
/** false, or the reason to skip (node:test prints it) */
export const skipNoFfmpeg: false | string = typeof found === 'string' ? found : false;
if (skipNoFfmpeg) process.stderr.write(`# ${skipNoFfmpeg}\n`);

/** Run ffmpeg with the given arguments (-v error -y prepended); throws with stderr on failure. */
export function ffmpegRun(args: string[]): void {
  if (typeof found === 'string') throw new Error(found);
  execFileSync(found.ffmpeg, ['-v', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** ffprobe the first video stream: width, height, nb_frames (counted), avg fps. */
export function ffprobeVideo(path: string): { width: number; height: number; frames: number; fps: number; codec: string } {
  if (typeof found === 'string') throw new Error(found);
  const out = execFileSync(
    found.ffprobe,
    [
      '-v', 'error', '-select_streams', 'v:0', '-count_frames',
      '-show_entries', 'stream=width,height,nb_read_frames,avg_frame_rate,r_frame_rate,codec_name', '-of', 'json', path,
    ],
    { encoding: 'utf8' },
  );
  const s = (JSON.parse(out) as { streams: Record<string, string | number>[] }).streams[0]!;
  const rate = (v: unknown): number => {
    const [n, d] = String(v).split('/').map(Number);
    return d ? n! / d : Number(n);
  };
  const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate);
  return {
    width: Number(s.width),
    height: Number(s.height),
    frames: Number(s.nb_read_frames),
    fps,
    codec: String(s.codec_name),
  };
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `crevnet-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Synthetic gray frames: moving vertical bars, frame t shifted by 4t pixels. */
export function barFrames(n: number, width: number, height: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let t = 0; t < n; t++) {
    const f = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) f[y * width + x] = (x + 4 * t) % 32 < 16 ? 220 : 30;
    frames.push(f);
  }
  return frames;
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}
