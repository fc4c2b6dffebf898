/**
 * `crevnet bench`: every measurement in a child process of its own (child.ts, measure.ts), one after the
 * other — the training step, the inference throughput (with the round-trip error), one sequence's
 * rollout, each row of the peak-memory table, optionally the kernel profile and the multi-threaded wasm
 * build's figures — and a warning for every figure whose samples spread by more than 20%.
 * With the PyTorch peer (peer.ts), the training step and the inference run in `peerRuns` rounds, each
 * ours then the peer's, and each ratio is the median of the rounds' ratios: a shared machine's load
 * drifts over minutes, and a round's two figures see the same load.
 */
import { InternalError, UserError } from '../runtime/errors.js';
import { isFailure, measureInChild, type ChildFailure, type ChildMeasurement } from './child.js';
import type { InferMeasurement, MemoryMeasurement, TrainMeasurement } from './measure.js';
import type { MemoryTable } from './harness.js';
import { runPeer, type PeerResult } from './peer.js';
import type { ProfileMeasurement } from './profile.js';
import { spreadWarnings, summarize, type Figure, type SettledTiming } from './stats.js';
import type { ModelConfig } from '../model/config.js';
import type { WebGpuAdapterSummary } from '../runtime/webgpu.js';

export interface SuiteOptions {
  /** config name or path, passed to the children as given */
  config: string;
  /** the loaded config (for the peer's arguments) */
  modelConfig: ModelConfig;
  /** global CLI arguments for the children, e.g. ['--backend', 'wasm'] */
  globalArgs?: string[];
  repeats?: number;
  /** warm-up runs at least / at most (the warm-up stops when the step time settles) */
  warmup?: number;
  maxWarmup?: number;
  trainBatch?: number;
  frames?: number;
  inferBatch?: number;
  /** threads of the training step and of the inference: a count or 'auto' (children resolve it) */
  workers?: number | 'auto';
  /** training-step threads when `workers` is not given (the config's train.workers) */
  trainWorkers?: number | 'auto';
  memoryBlocks?: number[];
  profile?: boolean;
  peer?: boolean;
  peerIters?: number;
  /** rounds with the peer (default 5): our training step and inference, then one peer invocation */
  peerRuns?: number;
  /** also measure train, inference and one sequence with the multi-threaded wasm build (this many XNNPACK threads) */
  wasmThreads?: number;
  log?: (line: string) => void;
  /** stand-in for measureInChild (tests) */
  runChild?: (globalArgs: string[], measureArgs: string[]) => Promise<ChildMeasurement | ChildFailure>;
  /** stand-in for runPeer (tests) */
  runPeerOnce?: () => Promise<PeerResult>;
}

export interface PeerSummary extends PeerResult {
  runs: number;
  /** the peer's per-run training-step medians (seconds) */
  trainStep: Figure | null;
  /** the peer's per-run inference throughputs (sequences per second) */
  inference: Figure | null;
  /** ours / peer seconds per training step (≤ 1: we are faster): the median of the rounds' ratios */
  trainStepRatio: number | null;
  /** peer / ours seconds per sequence = ours / peer time (≤ 1: we are faster): the median of the rounds' ratios */
  inferTimeRatio: number | null;
  /** each round's ratios (a round: our training step and inference, then one peer run) */
  roundRatios: { trainStep: number[]; inferTime: number[] };
}

