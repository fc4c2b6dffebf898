/**
 * The PyTorch peer (a reference implementation outside this repository; scripts/peer-bench.sh says where
 * it is looked for) run through scripts/peer-bench.sh, for ratios measured in the same run as our own
 * benchmark.
 */
import { runProcess } from './run-process.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { packageRoot } from '../model/pretrained.js';

export interface PeerResult {
  /** the command that produced it */
  command: string;
  /** set when the peer could not run (no python3/torch, no peer script); the numbers are then null */
  skipped?: string;
  trainStepSeconds: number | null;
  inferSeqPerSecond: number | null;
  inferBatch: number | null;
  params: number | null;
  raw?: Record<string, unknown>;
}

export function peerScript(): string {
  return join(packageRoot(), 'scripts', 'peer-bench.sh');
}

export interface PeerOptions {
  /** training batch (ours: 4) */
  batch?: number;
  /** timed training iterations (the first is dropped by the peer's median) */
  iters?: number;
  /** sequences in the peer's one timed 10→10 predict call (ours times batch 16) */
  evalSequences?: number;
  /** torch threads (default 2 = the machine's cores, as in the 0.65 s reference) */
  threads?: number;
  frames?: number;
}

export function peerArgs(config: ModelConfig, o: PeerOptions = {}): string[] {
  const args = [
    '--blocks', config.nBlocks.join(','),
    '--strides', config.strides.join(','),
    '--layers', String(config.predictorLayers),
    '--batch', String(o.batch ?? 4),
    '--iters', String(o.iters ?? 10),
    '--threads', String(o.threads ?? 2),
  ];
  if (o.frames !== undefined) args.push('--steps', String(o.frames - 3));
  if ((o.evalSequences ?? 16) > 0) args.push('--eval', String(o.evalSequences ?? 16));
  return args;
}

/** Run the peer (after our own measurements, never concurrently with them) and parse its last JSON line. */
export async function runPeer(config: ModelConfig, o: PeerOptions = {}): Promise<PeerResult> {
  const script = peerScript();
  const args = peerArgs(config, o);
  const command = `scripts/peer-bench.sh ${args.join(' ')}`;
  const empty = { command, trainStepSeconds: null, inferSeqPerSecond: null, inferBatch: null, params: null };
  if (!existsSync(script)) return { ...empty, skipped: `${script} not found` };
  const { code, stdout, stderr } = await runProcess('bash', [script, ...args], { cwd: packageRoot() });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || !line) {
    const why = stderr.trim().split('\n').pop() ?? `exit code ${code}`;
    return { ...empty, skipped: `peer failed: ${why}` };
  }
  const raw = JSON.parse(line) as Record<string, unknown>;
  if (typeof raw.skipped === 'string') return { ...empty, skipped: raw.skipped };
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    command,
    trainStepSeconds: num(raw.s_per_iter_median),
    inferSeqPerSecond: num(raw.infer_seq_per_s),
    inferBatch: num(raw.eval_n),
    params: num(raw.params),
    raw,
  };
}
