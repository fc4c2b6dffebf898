/** `crevnet dataset` (src/cli/dataset.ts): Moving MNIST as .npy equal to generateSequences, the first sequence as a .gif, one-line errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNpy } from '../src/data/npy.js';
import { loadMnistDigits } from '../src/data/idx.js';
import { generateSequences } from '../src/data/moving-mnist.js';
import { Rng } from '../src/data/rng.js';
import { assertUserError, runCli, type CliResult } from './cli-helpers.js';

const crevnet = (args: string[]): Promise<CliResult> => runCli(args, { timeout: 60_000 });

test('crevnet dataset mmnist writes uint8 (20, N, 64, 64) time-major .npy equal to generateSequences', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-ds-'));
  try {
    const out = path.join(dir, 'mm.npy');
    const r = await crevnet(['dataset', 'mmnist', '--split', 'test', '--count', '5', '--seed', '13', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(20, 5, 64, 64\)/);
    const a = await readNpy(out);
    assert.equal(a.dtype, 'uint8');
    assert.deepEqual(a.shape, [20, 5, 64, 64]);
    const expected = generateSequences(await loadMnistDigits('test'), 5, new Rng(13));
    assert.ok(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(expected), 'same bytes as the library');
    assert.deepEqual(await readdir(dir), ['mm.npy'], 'no temp files left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('crevnet dataset writes the first sequence as a .gif', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-ds-'));
  try {
    const out = path.join(dir, 'seq.gif');
    const r = await crevnet(['dataset', 'mmnist', '--count', '1', '--seed', '2', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const bytes = await readFile(out);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GIF8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('crevnet dataset: bad input gives one error line and exit code 2', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-ds-'));
  try {
    const ok = path.join(dir, 'x.npy');
    const cases: [string[], RegExp][] = [
      [['dataset', 'kth', '--out', ok], /unknown dataset "kth"/],
      [['dataset', 'mmnist', '--split', 'val', '--out', ok], /--split must be train or test/],
      [['dataset', 'mmnist', '--count', '0', '--out', ok], /--count must be a positive integer/],
      [['dataset', 'mmnist', '--out', path.join(dir, 'missing', 'x.npy')], /output directory .* does not exist/],
      [['dataset', 'mmnist', '--out', path.join(dir, 'x.txt')], /unsupported output extension "\.txt"/],
    ];
    const results = await Promise.all(cases.map(([args]) => crevnet(args)));
    results.forEach((r, i) => {
      const [args, re] = cases[i]!;
      assertUserError(r, re, args.join(' '));
    });
    assert.deepEqual(await readdir(dir), [], 'nothing written');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
