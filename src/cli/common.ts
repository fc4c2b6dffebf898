/** Shared CLI plumbing: error reporting, backend start-up, output helpers. */
import type { Command } from 'commander';
import { initBackend, type BackendInfo } from '../runtime/backend.js';
import { errorMessage, exitCodeOf, UserError } from '../runtime/errors.js';

export interface GlobalOptions {
  backend?: string;
  debug?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

let debug = false;
export function setDebug(on: boolean): void {
  debug = on;
}

/** Print one `error: …` line (stack only with --debug) and set the exit code. */
export function reportError(err: unknown): void {
  process.stderr.write(`error: ${errorMessage(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = exitCodeOf(err);
}

/** Wrap a command action so every failure ends as a one-line error with the right exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}

/** Initialise tfjs with the global --backend option; warnings go to stderr. */
export async function startBackend(cmd: Command): Promise<BackendInfo> {
  const info = await initBackend(globalOptions(cmd).backend);
  for (const w of info.warnings) process.stderr.write(`warning: ${w}\n`);
  return info;
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UserError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** A thread count: a positive integer or 'auto'. */
export function parseWorkers(name: string) {
  return (value: string): number | 'auto' => {
    if (value.trim().toLowerCase() === 'auto') return 'auto';
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new UserError(`${name} must be 'auto' or an integer from 1 to 64, got "${value}"`);
    return n;
  };
}

export function parseNumberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new UserError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

/** A finite number ≥ 0 (loss-term weights). */
export function parseNonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new UserError(`${name} must be a number ≥ 0, got "${value}"`);
    return n;
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
