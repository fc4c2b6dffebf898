/**
 * crevnet bench [--config small] [--json] [--peer] [--profile] [--all-backends] [--micro] …
 *
 * Training-step time, 10→10 inference throughput (both on every core: data parallel over worker
 * threads), encoder round-trip error and the peak-memory table, each measured in a child process of
 * its own (src/bench/suite.ts); optionally the PyTorch peer in the same run, the same on every other
 * backend, a kernel profile, or the building-block microbenchmarks.
 * `--measure KIND` is what each child runs (one measurement, JSON on stdout).
 */
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { action, globalOptions, parsePositiveInt, parseWorkers, printJson, startBackend } from './common.js';
import { InternalError, UserError } from '../runtime/errors.js';
import { ALL_BACKENDS } from '../bench/all-backends.js';
import { runBenchSuite, type BenchReport } from '../bench/suite.js';
import { MEASURE_KINDS, measureInfer, measureMemory, measureTrain, type MeasureKind } from '../bench/measure.js';
import { formatProfile, measureProfile } from '../bench/profile.js';
import { formatMicro, runMicro } from '../bench/micro.js';
import { withWasmThreads } from '../bench/wasm-threads.js';
import { describeAdapter } from '../runtime/webgpu.js';
import { loadTrainingConfig } from '../train/config.js';
import { resolveWorkers } from '../run/parallel.js';
import type { Figure } from '../bench/stats.js';

interface BenchCliOptions {
  config: string;
  json?: boolean;
  repeats: number;
  warmup: number;
  maxWarmup: number;
  batch: number;
  frames: number;
  inferBatch: number;
  memoryBlocks: number[];
  allBackends?: boolean;
  peer?: boolean;
  peerIters: number;
  peerRuns: number;
  profile?: boolean;
  micro?: boolean;
  quiet?: boolean;
  workers?: number | 'auto';
  measure?: MeasureKind | 'profile';
  reversible?: boolean;
  wasmThreads?: number;
}

export interface OtherBackend {
  backend: string;
  available: boolean;
  reason?: string;
  result?: BenchReport;
}

export type BenchCliReport = BenchReport & { otherBackends?: OtherBackend[] };

function parseBlockList(value: string): number[] {
  if (value.trim() === '' || value === 'none') return [];
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new UserError(`--memory-blocks must be a comma-separated list of positive integers or "none", got "${value}"`);
    return n;
  });
}

