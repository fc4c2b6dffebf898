/**
 * Windows of T frames (every k-th frame) cut from decoded videos (decoded-videos.ts): the training stream drawing
 * random starts from the run's seeded Rng (resumed exactly from its state), the fixed evaluation windows, and
 * copying windows into a time-major batch.
 */
import { UserError } from '../runtime/errors.js';
import type { Rng, RngState } from '../data/rng.js';
import { windowSpan, type DecodedVideo, type ImageSize } from './decoded-videos.js';

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
