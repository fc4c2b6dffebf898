/**
 * Short synthetic colour clips made by ffmpeg's own sources, so the whole train / evaluate / predict loop on
 * "your own videos" can be tried without any download (`crevnet dataset samples`, scripts/make-sample-videos.sh):
 *   pan     a crop window moving at constant speed in a fixed direction across a larger still frame (a colour
 *           Mandelbrot rendering): simple, exactly predictable motion;
 *   testsrc ffmpeg's testsrc2 pattern (moving colour bars and shapes);
 *   zoom    a slow Mandelbrot zoom;
 *   life    Conway's life in colour (random start, 4×4-pixel cells).
 * Every parameter comes from the seed, so the same seed makes the same clips.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../runtime/errors.js';
import { ffmpegBinary } from '../runtime/ffmpeg-paths.js';
import { Rng } from '../data/rng.js';

const run = promisify(execFile);

export const SAMPLE_KINDS = ['pan', 'testsrc', 'zoom', 'life'] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

export interface SampleOptions {
  /** output directory (created) */
  out: string;
  /** clips to make; kinds are cycled in the order given */
  count: number;
  kinds: readonly SampleKind[];
  /** frames per clip */
  frames: number;
  width: number;
  height: number;
  fps: number;
  seed: number;
  /** pan: speed range in pixels of the clip per frame (default width/80 … 3·width/80) */
  panSpeed?: [number, number];
  /** called after each clip with its path and a short description */
  onClip?: (path: string, what: string) => void;
}

export const SAMPLE_DEFAULTS = { count: 12, kinds: SAMPLE_KINDS, frames: 40, width: 320, height: 240, fps: 10, seed: 0 } as const;

/** Places in the Mandelbrot set with colourful detail at the given scale (x, y, scale). */
const MANDELBROT_SPOTS: [number, number, number][] = [
  [-0.743643887037151, 0.13182590420533, 0.02],
  [-0.7453, 0.1127, 0.01],
  [-0.16, 1.0405, 0.05],
  [-1.25066, 0.02012, 0.02],
  [-0.748, 0.1, 0.03],
  [0.2549, 0.0005, 0.02],
  [-0.1011, 0.9563, 0.04],
  [-1.7497, 0.0, 0.01],
];

