/**
 * crevnet bench [--config small] [--json] [--all-backends] [--peer] [--repeats N] [--profile] [--micro]
 *
 * Training-step time, 10→10 inference throughput, encoder round-trip error and the peak-memory table
 * (plain vs reversible backprop by encoder depth) on the current backend; optionally the same on every
 * other backend (child processes) and the PyTorch peer measured in the same run.
 */
import type { Command } from 'commander';
import { action, parsePositiveInt, parseWorkers, printJson, startBackend } from './common.js';
import { UserError } from '../runtime/errors.js';
import { runBench, type BenchResult } from '../bench/harness.js';
import { runPeer, type PeerResult } from '../bench/peer.js';
import { ALL_BACKENDS, benchInChild, type ChildBenchResult } from '../bench/all-backends.js';
import { formatProfile, profileTrainStep, type StepProfile } from '../bench/profile.js';
import { formatMicro, runMicro } from '../bench/micro.js';
import { loadConfig } from '../model/config-file.js';
import { describeAdapter, type WebGpuAdapterSummary } from '../runtime/webgpu.js';

interface BenchCliOptions {
  config: string;
  json?: boolean;
  repeats: number;
  warmup: number;
  batch: number;
  frames: number;
  inferBatch: number;
  memoryBlocks: number[];
  allBackends?: boolean;
  peer?: boolean;
  peerIters: number;
  profile?: boolean;
  micro?: boolean;
  quiet?: boolean;
  workers?: number | 'auto';
}

export interface BenchReport extends BenchResult {
  /** the GPU adapter of the webgpu backend (null on the others) */
  adapter?: WebGpuAdapterSummary | null;
  peer?: PeerResult & {
    /** ours / peer seconds per training step (≤ 1: we are faster) */
    trainStepRatio: number | null;
    /** peer / ours seconds per inferred sequence, i.e. ours/peer time (≤ 1: we are faster) */
    inferTimeRatio: number | null;
  };
  profile?: Omit<StepProfile, 'byShape'> & { byShape?: StepProfile['byShape'] };
  otherBackends?: ChildBenchResult[];
}

function parseBlockList(value: string): number[] {
  if (value.trim() === '' || value === 'none') return [];
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new UserError(`--memory-blocks must be a comma-separated list of positive integers or "none", got "${value}"`);
    return n;
  });
}

const mib = (b: number | null | undefined) => (b === null || b === undefined ? '   n/a' : (b / 2 ** 20).toFixed(1).padStart(6));
const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

