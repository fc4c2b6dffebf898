/** The benchmark harness (src/bench/harness.ts) through `crevnet bench`: JSON shape and finite values on the tiny config (no timing asserts), bad options, memory-table configs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/model/config.js';
import { withEncoderBlocks } from '../src/bench/harness.js';
import { assertUserError, runCli } from './cli-helpers.js';

const isPositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('crevnet bench --json on tiny: documented shape, finite values, reversible memory present', async () => {
  const r = await runCli(['--backend', 'wasm', 'bench', '--config', 'tiny', '--json', '--repeats', '1', '--warmup', '0', '--frames', '6', '--infer-batch', '2', '--memory-blocks', '2,4', '--workers', '2'], { timeout: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.backend, 'wasm');
  assert.equal(j.config, 'tiny');
  assert.ok(isPositive(j.trainStepSeconds), `trainStepSeconds ${String(j.trainStepSeconds)}`);
  assert.equal(j.workers, 2, 'the training step ran data parallel on 2 threads');
  assert.ok(isPositive(j.inferSeqPerSecond), `inferSeqPerSecond ${String(j.inferSeqPerSecond)}`);
  assert.equal(typeof j.roundTripMaxError, 'number');
  assert.ok((j.roundTripMaxError as number) >= 0 && (j.roundTripMaxError as number) < 1e-3, `round trip ${String(j.roundTripMaxError)}`);
  const m = j.memory as { blocks: number[]; plainPeakBytes: unknown[]; reversiblePeakBytes: unknown[] };
  assert.deepEqual(m.blocks, [2, 4]);
  assert.equal(m.plainPeakBytes.length, 2);
  assert.equal(m.reversiblePeakBytes.length, 2);
  for (const v of m.plainPeakBytes) assert.ok(isPositive(v));
  for (const v of m.reversiblePeakBytes) assert.ok(isPositive(v), `reversible peak ${String(v)}`);
  const d = j.details as { tensorsLeaked: number; trainBatch: number; frames: number };
  assert.equal(d.tensorsLeaked, 0, 'the harness leaks no tensors');
  assert.equal(d.frames, 6);
  assert.equal(j.peer, undefined);
});

test('crevnet bench rejects bad options with a one-line error', async () => {
  const r = await runCli(['bench', '--config', 'tiny', '--memory-blocks', '2,x']);
  assertUserError(r, /^error: --memory-blocks/, 'bench --memory-blocks 2,x');
});

test('memory-table configs spread the blocks over the stages at the same widths', async () => {
  const cfg = await loadConfig('small');
  assert.deepEqual(withEncoderBlocks(cfg, 16, true)!.nBlocks, [8, 8]);
  assert.deepEqual(withEncoderBlocks(cfg, 5, false)!.nBlocks, [3, 2]);
  assert.equal(withEncoderBlocks(cfg, 16, true)!.reversibleBackprop, true);
  assert.deepEqual(withEncoderBlocks(cfg, 16, true)!.strides, cfg.strides);
  const paper = await loadConfig('paper');
  assert.equal(withEncoderBlocks(paper, 2, false), null);
});
