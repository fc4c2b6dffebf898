/**
 * `crevnet metrics --pred P.npy --true T.npy`: OpenSTL-convention metrics (src/eval/metrics.ts)
 * between two .npy files of sequences, processed in batches of sequences (never a float copy of a
 * whole file).
 *
 * Values: float32 is taken as is (prediction may leave [0,1]; it is clipped only for SSIM/PSNR),
 * uint8 is scaled by 1/255.
 *
 * Layouts (N sequences, T time steps, C channels, H×W frames):
 *   ntchw  rank 5 (N, T, C, H, W) — OpenSTL's saved preds.npy / trues.npy
 *   tnhwc  rank 5 (T, N, H, W, C) — time-major with channels last, as `crevnet dataset videos` writes
 *   nthw   rank 4 (N, T, H, W)
 *   tnhw   rank 4 (T, N, H, W) — time-major, the published mnist_test_seq.npy
 * Colour (C = 3) is scored as OpenSTL does: MSE/MAE summed over pixels and channels, SSIM the mean over channels
 * (scikit-image channel_axis), PSNR over all values (src/eval/metrics.ts).
 * Inference when --layout is not given, per file: rank 5 → ntchw when axis 2 is a channel count (1 to 4) and
 * axis 4 is not, tnhwc in the opposite case, else ambiguous; rank 4 → tnhw only for the published shape
 * (20, N, 64, 64); any other rank-4 shape is ambiguous. Ambiguous shapes need --layout. The output says which
 * layout was used and whether it was inferred.
 * --layout applies to both files. --true-start K compares prediction step t with truth step K + t
 * (e.g. 10 predicted frames against the 20-frame published file: --true-start 10).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { action, parseIntOption, printJson } from './common.js';
import { UserError } from '../runtime/errors.js';
import { formatShape, NpyFile, readTimeMajorBatch, shapeSize } from '../data/npy.js';
import { uint8ToFloat } from '../data/pixels.js';
import { MetricsAccumulator, SSIM_WINDOW, type MetricsReport } from '../eval/metrics.js';

export const LAYOUTS = ['ntchw', 'tnhwc', 'nthw', 'tnhw'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Elements per file read in one batch (both files together stay around 2·16 MB of float32). */
const BATCH_ELEMENTS = 4 << 20;

export interface SequenceFile {
  file: NpyFile;
  layout: Layout;
  /** true when the layout came from the shape, not from --layout */
  inferred: boolean;
  n: number;
  t: number;
  h: number;
  w: number;
  c: number;
}

const LAYOUT_AXES: Record<Layout, string> = { ntchw: '(N, T, C, H, W)', tnhwc: '(T, N, H, W, C)', nthw: '(N, T, H, W)', tnhw: '(T, N, H, W)' };

/** "ntchw (N, T, C, H, W), inferred from the shape" */
export function layoutNote(sf: SequenceFile): string {
  return `${sf.layout} ${LAYOUT_AXES[sf.layout]}, ${sf.inferred ? 'inferred from the shape' : 'from --layout'}`;
}

/** The layout rule above; throws UserError when the rank does not fit or the shape is ambiguous. */
export function resolveLayout(shape: readonly number[], explicit: Layout | undefined, file: string): Layout {
  const rank = shape.length;
  if (explicit) {
    const need = explicit === 'ntchw' || explicit === 'tnhwc' ? 5 : 4;
    if (rank !== need) {
      throw new UserError(`${file}: layout ${explicit} needs a rank-${need} array, got shape ${formatShape(shape)}`);
    }
    return explicit;
  }
  if (rank === 5) {
    const isChannels = (d: number | undefined) => d !== undefined && d >= 1 && d <= 4;
    if (isChannels(shape[2]) && !isChannels(shape[4])) return 'ntchw';
    if (isChannels(shape[4]) && !isChannels(shape[2])) return 'tnhwc';
    throw new UserError(`${file}: cannot infer the layout of shape ${formatShape(shape)}; pass --layout ntchw (N, T, C, H, W) or --layout tnhwc (T, N, H, W, C)`);
  }
  if (rank === 4) {
    if (shape[0] === 20 && shape[2] === 64 && shape[3] === 64) return 'tnhw';
    throw new UserError(
      `${file}: cannot infer the layout of shape ${formatShape(shape)} (only (20, N, 64, 64) is taken as time-major); pass --layout nthw or --layout tnhw`,
    );
  }
  throw new UserError(`${file}: expected a rank-4 or rank-5 array of sequences, got shape ${formatShape(shape)}`);
}

