/**
 * `crevnet bench --all-backends`: the same benchmark on every other backend, each in its own child
 * process (a process has one tfjs engine and wasm/native backends cannot be unloaded), one after the
 * other so they do not compete for the cores.
 */
import { spawn } from 'node:child_process';

export const ALL_BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;

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
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CREVNET_BACKEND: backend },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
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