async function ffmpeg(args: string[]): Promise<void> {
  try {
    await run(ffmpegBinary().path, ['-v', 'error', '-nostdin', '-y', ...args], { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new UserError(`ffmpeg could not make a sample clip: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

const encode = (o: { fps: number }) => ['-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-crf', '18', '-r', String(o.fps)];

/** One clip of `kind` → `path`; returns a description of its parameters. */
async function makeClip(kind: SampleKind, path: string, o: SampleOptions, rng: Rng, tmp: string, index: number): Promise<string> {
  const size = `${o.width}x${o.height}`;
  const dur = (o.frames / o.fps).toFixed(3);
  if (kind === 'pan') {
    // a still 4× the clip's size, then a crop moving v px per frame in direction θ
    const W = o.width * 4;
    const H = o.height * 4;
    const [x, y, scale] = MANDELBROT_SPOTS[rng.int(MANDELBROT_SPOTS.length)]!;
    const still = join(tmp, `still-${index}.png`);
    await ffmpeg(['-f', 'lavfi', '-i', `mandelbrot=size=${W}x${H}:start_x=${x}:start_y=${y}:start_scale=${scale}:end_scale=${scale}:maxiter=512`, '-frames:v', '1', still]);
    const theta = rng.next() * 2 * Math.PI;
    const [lo, hi] = o.panSpeed ?? [o.width / 80, (3 * o.width) / 80];
    // the whole path stays inside the still: a speed that would leave it is lowered
    const fits = Math.min((W - o.width) / Math.max(1e-9, Math.abs(Math.cos(theta))), (H - o.height) / Math.max(1e-9, Math.abs(Math.sin(theta)))) / o.frames;
    const speed = Math.min(lo + (hi - lo) * rng.next(), Math.floor(fits * 100) / 100);
    const vx = Math.trunc(speed * Math.cos(theta) * 100) / 100;
    const vy = Math.trunc(speed * Math.sin(theta) * 100) / 100;
    // start where the whole path stays inside the still
    const travelX = Math.abs(vx) * o.frames;
    const travelY = Math.abs(vy) * o.frames;
    const x0 = Math.round((vx >= 0 ? 0 : travelX) + rng.next() * (W - o.width - travelX));
    const y0 = Math.round((vy >= 0 ? 0 : travelY) + rng.next() * (H - o.height - travelY));
    await ffmpeg([
      '-loop', '1', '-framerate', String(o.fps), '-i', still,
      '-vf', `crop=${o.width}:${o.height}:x='${x0}+${vx}*n':y='${y0}+${vy}*n'`,
      '-frames:v', String(o.frames), ...encode(o), path,
    ]);
    return `pan ${vx >= 0 ? '+' : ''}${vx},${vy >= 0 ? '+' : ''}${vy} px/frame across a Mandelbrot still`;
  }
  if (kind === 'testsrc') {
    // a different stretch of the (periodic) pattern, and another hue, for each clip
    const start = rng.int(600);
    const hue = rng.int(360);
    await ffmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${o.fps},trim=start_frame=${start},setpts=PTS-STARTPTS,hue=h=${hue}`,
      '-frames:v', String(o.frames), ...encode(o), path,
    ]);
    return `testsrc2 pattern from frame ${start}, hue +${hue}°`;
  }
  if (kind === 'zoom') {
    const [x, y, scale] = MANDELBROT_SPOTS[rng.int(MANDELBROT_SPOTS.length)]!;
    const end = scale * (0.5 + 0.3 * rng.next());
    await ffmpeg([
      '-f', 'lavfi', '-i', `mandelbrot=size=${size}:rate=${o.fps}:start_x=${x}:start_y=${y}:start_scale=${scale}:end_scale=${end}:end_pts=${dur}:maxiter=512`,
      '-frames:v', String(o.frames), ...encode(o), path,
    ]);
    return `Mandelbrot zoom ${scale} → ${end.toFixed(4)}`;
  }
  const seed = rng.int(2 ** 31);
  await ffmpeg([
    // cells of 4×4 pixels, so the pattern survives scaling down
    '-f', 'lavfi', '-i', `life=size=${o.width / 4}x${Math.round(o.height / 4)}:rate=${o.fps}:ratio=0.2:seed=${seed}:mold=8:life_color=#ffd040:death_color=#301060:mold_color=#20a0a0`,
    '-vf', `scale=${o.width}:${o.height}:flags=neighbor`,
    '-frames:v', String(o.frames), ...encode(o), path,
  ]);
  return `colour life, seed ${seed}`;
}

/** Make the clips (names <kind>-<NN>.mp4); returns their paths. */
export async function makeSampleVideos(o: SampleOptions): Promise<string[]> {
  if (!(Number.isInteger(o.count) && o.count >= 1)) throw new UserError(`--count must be a positive integer, got ${o.count}`);
  if (o.kinds.length === 0) throw new UserError('no clip kinds');
  if (!(Number.isInteger(o.frames) && o.frames >= 2)) throw new UserError(`--frames must be an integer ≥ 2, got ${o.frames}`);
  if (!(o.width >= 16 && o.height >= 16 && o.width % 2 === 0 && o.height % 2 === 0)) {
    throw new UserError(`clip size must be even and at least 16×16, got ${o.width}×${o.height}`);
  }
  await mkdir(o.out, { recursive: true });
  const tmp = await mkdtemp(join(o.out, '.samples-'));
  const rng = new Rng(o.seed);
  const paths: string[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const kind = o.kinds[i % o.kinds.length]!;
      const path = join(o.out, `${kind}-${String(i).padStart(2, '0')}.mp4`);
      const what = await makeClip(kind, path, o, rng, tmp, i);
      paths.push(path);
      o.onClip?.(path, what);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return paths;
}