export function describeSequences(file: NpyFile, explicit: Layout | undefined): SequenceFile {
  const layout = resolveLayout(file.shape, explicit, file.path);
  const s = file.shape;
  let n: number, t: number, h: number, w: number;
  let c = 1;
  if (layout === 'ntchw') {
    [n, t, c, h, w] = s as [number, number, number, number, number];
  } else if (layout === 'tnhwc') {
    [t, n, h, w, c] = s as [number, number, number, number, number];
  } else if (layout === 'nthw') {
    [n, t, h, w] = s as [number, number, number, number];
  } else {
    [t, n, h, w] = s as [number, number, number, number];
  }
  return { file, layout, inferred: !explicit, n, t, h, w, c };
}

/**
 * Sequences [i0, i0+b), time steps [t0, t0+frames) as float32 time-major [frames, b, H, W, C] (channels last, as
 * the metrics take them; uint8 → b / 255, data/pixels.ts).
 */
export async function readSequenceBatch(sf: SequenceFile, i0: number, b: number, t0: number, frames: number): Promise<Float32Array> {
  const hw = sf.h * sf.w * sf.c;
  if (sf.layout === 'tnhw' || sf.layout === 'tnhwc') {
    const raw = await readTimeMajorBatch(sf.file, i0, b, { t0, frames });
    return raw instanceof Float32Array ? raw : uint8ToFloat(raw);
  }
  // sequence-major (N, T[, C], H, W): one contiguous read, then transpose to time-major, channels last
  const out = new Float32Array(frames * b * hw);
  const seqElems = sf.t * hw;
  const raw = await sf.file.readElements(i0 * seqElems, b * seqElems);
  const C = sf.c;
  const plane = sf.h * sf.w;
  for (let s = 0; s < b; s++) {
    for (let t = 0; t < frames; t++) {
      const src = s * seqElems + (t0 + t) * hw;
      const dst = (t * b + s) * hw;
      const frame = raw.subarray(src, src + hw);
      if (C === 1) {
        if (frame instanceof Float32Array) out.set(frame, dst);
        else uint8ToFloat(frame, out, dst);
      } else {
        const f = frame instanceof Float32Array ? frame : uint8ToFloat(frame);
        for (let c = 0; c < C; c++) for (let k = 0; k < plane; k++) out[dst + k * C + c] = f[c * plane + k]!;
      }
    }
  }
  return out;
}

export interface MetricsRunOptions {
  pred: string;
  true: string;
  layout?: Layout;
  trueStart?: number;
}

export async function computeFileMetrics(o: MetricsRunOptions): Promise<MetricsReport & { sequences: number; pred: SequenceFile; truth: SequenceFile }> {
  const pf = await NpyFile.open(o.pred);
  let tf: NpyFile | undefined;
  try {
    tf = await NpyFile.open(o.true);
    const pred = describeSequences(pf, o.layout);
    const truth = describeSequences(tf, o.layout);
    const start = o.trueStart ?? 0;
    const frame = (x: SequenceFile) => `${x.h}×${x.w}${x.c > 1 ? `×${x.c}` : ''}`;
    const mismatch = () =>
      `shape mismatch: --pred ${o.pred} is ${formatShape(pf.shape)} (${pred.layout}: ${pred.n} sequences × ${pred.t} steps of ${frame(pred)}) but --true ${o.true} is ${formatShape(tf!.shape)} (${truth.layout}: ${truth.n} × ${truth.t} of ${frame(truth)})`;
    if (pred.n !== truth.n || pred.h !== truth.h || pred.w !== truth.w || pred.c !== truth.c) throw new UserError(mismatch());
    if (o.trueStart === undefined && pred.t !== truth.t) {
      const hint = pred.t < truth.t ? `; to score the last ${pred.t} of ${truth.t} true frames pass --true-start ${truth.t - pred.t}` : '';
      throw new UserError(mismatch() + hint);
    }
    if (start + pred.t > truth.t) {
      throw new UserError(`--true-start ${start} + ${pred.t} predicted steps exceeds the ${truth.t} steps of ${o.true}`);
    }
    if (pred.n < 1 || pred.t < 1) throw new UserError(`${o.pred}: holds no frames (shape ${formatShape(pf.shape)})`);
    if (pred.h < SSIM_WINDOW || pred.w < SSIM_WINDOW) {
      throw new UserError(`frames are ${pred.h}×${pred.w}; SSIM needs at least ${SSIM_WINDOW}×${SSIM_WINDOW}`);
    }
    const perSeq = pred.t * pred.h * pred.w * pred.c;
    const seqRead = Math.max(perSeq, shapeSize(pf.shape) / pred.n, shapeSize(tf.shape) / truth.n);
    const batch = Math.max(1, Math.min(pred.n, Math.floor(BATCH_ELEMENTS / seqRead)));
    const acc = new MetricsAccumulator(pred.t, pred.h, pred.w, pred.c);
    for (let i0 = 0; i0 < pred.n; i0 += batch) {
      const b = Math.min(batch, pred.n - i0);
      const p = await readSequenceBatch(pred, i0, b, 0, pred.t);
      const g = await readSequenceBatch(truth, i0, b, start, pred.t);
      acc.add(p, g, b);
    }
    return { ...acc.result(), sequences: pred.n, pred, truth };
  } finally {
    await pf.close();
    await tf?.close();
  }
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? 'inf' : String(v);
}

