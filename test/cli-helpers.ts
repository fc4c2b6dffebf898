/** Run the `crevnet` CLI (src/cli.ts through tsx) as a child process and capture its output and exit code. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'src', 'cli.ts');
/** tsx as a resolved URL, so the CLI also runs from a scratch working directory outside the repository */
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  /** exit code; null when the process was killed by a signal (e.g. on `timeout`) */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** working directory (default: the repository root) */
  cwd?: string;
  /** added to (and overriding) process.env */
  env?: NodeJS.ProcessEnv;
  /** kill the process (SIGTERM) after this many milliseconds */
  timeout?: number;
}

/** Start `crevnet <args>` as a child process. */
export function startCli(args: string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => stdout + stderr };
}

/** Run `crevnet <args>` to the end. */
export function runCli(args: string[], opts?: CliOptions): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Assert that a run failed as a user error: exit code 2 and a single stderr line `error: …` that matches `re`. */
export function assertUserError(r: CliResult, re: RegExp, label: string): void {
  assert.equal(r.code, 2, `${label}: exit ${r.code}, stderr ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${label}: stderr is one line: ${r.stderr}`);
  assert.match(lines[0]!, /^error: /, label);
  assert.match(lines[0]!, re, label);
}
