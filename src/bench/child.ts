/**
 * Benchmark measurements in child processes: this CLI re-run (same node flags, e.g. tsx's loader) as
 * `crevnet [--backend B] bench --measure KIND --json …`, one after the other so they never compete
 * for the cores, each starting from a fresh heap and thread pool.
 */
import { InternalError } from '../runtime/errors.js';
import type { Measurement } from './measure.js';
import type { ProfileMeasurement } from './profile.js';

/** What a child prints. */
export type ChildMeasurement = Measurement | ProfileMeasurement;
import { runProcess } from './run-process.js';

/** The command line that re-runs this CLI with `args` (null when the CLI script is unknown). */
export function cliCommand(args: string[]): { command: string; args: string[] } | null {
  const script = process.argv[1];
  if (!script) return null;
  return { command: process.execPath, args: [...process.execArgv, script, ...args] };
}

export interface ChildFailure {
  /** the child's `error: …` line, or its last stderr line */
  reason: string;
  /** the backend could not be started in the child */
  unavailable: boolean;
}

/** Run `crevnet <globalArgs> bench --measure <measureArgs> --json` and parse its JSON; a ChildFailure when it fails. */
export async function measureInChild(globalArgs: string[], measureArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildMeasurement | ChildFailure> {
  const cli = cliCommand([...globalArgs, 'bench', '--json', '--quiet', '--measure', ...measureArgs]);
  if (!cli) throw new InternalError('bench: cannot locate the crevnet CLI script to start a measurement');
  const { code, stdout, stderr } = await runProcess(cli.command, cli.args, { env });
  if (code !== 0) {
    const line = stderr.split('\n').find((l) => l.startsWith('error:')) ?? stderr.trim().split('\n').pop() ?? `exit code ${code}`;
    return { reason: line.replace(/^error:\s*/, ''), unavailable: /not available/.test(line) };
  }
  try {
    return JSON.parse(stdout) as ChildMeasurement;
  } catch {
    return { reason: `the measurement printed no JSON (exit code ${code})`, unavailable: false };
  }
}

export function isFailure(r: ChildMeasurement | ChildFailure): r is ChildFailure {
  return 'reason' in r && !('kind' in r);
}
