/**
 * `crevnet bench --all-backends`: the same benchmark on every other backend, each in its own child
 * process (a process has one tfjs engine and wasm/native backends cannot be unloaded), one after the
 * other so they do not compete for the cores.
 */
import { runProcess } from './run-process.js';

/** webgpu takes whatever adapter there is, a software one included (its numbers then show correctness, not speed) */
export const ALL_BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

export interface ChildBenchResult {
  backend: string;
  available: boolean;
  /** why it did not run or failed */
  reason?: string;
  result?: Record<string, unknown>;
}

/** Re-run this CLI (same node flags, e.g. `--import tsx`) with `--backend name bench --json …args`. */
export async function benchInChild(backend: string, benchArgs: string[]): Promise<ChildBenchResult> {
  const script = process.argv[1];
  if (!script) return { backend, available: false, reason: 'cannot locate the crevnet CLI script' };
  const argv = [...process.execArgv, script, '--backend', backend, 'bench', '--json', ...benchArgs];
  const { code, stdout, stderr } = await runProcess(process.execPath, argv, { env: { ...process.env, CREVNET_BACKEND: backend } });
  if (code !== 0) {
    const line = stderr.split('\n').find((l) => l.startsWith('error:')) ?? stderr.trim().split('\n').pop() ?? `exit code ${code}`;
    const unavailable = /not available/.test(line);
    return { backend, available: !unavailable, reason: line.replace(/^error:\s*/, '') };
  }
  try {
    return { backend, available: true, result: JSON.parse(stdout) as Record<string, unknown> };
  } catch {
    return { backend, available: true, reason: 'child printed no JSON' };
  }
}
