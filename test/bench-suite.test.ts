/**
 * crevnet bench's orchestration with injected children and peer: one child per measurement, the
 * memory table from one child per row, ratios against the peer's medians, and the spread warnings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/model/config-file.js';
import { runBenchSuite } from '../src/bench/suite.js';
import { summarize, type SettledTiming } from '../src/bench/stats.js';
import type { ChildMeasurement, ChildFailure } from '../src/bench/child.js';
import type { PeerResult } from '../src/bench/peer.js';

const timing = (samples: number[]): SettledTiming => ({ ...summarize(samples), warmupRuns: 4, settled: true, warmupSamples: [2, 1, 1, 1] });
const common = { backend: 'wasm', config: 'small', tensorsLeaked: 0, rssBytes: 1e8 };

function fakeChildren(trainSamples: number[], inferSamples: number[]) {
  const calls: string[][] = [];
  const run = async (_g: string[], args: string[]): Promise<ChildMeasurement | ChildFailure> => {
    calls.push(args);
    const opt = (name: string) => args[args.indexOf(name) + 1]!;
    switch (args[0]) {
      case 'train':
        return { kind: 'train', ...common, batch: 4, frames: 20, threads: 2, params: 80566, step: timing(trainSamples) };
      case 'infer': {
        const batch = Number(opt('--infer-batch'));
        const samples = batch === 1 ? inferSamples.map((s) => s / 10) : inferSamples;
        const rollout = timing(samples);
        return { kind: 'infer', ...common, batch, context: 10, horizon: 10, threads: batch === 1 ? 1 : 2, rollout, seqPerSecond: summarize(samples.map((s) => batch / s)), roundTripMaxErrorTrain: 1e-6, roundTripMaxErrorEval: 2e-6 };
      }
      case 'memory': {
        const blocks = Number(opt('--memory-blocks'));
        const reversible = args.includes('--reversible');
        return { kind: 'memory', ...common, blocks, reversible, batch: 4, frames: 20, peakBytes: reversible ? 100 : 50 * blocks, baselineBytes: 10 };
      }
      default:
        return { reason: `unexpected ${args[0]}`, unavailable: false };
    }
  };
  return { calls, run };
}

const peer = (train: number, infer: number): PeerResult => ({ command: 'peer', trainStepSeconds: train, inferSeqPerSecond: infer, inferBatch: 16, params: 80566 });

test('one child per measurement; the memory table has one child per row; ratios use the medians', async () => {
  const modelConfig = await loadConfig('small');
  const c = fakeChildren([1.0, 1.02, 0.98, 1.01, 0.99], [0.8, 0.81, 0.79]);
  const peers = [peer(0.75, 40), peer(0.8, 42), peer(0.77, 41)];
  let p = 0;
  const r = await runBenchSuite({ config: 'small', modelConfig, memoryBlocks: [4, 16], peer: true, peerRuns: 3, runChild: c.run, runPeerOnce: async () => peers[p++]! });
  // three rounds of (train, infer) with the peer, then one sequence and the memory rows
  assert.deepEqual(c.calls.map((a) => a[0]), ['train', 'infer', 'train', 'infer', 'train', 'infer', 'infer', 'memory', 'memory', 'memory', 'memory']);
  assert.equal(r.details.processes, 11);
  assert.deepEqual(c.calls.slice(5, 7).map((a) => [a[a.indexOf('--infer-batch') + 1], a[a.indexOf('--workers') + 1]]), [['16', 'auto'], ['1', '1']]);
  assert.equal(r.oneSequenceSeconds, 0.08);
  assert.deepEqual(c.calls.slice(7).map((a) => [a[a.indexOf('--memory-blocks') + 1], a.includes('--reversible')]), [['4', false], ['4', true], ['16', false], ['16', true]]);
  assert.deepEqual(r.memory.plainPeakBytes, [200, 800]);
  assert.deepEqual(r.memory.reversiblePeakBytes, [100, 100]);
  assert.equal(r.trainStepSeconds, 1.0);
  assert.equal(r.inferSeqPerSecond, 16 / 0.8);
  assert.equal(r.peer!.runs, 3);
  assert.equal(r.peer!.trainStepSeconds, 0.77);
  assert.equal(r.peer!.inferSeqPerSecond, 41);
  assert.ok(Math.abs(r.peer!.trainStepRatio! - 1.0 / 0.77) < 1e-12);
  assert.ok(Math.abs(r.peer!.inferTimeRatio! - 41 / 20) < 1e-12);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.wasmThreads, undefined);
});

test('with the peer, rounds alternate ours and the peer, and each ratio is the median of the rounds\' ratios', async () => {
  const modelConfig = await loadConfig('small');
  // the machine gets twice as slow in the second round, for us and for the peer alike
  const order: string[] = [];
  let round = 0;
  const slow = [1, 2, 1, 1];
  const run = async (_g: string[], args: string[]): Promise<ChildMeasurement | ChildFailure> => {
    order.push(args[0]!);
    const k = slow[round]!;
    if (args[0] === 'train') return { kind: 'train', ...common, batch: 4, frames: 20, threads: 2, params: 80566, step: timing([0.5 * k, 0.5 * k, 0.5 * k]) };
    const batch = Number(args[args.indexOf('--infer-batch') + 1]);
    const samples = [0.4 * k, 0.4 * k, 0.4 * k];
    return { kind: 'infer', ...common, batch, context: 10, horizon: 10, threads: 2, rollout: timing(samples), seqPerSecond: summarize(samples.map((s) => batch / s)), roundTripMaxErrorTrain: 1e-6, roundTripMaxErrorEval: 3e-6 };
  };
  const r = await runBenchSuite({
    config: 'small',
    modelConfig,
    memoryBlocks: [],
    peer: true,
    peerRuns: 3,
    runChild: run,
    runPeerOnce: async () => {
      order.push('peer');
      const k = slow[round++]!;
      return peer(0.5 * k, 50 / k);
    },
  });
  assert.deepEqual(order, ['train', 'infer', 'peer', 'train', 'infer', 'peer', 'train', 'infer', 'peer', 'infer']);
  assert.deepEqual(r.peer!.roundRatios, { trainStep: [1, 1, 1], inferTime: [1.25, 1.25, 1.25] });
  assert.equal(r.peer!.trainStepRatio, 1);
  assert.equal(r.peer!.inferTimeRatio, 1.25);
  // our figures pool the rounds' samples
  assert.equal(r.train.step.samples.length, 9);
  assert.equal(r.infer.seqPerSecond.samples.length, 9);
  assert.equal(r.roundTripMaxError, 3e-6);
});

test('--wasm-threads adds the training step, the inference and one sequence on one worker with that many XNNPACK threads', async () => {
  const modelConfig = await loadConfig('small');
  const c = fakeChildren([1, 1, 1], [1, 1, 1]);
  const r = await runBenchSuite({ config: 'small', modelConfig, memoryBlocks: [], wasmThreads: 2, runChild: c.run });
  const mt = c.calls.filter((a) => a.includes('--wasm-threads'));
  assert.deepEqual(mt.map((a) => [a[0], a[a.indexOf('--wasm-threads') + 1], a[a.indexOf('--workers') + 1]]), [['train', '2', '1'], ['infer', '2', '1'], ['infer', '2', '1']]);
  assert.equal(r.wasmThreads!.threads, 2);
  assert.equal(r.wasmThreads!.oneSequence.batch, 1);
  assert.equal(r.details.processes, 6);
});

test('a figure spread by more than 20% of its median is warned about, ours or the peer\'s', async () => {
  const modelConfig = await loadConfig('small');
  const c = fakeChildren([1.0, 1.9, 1.1, 2.3, 1.2], [0.8, 0.82, 0.81]);
  const peers = [peer(0.75, 30), peer(0.76, 45), peer(0.74, 40)];
  let p = 0;
  const r = await runBenchSuite({ config: 'small', modelConfig, memoryBlocks: [], peer: true, peerRuns: 3, runChild: c.run, runPeerOnce: async () => peers[p++]! });
  assert.equal(r.warnings.length, 2, r.warnings.join('\n'));
  assert.match(r.warnings[0]!, /^training step: samples spread 108% of the median/);
  assert.match(r.warnings[1]!, /^peer inference: samples spread 38% of the median/);
});

test('with the peer and no --peer-runs, five rounds', async () => {
  const modelConfig = await loadConfig('small');
  const c = fakeChildren([1, 1, 1], [1, 1, 1]);
  let runs = 0;
  const r = await runBenchSuite({ config: 'small', modelConfig, memoryBlocks: [], peer: true, runChild: c.run, runPeerOnce: async () => (runs++, peer(1, 16)) });
  assert.equal(runs, 5);
  assert.equal(r.peer!.roundRatios.trainStep.length, 5);
  assert.deepEqual(c.calls.map((a) => a[0]).filter((k) => k === 'train').length, 5);
});

test('a child that cannot start the backend is a one-line user error; a skipped peer stops after one run', async () => {
  const modelConfig = await loadConfig('small');
  await assert.rejects(
    runBenchSuite({ config: 'small', modelConfig, runChild: async () => ({ reason: 'backend "tensorflow" is not available here', unavailable: true }) }),
    (e: Error) => e.name === 'UserError' && /not available/.test(e.message),
  );
  const c = fakeChildren([1, 1, 1], [1, 1, 1]);
  let runs = 0;
  const r = await runBenchSuite({
    config: 'small',
    modelConfig,
    memoryBlocks: [],
    peer: true,
    peerRuns: 3,
    runChild: c.run,
    runPeerOnce: async () => (runs++, { command: 'peer', skipped: 'no python3 with torch', trainStepSeconds: null, inferSeqPerSecond: null, inferBatch: null, params: null }),
  });
  assert.equal(runs, 1);
  assert.equal(r.peer!.skipped, 'no python3 with torch');
  assert.equal(r.peer!.trainStepRatio, null);
});
