/** Evaluation sequence sources (src/eval/sources.ts): a .npy file read in parts scores like the same sequences in memory; wrong shapes are one-line user errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyLastForecaster, oracleForecaster, runForecasters, zerosForecaster } from '../src/eval/forecast.js';
import { ArraySequenceSource, NpySequenceSource } from '../src/eval/sources.js';
import { writeNpy } from '../src/data/npy.js';
import { loadMnistDigits } from '../src/data/idx.js';
import { generateSequences } from '../src/data/moving-mnist.js';
import { Rng } from '../src/data/rng.js';
import { UserError } from '../src/runtime/errors.js';

const FORECASTERS = { model: oracleForecaster, copyLast: copyLastForecaster, zeros: zerosForecaster };

test('.npy source: partial reads give the same numbers; wrong shapes are one-line user errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'crevnet-npy-'));
  try {
    const digits = await loadMnistDigits('test');
    const data = generateSequences(digits, 5, new Rng(9));
    const file = join(dir, 'seq.npy');
    await writeNpy(file, { dtype: 'uint8', shape: [20, 5, 64, 64], data });
    const src = await NpySequenceSource.open(file, { height: 64, width: 64 });
    assert.equal(src.count, 5);
    assert.equal(src.standard, false);
    const a = await runForecasters(src, FORECASTERS, { context: 10, horizon: 10, batch: 2 });
    await src.close();
    const b = await runForecasters(new ArraySequenceSource(data, 20, 5, 64, 64), FORECASTERS, { context: 10, horizon: 10, batch: 5 });
    assert.deepEqual(a.reports.copyLast, b.reports.copyLast);
    const first = await NpySequenceSource.open(file, { height: 64, width: 64, count: 2 });
    assert.equal(first.count, 2);
    await first.close();

    const bad3 = join(dir, 'bad3.npy');
    await writeNpy(bad3, { dtype: 'uint8', shape: [20, 64, 64], data: new Uint8Array(20 * 64 * 64) });
    await assert.rejects(NpySequenceSource.open(bad3, { height: 64, width: 64 }), (e: unknown) => e instanceof UserError && /expected a time-major uint8 array/.test(e.message));
    const bad32 = join(dir, 'bad32.npy');
    await writeNpy(bad32, { dtype: 'uint8', shape: [20, 2, 32, 32], data: new Uint8Array(20 * 2 * 32 * 32) });
    await assert.rejects(NpySequenceSource.open(bad32, { height: 64, width: 64 }), (e: unknown) => e instanceof UserError && /32×32/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