export interface BenchReport {
  backend: string;
  /** the GPU adapter of the webgpu backend (null on the others) */
  adapter: WebGpuAdapterSummary | null;
  config: string;
  /** median seconds per training step */
  trainStepSeconds: number;
  /** threads of the training step */
  workers: number;
  /** median sequences per second of the rollout */
  inferSeqPerSecond: number;
  /** threads of the inference */
  inferWorkers: number;
  roundTripMaxError: number;
  /** median seconds of one sequence's rollout (batch 1, one thread) */
  oneSequenceSeconds: number;
  train: TrainMeasurement;
  infer: InferMeasurement;
  /** batch 1 on one thread: one video's rollout in `crevnet predict` */
  oneSequence: InferMeasurement;
  /** the same figures with the multi-threaded wasm build on one worker */
  wasmThreads?: { threads: number; train: TrainMeasurement; infer: InferMeasurement; oneSequence: InferMeasurement };
  memory: MemoryTable;
  memoryRows: MemoryMeasurement[];
  peer?: PeerSummary;
  profile?: ProfileMeasurement;
  /** one line per figure spread more than 20% (see stats.ts) */
  warnings: string[];
  details: {
    trainBatch: number;
    frames: number;
    inferBatch: number;
    context: number;
    horizon: number;
    repeats: number;
    params: number;
    trainStepSamples: number[];
    inferSeconds: number[];
    roundTripMaxErrorTrain: number;
    roundTripMaxErrorEval: number;
    /** tensors leaked, summed over the children */
    tensorsLeaked: number;
    /** largest resident set of a child */
    rssBytes: number;
    /** one child process per measurement */
    processes: number;
  };
}

function expectKind<K extends ChildMeasurement['kind']>(r: ChildMeasurement | ChildFailure, kind: K, what: string): Extract<ChildMeasurement, { kind: K }> {
  if (isFailure(r)) {
    if (r.unavailable) throw new UserError(r.reason);
    throw new InternalError(`bench: ${what} failed: ${r.reason}`);
  }
  if (r.kind !== kind) throw new InternalError(`bench: ${what} returned a '${r.kind}' measurement`);
  return r as Extract<ChildMeasurement, { kind: K }>;
}

const median = (xs: number[]) => summarize(xs).median;

/**
 * Peer figures from `runs` invocations; each ratio is the median of the per-round ratios against
 * `ours` (one entry per round, or one entry for all runs).
 */
export function summarizePeer(results: PeerResult[], ours: { trainStepSeconds: number[]; inferSeqPerSecond: number[] }): PeerSummary {
  const first = results[0]!;
  const ok = results.filter((r) => !r.skipped);
  const train = ok.map((r) => r.trainStepSeconds).filter((v): v is number => v !== null);
  const infer = ok.map((r) => r.inferSeqPerSecond).filter((v): v is number => v !== null);
  const trainStep = train.length ? summarize(train) : null;
  const inference = infer.length ? summarize(infer) : null;
  const base = ok[0] ?? first;
  const ourAt = (xs: number[], i: number) => xs[Math.min(i, xs.length - 1)]!;
  const trainRatios = train.map((t, i) => ourAt(ours.trainStepSeconds, i) / t);
  const inferRatios = infer.map((v, i) => v / ourAt(ours.inferSeqPerSecond, i));
  return {
    ...base,
    trainStepSeconds: trainStep?.median ?? null,
    inferSeqPerSecond: inference?.median ?? null,
    runs: results.length,
    trainStep,
    inference,
    trainStepRatio: trainRatios.length ? median(trainRatios) : null,
    inferTimeRatio: inferRatios.length ? median(inferRatios) : null,
    roundRatios: { trainStep: trainRatios, inferTime: inferRatios },
  };
}

/** Several rounds' timings of one figure as one: the samples pooled, the warm-up of the slowest to settle. */
function poolTimings(ts: SettledTiming[]): SettledTiming {
  return { ...ts[0]!, ...summarize(ts.flatMap((t) => t.samples)), warmupRuns: Math.max(...ts.map((t) => t.warmupRuns)), settled: ts.every((t) => t.settled) };
}

/** What the rounds' children of one measurement leaked in all, and the largest of them. */
function pooledProcess(rounds: { tensorsLeaked: number; rssBytes: number }[]) {
  return { tensorsLeaked: rounds.reduce((n, r) => n + r.tensorsLeaked, 0), rssBytes: Math.max(...rounds.map((r) => r.rssBytes)) };
}

/** One measurement from several rounds' children: the samples pooled, the first child's other fields. */
function pooledTrain(rounds: TrainMeasurement[]): TrainMeasurement {
  if (rounds.length === 1) return rounds[0]!;
  return { ...rounds[0]!, step: poolTimings(rounds.map((r) => r.step)), ...pooledProcess(rounds) };
}