export function formatReport(r: BenchReport): string {
  const lines = [
    `crevnet bench: config ${r.config}, backend ${r.backend}, ${r.details.params} params`,
    ...(r.adapter ? [`  adapter      ${describeAdapter(r.adapter)}${r.adapter.software ? ' [software: for correctness, not speed]' : ''}`] : []),
    `  train step   ${fmt(r.trainStepSeconds)} s  (Adam, batch ${r.details.trainBatch}, ${r.details.frames} frames, ${r.workers} thread${r.workers > 1 ? 's (data parallel)' : ''}; median of ${r.details.repeats})`,
    `  inference    ${fmt(r.inferSeqPerSecond, 2)} seq/s  (${r.details.context}→${r.details.horizon} at batch ${r.details.inferBatch})`,
    `  round trip   max |D(E(x)) − x| = ${r.roundTripMaxError.toExponential(2)}`,
  ];
  if (r.peer) {
    const p = r.peer;
    if (p.skipped) lines.push(`  peer         skipped: ${p.skipped}`);
    else {
      lines.push(`  peer         ${fmt(p.trainStepSeconds)} s/step, ${fmt(p.inferSeqPerSecond, 2)} seq/s (batch ${p.inferBatch ?? 'n/a'})  [${p.command}]`);
      lines.push(`  ratio        train step ${fmt(p.trainStepRatio, 2)}× the peer's time, inference ${fmt(p.inferTimeRatio, 2)}× (≤ 1: faster than PyTorch)`);
    }
  }
  if (r.memory.blocks.length > 0) {
    lines.push('', '  peak memory of one training step (tf.profile, MiB)', '  blocks   plain  reversible');
    r.memory.blocks.forEach((b, i) => lines.push(`  ${String(b).padStart(6)}  ${mib(r.memory.plainPeakBytes[i])}  ${mib(r.memory.reversiblePeakBytes[i])}`));
    for (const n of r.memory.notes ?? []) lines.push(`  note: ${n}`);
  }
  if (r.otherBackends) {
    lines.push('', '  other backends:');
    for (const o of r.otherBackends) {
      if (!o.result) {
        lines.push(`  ${o.backend.padEnd(11)} ${o.available ? 'failed' : 'not available'}: ${o.reason ?? ''}`);
        continue;
      }
      const x = o.result as unknown as BenchReport;
      if (x.adapter) lines.push(`  ${o.backend.padEnd(11)} on ${describeAdapter(x.adapter)}`);
      lines.push(`  ${o.backend.padEnd(11)} train ${fmt(x.trainStepSeconds)} s, inference ${fmt(x.inferSeqPerSecond, 2)} seq/s, round trip ${x.roundTripMaxError.toExponential(2)}`);
    }
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark training-step time, inference throughput, round-trip error and peak memory (optionally vs the PyTorch peer)')
    .option('--config <name|path>', 'model config', 'small')
    .option('--json', 'print one JSON object')
    .option('--repeats <n>', 'timed repeats (median reported)', parsePositiveInt('--repeats'), 5)
    .option('--warmup <n>', 'untimed warm-up runs', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--warmup must be a non-negative integer, got "${v}"`);
      return n;
    }, 1)
    .option('--batch <n>', 'training batch', parsePositiveInt('--batch'), 4)
    .option('--frames <n>', 'frames per training sequence', parsePositiveInt('--frames'), 20)
    .option('--infer-batch <n>', 'inference batch', parsePositiveInt('--infer-batch'), 16)
    .option('--workers <n|auto>', "threads of the training step (data parallel over worker_threads); default: the config's train.workers", parseWorkers('--workers'))
    .option('--memory-blocks <list>', 'encoder depths for the memory table, or "none"', parseBlockList, [2, 4, 8, 16])
    .option('--all-backends', 'also run every other available backend (one child process each)')
    .option('--peer', 'also run the PyTorch peer (scripts/peer-bench.sh) after our measurements and report ratios')
    .option('--peer-iters <n>', 'peer training iterations', parsePositiveInt('--peer-iters'), 10)
    .option('--profile', 'add a tf.profile kernel breakdown of one training step')
    .option('--micro', 'run the building-block microbenchmarks instead')
    .option('--quiet', 'no progress lines on stderr')
    .action(
      action(async (opts: BenchCliOptions, cmd: Command) => {
        const info = await startBackend(cmd);
        const log = opts.quiet || opts.json ? () => {} : (l: string) => process.stderr.write(`bench: ${l}\n`);
        if (opts.micro) {
          // kernel-variant microbenchmarks of the CPU backends; they read results synchronously
          if (info.backend === 'webgpu') throw new UserError('--micro compares wasm/cpu kernel variants; run it with --backend wasm or cpu');
          const m = runMicro({ repeats: opts.repeats, warmup: Math.max(1, opts.warmup), batch: opts.batch });
          if (opts.json) printJson(m);
          else process.stdout.write(`${formatMicro(m)}\n`);
          return;
        }
        if (opts.frames < 4) throw new UserError(`--frames must be at least 4, got ${opts.frames}`);
        const config = await loadConfig(opts.config);
        const result: BenchReport = await runBench({
          config: opts.config,
          repeats: opts.repeats,
          warmup: opts.warmup,
          trainBatch: opts.batch,
          frames: opts.frames,
          inferBatch: opts.inferBatch,
          memoryBlocks: opts.memoryBlocks,
          log,
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        });
        result.adapter = info.adapter ?? null;
        if (opts.profile) {
          log('profile of one training step');
          result.profile = await profileTrainStep({ config: opts.config, batch: opts.batch, frames: opts.frames });
        }
        if (opts.allBackends) {
          result.otherBackends = [];
          const passthrough = [
            '--config', opts.config,
            '--repeats', String(opts.repeats),
            '--warmup', String(opts.warmup),
            '--batch', String(opts.batch),
            '--frames', String(opts.frames),
            '--infer-batch', String(opts.inferBatch),
            '--memory-blocks', opts.memoryBlocks.length ? opts.memoryBlocks.join(',') : 'none',
            ...(opts.workers !== undefined ? ['--workers', String(opts.workers)] : []),
          ];
          for (const b of ALL_BACKENDS) {
            if (b === info.backend) continue;
            log(`backend ${b} (child process)`);
            result.otherBackends.push(await benchInChild(b, passthrough));
          }
        }
        if (opts.peer) {
          log('PyTorch peer (scripts/peer-bench.sh)');
          const p = await runPeer(config, { batch: opts.batch, iters: opts.peerIters, evalSequences: opts.inferBatch, frames: opts.frames });
          result.peer = {
            ...p,
            trainStepRatio: p.trainStepSeconds ? result.trainStepSeconds / p.trainStepSeconds : null,
            inferTimeRatio: p.inferSeqPerSecond ? p.inferSeqPerSecond / result.inferSeqPerSecond : null,
          };
        }
        if (opts.json) return printJson(result);
        process.stdout.write(`${formatReport(result)}\n`);
        if (result.profile) process.stdout.write(`\n${formatProfile(result.profile as StepProfile)}\n`);
      }),
    );
}
