/**
 * What a model was trained on, as its checkpoint records it (the training state's `dataset`): the data set's name
 * and kind, the frame size, the frame step, and for videos how many files and frames. Checkpoints written before
 * the record existed were all trained on Moving MNIST, the only data `crevnet train` knew then, so a missing record
 * reads as Moving MNIST.
 */
export interface DatasetRecord {
  /** "moving-mnist", or for videos the name of the data (the folder's name, or the file's) */
  name: string;
  kind: 'moving-mnist' | 'video';
  /** [H, W, C] of the frames */
  imageSize: [number, number, number];
  /** every k-th frame of the source makes a sequence (1 for Moving MNIST) */
  frameStep: number;
  /** video: how frames were fitted to imageSize (the --fit choices of src/video/decode.ts) */
  fit?: 'crop' | 'pad' | 'stretch';
  /** video: training files and their decoded frames */
  files?: number;
  frames?: number;
  /** video: held-out files and their frames (validation) */
  valFiles?: number;
  valFrames?: number;
  /** true when the record was not in the checkpoint and was inferred (older checkpoints: Moving MNIST) */
  inferred?: boolean;
}

/**
 * Where a video run's data comes from, as its training state keeps it (`data`), so a resume reopens the same files
 * and `crevnet eval --held-out` scores the files the run never trained on.
 */
export interface SavedTrainData {
  kind: 'video';
  /** --data as given, absolute paths (patterns as given) */
  inputs: string[];
  /** --val-data, absolute paths */
  valInputs?: string[];
  /** the held-out fraction (absent only before the data is opened: then the default applies) */
  valSplit?: number;
  frameStep: number;
  fit: 'crop' | 'pad' | 'stretch';
  /** per training file, its decoded frames (a resume with other frame counts draws other windows) */
  files: { path: string; frames: number }[];
  /** the held-out files (absolute paths) */
  valFiles?: string[];
}

/** The training state's data record of a video run, if it is one. */
export function savedTrainDataOf(state: Record<string, unknown> | undefined): SavedTrainData | undefined {
  const d = state?.data as SavedTrainData | undefined;
  return d && d.kind === 'video' && Array.isArray(d.inputs) ? d : undefined;
}

export function movingMnistRecord(imageSize: readonly number[], inferred = false): DatasetRecord {
  const r: DatasetRecord = { name: 'moving-mnist', kind: 'moving-mnist', imageSize: [...imageSize] as [number, number, number], frameStep: 1 };
  if (inferred) r.inferred = true;
  return r;
}

/** The record in a checkpoint's state, or the Moving MNIST record for checkpoints from before it existed. */
export function datasetRecordOf(state: Record<string, unknown> | undefined, imageSize: readonly number[]): DatasetRecord {
  const d = state?.dataset as DatasetRecord | undefined;
  if (d && typeof d === 'object' && typeof d.name === 'string' && (d.kind === 'moving-mnist' || d.kind === 'video')) return d;
  return movingMnistRecord(imageSize, true);
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function ordinal(k: number): string {
  const s = k % 100 >= 11 && k % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][k % 10] ?? 'th');
  return `${k}${s}`;
}

/** "Moving MNIST (64×64 gray)" or "videos "pans" (12 files, 2,400 frames, every 2nd frame; 64×64 RGB)". */
export function describeDataset(r: DatasetRecord): string {
  const [h, w, c] = r.imageSize;
  const size = `${h}×${w} ${c === 3 ? 'RGB' : c === 1 ? 'gray' : `${c}-channel`}`;
  if (r.kind === 'moving-mnist') return `Moving MNIST (${size})`;
  const parts: string[] = [];
  if (r.files !== undefined) parts.push(`${n(r.files)} file${r.files === 1 ? '' : 's'}${r.frames !== undefined ? `, ${n(r.frames)} frames` : ''}`);
  if (r.frameStep > 1) parts.push(`every ${ordinal(r.frameStep)} frame`);
  return `videos "${r.name}" (${[...parts, size].join(', ')})`;
}

/** Whether the data had colour (3 channels). */
export function isColour(r: DatasetRecord): boolean {
  return r.imageSize[2] === 3;
}

/**
 * One line when the input plainly is another kind of footage than the model was trained on (colour video into a
 * gray model, gray video into a colour model), with how to train a model for it; undefined when it fits.
 */
export function footageMismatch(r: DatasetRecord, input: string, inputIsColour: boolean): string | undefined {
  const trained = describeDataset(r);
  if (inputIsColour && !isColour(r)) {
    const what = r.kind === 'moving-mnist' ? 'white digits on black' : 'grayscale video';
    return (
      `note: ${input} is colour video, but this model was trained on ${trained}, ${what}; it predicts in gray and ` +
      `knows only that footage. For footage like this, train a colour model on videos of it: ` +
      `crevnet train --config color-small --data <folder of such videos> (see docs/own-videos.md)`
    );
  }
  if (!inputIsColour && isColour(r)) {
    return (
      `note: ${input} is grayscale, but this model was trained on ${trained}, colour video; ` +
      `for gray footage train a 1-channel model on videos of it: crevnet train --config small --data <folder of such videos> (see docs/own-videos.md)`
    );
  }
  return undefined;
}