function parseCount(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

const mib = (b: number | null | undefined) => (b === null || b === undefined ? '   n/a' : (b / 2 ** 20).toFixed(1).padStart(6));
const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
const range = (f: Figure | null | undefined, d: number) => (f ? `${f.min.toFixed(d)}–${f.max.toFixed(d)}` : 'n/a');

export function formatReport(r: BenchCliReport): string {
  const t = r.train;
  const i = r.infer;
  const lines = [
    `crevnet bench: config ${r.config}, backend ${r.backend}, ${r.details.params} params; each measurement in its own process`,
    ...(r.adapter ? [`  adapter      ${describeAdapter(r.adapter)}${r.adapter.software ? ' [software: for correctness, not speed]' : ''}`] : []),
    `  train step   ${fmt(r.trainStepSeconds)} s  (range ${range(t.step, 3)}; Adam, batch ${t.batch}, ${t.frames} frames, ${t.threads} thread${t.threads > 1 ? 's, data parallel' : ''}; median of ${t.step.samples.length} after ${t.step.warmupRuns} warm-up)`,
    `  inference    ${fmt(r.inferSeqPerSecond, 2)} seq/s  (range ${range(i.seqPerSecond, 2)}; ${i.context}→${i.horizon} at batch ${i.batch}, ${i.threads} thread${i.threads > 1 ? 's, data parallel' : ''}; median of ${i.rollout.samples.length} after ${i.rollout.warmupRuns} warm-up)`,
    `  one sequence ${fmt(r.oneSequenceSeconds)} s  (range ${range(r.oneSequence.rollout, 3)}; ${r.oneSequence.context}→${r.oneSequence.horizon} at batch 1, one thread: what \`crevnet predict\` does for one video)`,
    `  round trip   max |D(E(x)) − x| = ${r.roundTripMaxError.toExponential(2)}`,
  ];
  if (r.wasmThreads) {
    const x = r.wasmThreads;
    lines.push(
      `  multi-threaded wasm build, ${x.threads} XNNPACK threads on one worker (experimental):`,
      `    train step   ${fmt(x.train.step.median)} s (range ${range(x.train.step, 3)})`,
      `    inference    ${fmt(x.infer.seqPerSecond.median, 2)} seq/s (range ${range(x.infer.seqPerSecond, 2)})`,
      `    one sequence ${fmt(x.oneSequence.rollout.median)} s (range ${range(x.oneSequence.rollout, 3)})`,
    );
  }
  if (r.peer) {
    const p = r.peer;
    if (p.skipped) lines.push(`  peer         skipped: ${p.skipped}`);
    else {
      lines.push(`  peer         ${fmt(p.trainStepSeconds)} s/step (range ${range(p.trainStep, 3)}), ${fmt(p.inferSeqPerSecond, 2)} seq/s (range ${range(p.inference, 2)}); ${p.runs} run${p.runs > 1 ? 's' : ''} of ${p.command}`);
      lines.push(`  ratio        train step ${fmt(p.trainStepRatio, 2)}× the peer's time, inference ${fmt(p.inferTimeRatio, 2)}× the peer's time per sequence (≤ 1: faster than PyTorch)`);
    }
  }
  if (r.memory.blocks.length > 0) {
    lines.push('', '  peak memory of one training step (tf.profile, MiB; one process per row)', '  blocks   plain  reversible');
    r.memory.blocks.forEach((b, k) => lines.push(`  ${String(b).padStart(6)}  ${mib(r.memory.plainPeakBytes[k])}  ${mib(r.memory.reversiblePeakBytes[k])}`));
    for (const n of r.memory.notes ?? []) lines.push(`  note: ${n}`);
  }
  if (r.otherBackends) {
    lines.push('', '  other backends:');
    for (const o of r.otherBackends) {
      if (!o.result) {
        lines.push(`  ${o.backend.padEnd(11)} ${o.available ? 'failed' : 'not available'}: ${o.reason ?? ''}`);
        continue;
      }
      const x = o.result;
      if (x.adapter) lines.push(`  ${o.backend.padEnd(11)} on ${describeAdapter(x.adapter)}`);
      lines.push(`  ${o.backend.padEnd(11)} train ${fmt(x.trainStepSeconds)} s, inference ${fmt(x.inferSeqPerSecond, 2)} seq/s, round trip ${x.roundTripMaxError.toExponential(2)}`);
    }
  }
  return lines.join('\n');
}

/** `--measure KIND`: one measurement in this process, JSON on stdout (what each child of `crevnet bench` runs). */
async function measureHere(kind: MeasureKind | 'profile', opts: BenchCliOptions): Promise<unknown> {
  const { model: config, train: settings } = await loadTrainingConfig(opts.config);
  const timing = { repeats: opts.repeats, minWarmup: Math.max(1, opts.warmup), maxWarmup: opts.maxWarmup };
  const threads = (setting: number | 'auto' | undefined) => resolveWorkers(setting ?? 'auto');
  switch (kind) {
    case 'train':
      return measureTrain({ config, settings, batch: opts.batch, frames: opts.frames, threads: threads(opts.workers ?? settings.workers), ...timing });
    case 'infer':
      return measureInfer({ config, batch: opts.inferBatch, threads: threads(opts.workers), ...timing });
    case 'memory': {
      if (opts.memoryBlocks.length !== 1) throw new UserError('--measure memory needs one --memory-blocks value');
      return measureMemory({ config, settings, blocks: opts.memoryBlocks[0]!, reversible: opts.reversible ?? false, batch: opts.batch, frames: opts.frames });
    }
    case 'profile':
      return measureProfile({ config, settings, batch: opts.batch, frames: opts.frames, inferBatch: opts.inferBatch });
  }
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark training-step time, inference throughput, round-trip error and peak memory, each in its own process (optionally vs the PyTorch peer)')
    .option('--config <name|path>', 'model config', 'small')
    .option('--json', 'print one JSON object')
    .option('--repeats <n>', 'timed runs per figure (median and range reported)', parsePositiveInt('--repeats'), 5)
    .option('--warmup <n>', 'warm-up runs at least (the warm-up goes on until the step time settles)', parseCount('--warmup'), 1)
    .option('--max-warmup <n>', 'warm-up runs at most', parseCount('--max-warmup'), 10)
    .option('--batch <n>', 'training batch', parsePositiveInt('--batch'), 4)
    .option('--frames <n>', 'frames per training sequence', parsePositiveInt('--frames'), 20)
    .option('--infer-batch <n>', 'inference batch', parsePositiveInt('--infer-batch'), 16)
    .option('--workers <n|auto>', "threads of the training step and the inference (data parallel over worker_threads); default: the config's train.workers for training, auto for inference", parseWorkers('--workers'))
    .option('--memory-blocks <list>', 'encoder depths for the memory table, or "none"', parseBlockList, [2, 4, 8, 16])
    .option('--all-backends', 'also run every other available backend')
    .option('--peer', 'also run the PyTorch peer (scripts/peer-bench.sh) after our measurements and report ratios')
    .option('--peer-iters <n>', 'peer training iterations per run', parsePositiveInt('--peer-iters'), 10)
    .option('--peer-runs <n>', 'rounds with the peer: our training step and inference, then one peer run; each ratio is the median of the rounds\' ratios', parsePositiveInt('--peer-runs'), 5)
    .option('--profile', 'add a tf.profile kernel breakdown of one training step and one rollout (one thread)')
    .option('--wasm-threads <n>', "also measure the training step and the rollouts on one worker with the multi-threaded wasm build's n XNNPACK threads (experimental; wasm only)", parsePositiveInt('--wasm-threads'))
    .option('--micro', 'run the building-block microbenchmarks instead')
    .option('--quiet', 'no progress lines on stderr')
    .addOption(new Option('--measure <kind>', 'run one measurement in this process (what each child runs)').choices([...MEASURE_KINDS, 'profile']).hideHelp())
    .addOption(new Option('--reversible', 'with --measure memory: reversible backprop').hideHelp())
    .action(
      action(async (opts: BenchCliOptions, cmd: Command) => {
        if (opts.frames < 4) throw new UserError(`--frames must be at least 4, got ${opts.frames}`);
        if (opts.measure) {
          if (opts.wasmThreads !== undefined) {
            const threads = opts.wasmThreads;
            const got = await withWasmThreads(threads, async () => void (await startBackend(cmd)));
            if (got === 0) throw new UserError('--wasm-threads needs the wasm backend (--backend wasm)');
            if (got !== threads) throw new InternalError(`--wasm-threads ${threads}: the multi-threaded wasm build started with ${got} thread${got === 1 ? '' : 's'}`);
            try {
              return printJson(await measureHere(opts.measure, opts));
            } finally {
              // the running pthreads keep the process alive: disposing the backend terminates them
              tf.removeBackend('wasm');
            }
          }
          const info = await startBackend(cmd);
          return printJson({ ...((await measureHere(opts.measure, opts)) as object), adapter: info.adapter ?? null });
        }
        const log = opts.quiet || opts.json ? () => {} : (l: string) => process.stderr.write(`bench: ${l}\n`);
        if (opts.micro) {
          const info = await startBackend(cmd);
          // kernel-variant microbenchmarks of the CPU backends; they read results synchronously
          if (info.backend === 'webgpu') throw new UserError('--micro compares wasm/cpu kernel variants; run it with --backend wasm or cpu');
          const m = runMicro({ repeats: opts.repeats, warmup: Math.max(1, opts.warmup), batch: opts.batch });
          if (opts.json) printJson(m);
          else process.stdout.write(`${formatMicro(m)}\n`);
          return;
        }
        const { model: config, train: settings } = await loadTrainingConfig(opts.config);
        const g = globalOptions(cmd);
        const suite = (backend?: string) =>
          runBenchSuite({
            config: opts.config,
            modelConfig: config,
            globalArgs: backend ? ['--backend', backend] : g.backend ? ['--backend', g.backend] : [],
            repeats: opts.repeats,
            warmup: opts.warmup,
            maxWarmup: opts.maxWarmup,
            trainBatch: opts.batch,
            frames: opts.frames,
            inferBatch: opts.inferBatch,
            trainWorkers: settings.workers,
            memoryBlocks: opts.memoryBlocks,
            log: backend ? (l) => log(`[${backend}] ${l}`) : log,
            ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
            ...(backend === undefined ? { profile: opts.profile ?? false, peer: opts.peer ?? false, peerIters: opts.peerIters, peerRuns: opts.peerRuns } : {}),
            ...(backend === undefined && opts.wasmThreads !== undefined ? { wasmThreads: opts.wasmThreads } : {}),
          });
        const result: BenchCliReport = await suite();
        if (opts.allBackends) {
          result.otherBackends = [];
          for (const b of ALL_BACKENDS) {
            if (b === result.backend) continue;
            try {
              result.otherBackends.push({ backend: b, available: true, result: await suite(b) });
            } catch (err) {
              const reason = err instanceof Error ? err.message : String(err);
              result.otherBackends.push({ backend: b, available: !(err instanceof UserError), reason });
            }
          }
        }
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        if (opts.json) return printJson(result);
        process.stdout.write(`${formatReport(result)}\n`);
        if (result.profile) process.stdout.write(`\n${formatProfile(result.profile.train)}\n\n${formatProfile(result.profile.rollout)}\n`);
      }),
    );
}
