/**
 * Shared by the predict tests (predict-predict, predict-batch, cli-predict): a tiny untrained model (the
 * pipeline, not the quality) saved as a checkpoint, and the committed sample
 * datasets/samples/moving-mnist.mp4 (20 frames of 64×64 at 10 fps; the tiny model works on 32×32).
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config-file.js';
import { CrevNet } from '../src/model/crevnet.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { skipNoFfmpeg, tempDir } from './video-helpers.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const SAMPLE = join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4');
export const BACKEND = 'wasm';

/** false, or why the predict suites are skipped (node:test prints it) */
export const skip: false | string = skipNoFfmpeg || (!existsSync(SAMPLE) && `sample ${SAMPLE} missing`);

export interface PredictFixture {
  tmp: ReturnType<typeof tempDir>;
  model: CrevNet;
  modelDir: string;
  /** a copy of the sample in tmp.dir */
  sample: string;
}

/** A temp dir with the tiny model's checkpoint and a copy of the sample, on the test backend. */
export async function predictFixture(): Promise<PredictFixture> {
  await initBackend(BACKEND);
  const tmp = tempDir('predict');
  const model = CrevNet.create(await loadConfig('tiny'), 1);
  const modelDir = join(tmp.dir, 'model');
  await saveCheckpoint(modelDir, { model });
  const sample = join(tmp.dir, 'moving-mnist.mp4');
  copyFileSync(SAMPLE, sample);
  return { tmp, model, modelDir, sample };
}

/** A batch input directory `<name>-in` (copies of the sample named `good`, a text file named `bad`) and an empty `<name>-out`. */
export function batchDirs(f: PredictFixture, name: string, good: string[], bad: string): { dir: string; out: string } {
  const dir = join(f.tmp.dir, `${name}-in`);
  mkdirSync(dir);
  const out = join(f.tmp.dir, `${name}-out`);
  mkdirSync(out);
  for (const g of good) copyFileSync(f.sample, join(dir, g));
  writeFileSync(join(dir, bad), 'not a video\n');
  return { dir, out };
}
