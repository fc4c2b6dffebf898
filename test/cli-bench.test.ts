/** `crevnet bench` end to end on the tiny config (src/cli/bench.ts over src/bench/suite.ts): JSON fields of the child-process measurements (no timing asserts), bad options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertUserError, runCli } from './cli-helpers.js';

const isPositive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('crevnet bench --json on tiny: one child process per measurement, documented shape, finite values, reversible memory present', async () => {
  const r = await runCli(['--backend', 'wasm', 'bench', '--config', 'tiny', '--json', '--repeats', '2', '--warmup', '1', '--max-warmup', '1', '--frames', '6', '--infer-batch', '2', '--memory-blocks', '2,4', '--workers', '2'], { timeout: 240_000 });
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
  const d = j.details as { tensorsLeaked: number; trainBatch: number; frames: number; processes: number };
  assert.equal(d.tensorsLeaked, 0, 'the measurements leak no tensors');
  assert.equal(d.frames, 6);
  assert.equal(d.processes, 7, 'train, inference, one sequence and four memory rows, one process each');
  assert.equal(j.peer, undefined);
  const figure = (f: unknown, n: number) => {
    const x = f as { median: number; min: number; max: number; samples: number[] };
    assert.equal(x.samples.length, n);
    assert.ok(x.min <= x.median && x.median <= x.max && x.min > 0, JSON.stringify(x));
  };
  const train = j.train as { step: unknown; threads: number };
  const infer = j.infer as { rollout: unknown; seqPerSecond: unknown; threads: number };
  figure(train.step, 2);
  figure(infer.rollout, 2);
  figure(infer.seqPerSecond, 2);
  assert.equal(infer.threads, 2, 'the inference ran on 2 threads');
  assert.equal(j.inferWorkers, 2);
  const one = j.oneSequence as { batch: number; threads: number; rollout: unknown };
  assert.equal(one.batch, 1);
  assert.equal(one.threads, 1);
  figure(one.rollout, 2);
  assert.ok(isPositive(j.oneSequenceSeconds));
  assert.ok(Array.isArray(j.warnings));
});

test('crevnet bench rejects bad options with a one-line error', async () => {
  const r = await runCli(['bench', '--config', 'tiny', '--memory-blocks', '2,x']);
  assertUserError(r, /^error: --memory-blocks/, 'bench --memory-blocks 2,x');
});

test('a measurement on the multi-threaded wasm build (--wasm-threads 2) reports and exits; other backends are refused', async () => {
  const r = await runCli(['--backend', 'wasm', 'bench', '--measure', 'infer', '--wasm-threads', '2', '--config', 'tiny', '--json', '--repeats', '1', '--max-warmup', '1', '--infer-batch', '1', '--workers', '1'], { timeout: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { kind: string; backend: string; batch: number; rollout: { samples: number[] } };
  assert.equal(j.kind, 'infer');
  assert.equal(j.backend, 'wasm');
  assert.equal(j.batch, 1);
  assert.ok(j.rollout.samples.every(isPositive));
  const cpu = await runCli(['--backend', 'cpu', 'bench', '--measure', 'infer', '--wasm-threads', '2', '--config', 'tiny', '--json']);
  assertUserError(cpu, /^error: --wasm-threads needs the wasm backend/, 'bench --wasm-threads on cpu');
});