export function register(program: Command): void {
  program
    .command('metrics')
    .description('MSE/MAE/SSIM/PSNR between predicted and true sequences (.npy), OpenSTL conventions')
    .requiredOption('--pred <file>', 'predictions .npy: float32 (raw, clipped only for SSIM/PSNR) or uint8 (/255)')
    .requiredOption('--true <file>', 'ground truth .npy: float32 in [0,1] or uint8 (/255)')
    .addOption(
      new Option(
        '--layout <layout>',
        'array layout of both files: ntchw (N,T,C,H,W), tnhwc (T,N,H,W,C), nthw (N,T,H,W) or tnhw (T,N,H,W); default: inferred from the shape where it is not ambiguous',
      ).choices([...LAYOUTS]),
    )
    .option('--true-start <k>', 'compare prediction step t with true step k+t (e.g. 10 for the 20-frame published file)', parseIntOption('--true-start'))
    .option('--json', 'print JSON (an infinite PSNR, from exact frames, is written as null)')
    .action(
      action(async (opts: { pred: string; true: string; layout?: Layout; trueStart?: number; json?: boolean }) => {
        if (opts.trueStart !== undefined && opts.trueStart < 0) throw new UserError(`--true-start must be ≥ 0, got ${opts.trueStart}`);
        const r = await computeFileMetrics(opts);
        if (opts.json) {
          printJson({
            layout: { pred: r.pred.layout, true: r.truth.layout, inferred: r.pred.inferred },
            channels: r.pred.c,
            frames: r.frames,
            mse: r.mse,
            mae: r.mae,
            ssim: r.ssim,
            ssimStrict: r.ssimStrict,
            psnr: r.psnr,
            perFrame: r.perFrame,
          });
          return;
        }
        const start = opts.trueStart ?? 0;
        const lines = [
          `pred   ${opts.pred} (${r.pred.file.dtype} ${formatShape(r.pred.file.shape)}, layout ${layoutNote(r.pred)})`,
          `true   ${opts.true} (${r.truth.file.dtype} ${formatShape(r.truth.file.shape)}, layout ${layoutNote(r.truth)}${start ? `, from step ${start}` : ''})`,
          `frames ${r.frames} (${r.sequences} sequences × ${r.perFrame.mse.length} steps, ${r.pred.h}×${r.pred.w}${r.pred.c === 3 ? ' RGB' : r.pred.c === 1 ? ' gray' : `×${r.pred.c}`})`,
          '',
          `MSE           ${fmt(r.mse, 4).padStart(12)}   per frame: sum over pixels${r.pred.c > 1 ? ' and channels' : ''}, mean over frames`,
          `MAE           ${fmt(r.mae, 4).padStart(12)}   per frame: sum over pixels${r.pred.c > 1 ? ' and channels' : ''}, mean over frames`,
          `SSIM          ${fmt(r.ssim, 6).padStart(12)}   data range 2 (OpenSTL / skimage 0.19 float)${r.pred.c > 1 ? ', mean over channels' : ''}`,
          `SSIM strict   ${fmt(r.ssimStrict, 6).padStart(12)}   data range 1`,
          `PSNR          ${fmt(r.psnr, 4).padStart(12)}   dB, per frame then mean`,
          '',
          ' step         MSE         MAE      SSIM  SSIM(R=1)      PSNR',
          ...r.perFrame.mse.map(
            (_, t) =>
              `${String(t + start).padStart(5)} ${fmt(r.perFrame.mse[t]!, 3).padStart(11)} ${fmt(r.perFrame.mae[t]!, 3).padStart(11)} ${fmt(r.perFrame.ssim[t]!, 5).padStart(9)} ${fmt(r.perFrame.ssimStrict[t]!, 5).padStart(10)} ${fmt(r.perFrame.psnr[t]!, 3).padStart(9)}`,
          ),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
