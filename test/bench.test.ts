/** crevnet bench: JSON shape and finite values on the tiny config (no timing asserts), peer plumbing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadConfig } from '../src/model/config.js';
import { peerArgs, runPeer } from '../src/bench/peer.js';
import { withEncoderBlocks } from '../src/bench/harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
}

const isPositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('crevnet bench --json on tiny: documented shape, finite values, reversible memory present', () => {
  const r = runCli(['--backend', 'wasm', 'bench', '--config', 'tiny', '--json', '--repeats', '1', '--warmup', '0', '--frames', '6', '--infer-batch', '2', '--memory-blocks', '2,4', '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
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

test('crevnet bench rejects bad options with a one-line error', () => {
  const r = runCli(['bench', '--config', 'tiny', '--memory-blocks', '2,x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --memory-blocks/m);
});

test('peer arguments follow the config; a missing peer is reported as skipped', async () => {
  const cfg = await loadConfig('small');
  const args = peerArgs(cfg, { batch: 4, iters: 3, evalSequences: 16 });
  assert.deepEqual(args.slice(0, 6), ['--blocks', '2,2', '--strides', '1,2', '--layers', '2']);
  assert.ok(args.includes('--eval'));
  const old = process.env.CREVNET_PEER;
  process.env.CREVNET_PEER = '/nonexistent/crevnet_ref.py';
  try {
    const p = await runPeer(cfg, { iters: 1, evalSequences: 0 });
    assert.match(p.skipped ?? '', /not found/);
    assert.equal(p.trainStepSeconds, null);
  } finally {
    if (old === undefined) delete process.env.CREVNET_PEER;
    else process.env.CREVNET_PEER = old;
  }
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
