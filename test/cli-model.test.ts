/** `crevnet model`: summary table, --json fields, bad config → one-line error, exit code 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type CliResult } from './cli-helpers.js';

const crevnet = (args: string[]): Promise<CliResult> => runCli(args, { timeout: 120_000 });

test('crevnet model --config small --json reports parameters, latent shape and round-trip error', async () => {
  const r = await crevnet(['model', '--config', 'small', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { params: { total: number; encoder: number; predictor: number }; latentShape: number[]; roundTripMaxError: number };
  assert.deepEqual(out.params, { total: 80_566, encoder: 4_006, predictor: 76_560 });
  assert.deepEqual(out.latentShape, [3, 16, 16, 8]);
  assert.ok(out.roundTripMaxError >= 0 && out.roundTripMaxError < 1e-4, String(out.roundTripMaxError));
});

test('crevnet model prints a summary table; a bad config is a one-line error with exit code 2', async () => {
  const r = await crevnet(['model', '--config', 'tiny']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /block 2 +stride 2, F 2→4→8/);
  assert.match(r.stdout, /layer 1 +ST-ConvLSTM/);
  assert.match(r.stdout, /parameters +78,231/);
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-cli-'));
  try {
    const bad = path.join(dir, 'odd.json');
    await writeFile(bad, JSON.stringify({ model: { imageSize: [32, 32, 1], nBlocks: [1, 1], strides: [1, 2], predictorLayers: 3 } }));
    const e = await crevnet(['model', '--config', bad]);
    assert.equal(e.code, 2);
    assert.equal(e.stderr.trim().split('\n').length, 1);
    assert.match(e.stderr, /^error: .*odd\.json: model\.predictorLayers must be even \(got 3\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