function pooledInfer(rounds: InferMeasurement[]): InferMeasurement {
  if (rounds.length === 1) return rounds[0]!;
  return {
    ...rounds[0]!,
    rollout: poolTimings(rounds.map((r) => r.rollout)),
    seqPerSecond: summarize(rounds.flatMap((r) => r.seqPerSecond.samples)),
    roundTripMaxErrorTrain: Math.max(...rounds.map((r) => r.roundTripMaxErrorTrain)),
    roundTripMaxErrorEval: Math.max(...rounds.map((r) => r.roundTripMaxErrorEval)),
    ...pooledProcess(rounds),
  };
}

export async function runBenchSuite(o: SuiteOptions): Promise<BenchReport> {
  const log = o.log ?? (() => {});
  const run = o.runChild ?? measureInChild;
  const g = o.globalArgs ?? [];
  const repeats = o.repeats ?? 5;
  const warmup = o.warmup ?? 1;
  const maxWarmup = o.maxWarmup ?? 10;
  const trainBatch = o.trainBatch ?? 4;
  const frames = o.frames ?? 20;
  const inferBatch = o.inferBatch ?? 16;
  const memoryBlocks = o.memoryBlocks ?? [2, 4, 8, 16];
  const timing = ['--repeats', String(repeats), '--warmup', String(warmup), '--max-warmup', String(maxWarmup)];
  const common = ['--config', o.config];
  let processes = 0;
  const child = async (args: string[]) => {
    processes++;
    return run(g, args);
  };

  const trainWorkers = String(o.workers ?? o.trainWorkers ?? 'auto');
  const rounds = o.peer ? Math.max(1, o.peerRuns ?? 5) : 1;
  const trains: TrainMeasurement[] = [];
  const infers: InferMeasurement[] = [];
  const peerResults: PeerResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const of = rounds > 1 ? `, round ${i + 1} of ${rounds}` : '';
    log(`train step: batch ${trainBatch}, ${frames} frames (child process${of})`);
    trains.push(expectKind(await child(['train', ...common, ...timing, '--batch', String(trainBatch), '--frames', String(frames), '--workers', trainWorkers]), 'train', 'the training-step measurement'));
    log(`inference: 10→10 at batch ${inferBatch} (child process${of})`);
    infers.push(expectKind(await child(['infer', ...common, ...timing, '--infer-batch', String(inferBatch), '--workers', String(o.workers ?? 'auto')]), 'infer', 'the inference measurement'));
    if (o.peer) {
      log(`PyTorch peer (scripts/peer-bench.sh${of})`);
      const r = o.runPeerOnce ? await o.runPeerOnce() : await runPeer(o.modelConfig, { batch: trainBatch, iters: o.peerIters ?? 10, evalSequences: inferBatch, frames });
      peerResults.push(r);
      if (r.skipped) break;
    }
  }
  const train = pooledTrain(trains);
  const infer = pooledInfer(infers);
  log('one sequence: 10→10 at batch 1 on one thread (child process)');
  const oneSequence = expectKind(await child(['infer', ...common, ...timing, '--infer-batch', '1', '--workers', '1']), 'infer', 'the one-sequence measurement');
  let wasmThreads: BenchReport['wasmThreads'];
  if (o.wasmThreads !== undefined) {
    const mt = ['--wasm-threads', String(o.wasmThreads), '--workers', '1'];
    log(`multi-threaded wasm build, ${o.wasmThreads} XNNPACK threads: train step, inference, one sequence (child processes)`);
    wasmThreads = {
      threads: o.wasmThreads,
      train: expectKind(await child(['train', ...common, ...timing, ...mt, '--batch', String(trainBatch), '--frames', String(frames)]), 'train', 'the multi-threaded training-step measurement'),
      infer: expectKind(await child(['infer', ...common, ...timing, ...mt, '--infer-batch', String(inferBatch)]), 'infer', 'the multi-threaded inference measurement'),
      oneSequence: expectKind(await child(['infer', ...common, ...timing, ...mt, '--infer-batch', '1']), 'infer', 'the multi-threaded one-sequence measurement'),
    };
  }

  const memory: MemoryTable = { blocks: memoryBlocks, plainPeakBytes: [], reversiblePeakBytes: [], plainBaselineBytes: [], reversibleBaselineBytes: [] };
  const memoryRows: MemoryMeasurement[] = [];
  const notes = new Set<string>();
  for (const n of memoryBlocks) {
    for (const reversible of [false, true]) {
      log(`memory: ${n} blocks, ${reversible ? 'reversible' : 'plain'} backprop (child process)`);
      const row = expectKind(
        await child(['memory', ...common, '--batch', String(trainBatch), '--frames', String(frames), '--memory-blocks', String(n), ...(reversible ? ['--reversible'] : [])]),
        'memory',
        `the memory row (${n} blocks, ${reversible ? 'reversible' : 'plain'})`,
      );
      memoryRows.push(row);
      (reversible ? memory.reversiblePeakBytes : memory.plainPeakBytes).push(row.peakBytes);
      (reversible ? memory.reversibleBaselineBytes : memory.plainBaselineBytes).push(row.baselineBytes);
      if (row.note) notes.add(row.note);
    }
  }
  if (notes.size > 0) memory.notes = [...notes];

  let profile: ProfileMeasurement | undefined;
  if (o.profile) {
    log('profile: one training step and one rollout on one thread (child process)');
    profile = expectKind(await child(['profile', ...common, '--batch', String(trainBatch), '--frames', String(frames), '--infer-batch', String(inferBatch)]), 'profile', 'the profile');
  }

  const report: BenchReport = {
    backend: train.backend,
    adapter: train.adapter ?? null,
    config: train.config,
    trainStepSeconds: train.step.median,
    workers: train.threads,
    inferSeqPerSecond: infer.seqPerSecond.median,
    inferWorkers: infer.threads,
    roundTripMaxError: Math.max(infer.roundTripMaxErrorTrain, infer.roundTripMaxErrorEval),
    oneSequenceSeconds: oneSequence.rollout.median,
    train,
    infer,
    oneSequence,
    memory,
    memoryRows,
    warnings: [],
    details: {
      trainBatch,
      frames,
      inferBatch,
      context: infer.context,
      horizon: infer.horizon,
      repeats,
      params: train.params,
      trainStepSamples: train.step.samples,
      inferSeconds: infer.rollout.samples,
      roundTripMaxErrorTrain: infer.roundTripMaxErrorTrain,
      roundTripMaxErrorEval: infer.roundTripMaxErrorEval,
      tensorsLeaked: [train, infer, oneSequence, ...memoryRows].reduce((n, r) => n + r.tensorsLeaked, 0),
      rssBytes: Math.max(...[train, infer, oneSequence, ...memoryRows].map((r) => r.rssBytes)),
      processes,
    },
  };
  if (profile) report.profile = profile;
  if (wasmThreads) report.wasmThreads = wasmThreads;

  if (o.peer) {
    report.peer = summarizePeer(peerResults, {
      trainStepSeconds: trains.map((t) => t.step.median),
      inferSeqPerSecond: infers.map((r) => r.seqPerSecond.median),
    });
  }

  report.warnings = spreadWarnings({
    'training step': train.step,
    inference: infer.seqPerSecond,
    'one sequence': oneSequence.rollout,
    'peer training step': report.peer?.trainStep ?? undefined,
    'peer inference': report.peer?.inference ?? undefined,
  });
  if (!train.step.settled) report.warnings.push(`training step: the step time had not settled after ${train.step.warmupRuns} warm-up runs`);
  if (!infer.rollout.settled) report.warnings.push(`inference: the rollout time had not settled after ${infer.rollout.warmupRuns} warm-up runs`);
  if (!oneSequence.rollout.settled) report.warnings.push(`one sequence: the rollout time had not settled after ${oneSequence.rollout.warmupRuns} warm-up runs`);
  return report;
}
