/**
 * Where models live: the bundled pretrained model (outputs/pretrained/mmnist-small/ inside the
 * installed package, found from this file's URL so it works from any working directory), and
 * how a --model argument maps to a checkpoint directory.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../runtime/errors.js';

export const DEFAULT_MODEL_NAME = 'mmnist-small';

/** Package root: this file is src/eval/pretrained.ts (tsx) or dist/eval/pretrained.js (built). */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** outputs/pretrained/mmnist-small/ of the installed package. */
export function defaultModelDir(): string {
  return join(packageRoot(), 'outputs', 'pretrained', DEFAULT_MODEL_NAME);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A checkpoint directory holds the model's weights manifest. */
export function isCheckpointDir(p: string): boolean {
  return isDir(p) && existsSync(join(p, 'model.json'));
}

export interface ResolvedModel {
  /** checkpoint directory to load */
  dir: string;
  /**
   * what to print and record in reports: "default (outputs/pretrained/mmnist-small)" (relative to the
   * package, so committed results do not name the machine they were made on) or the path given
   */
  label: string;
  isDefault: boolean;
}

/**
 * `--model` → checkpoint directory. Omitted or "default": the bundled model. A training run
 * directory (with best/ and last/) resolves to best/, else last/.
 */
export function resolveModelDir(arg?: string): ResolvedModel {
  if (arg === undefined || arg === '' || arg === 'default') {
    const dir = defaultModelDir();
    if (!isCheckpointDir(dir)) {
      throw new UserError(
        `the bundled model is not there yet (${dir}); train one with \`crevnet train --config configs/small.json\` and pass --model outputs/runs/NAME`,
      );
    }
    return { dir, label: `default (${relative(packageRoot(), dir)})`, isDefault: true };
  }
  const p = resolve(arg);
  if (!existsSync(p)) throw new UserError(`model directory not found: ${arg}`);
  if (!isDir(p)) throw new UserError(`--model must be a checkpoint or run directory, got a file: ${arg}`);
  if (isCheckpointDir(p)) return { dir: p, label: arg, isDefault: false };
  for (const sub of ['best', 'last']) {
    if (isCheckpointDir(join(p, sub))) return { dir: join(p, sub), label: join(arg, sub), isDefault: false };
  }
  throw new UserError(`${arg} holds no checkpoint (no model.json, best/ or last/)`);
}
