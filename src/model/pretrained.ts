/**
 * Where models live: the bundled pretrained models (outputs/pretrained/NAME/ inside the installed
 * package, found from this file's URL so they work from any working directory; one of them is the
 * default), and how a --model argument maps to a checkpoint directory.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { UserError } from '../runtime/errors.js';
import { packageRoot } from '../runtime/package-root.js';

export const DEFAULT_MODEL_NAME = 'mmnist-medium';

export { packageRoot } from '../runtime/package-root.js';

/** outputs/pretrained/ of the installed package: one directory per bundled model. */
export function bundledModelsDir(): string {
  return join(packageRoot(), 'outputs', 'pretrained');
}

/** outputs/pretrained/<DEFAULT_MODEL_NAME>/ of the installed package. */
export function defaultModelDir(): string {
  return join(bundledModelsDir(), DEFAULT_MODEL_NAME);
}

/** Names of the bundled models (directories of outputs/pretrained/ that hold a checkpoint), sorted. */
export function bundledModelNames(): string[] {
  const root = bundledModelsDir();
  if (!isDir(root)) return [];
  return readdirSync(root)
    .filter((n) => !n.startsWith('.') && isCheckpointDir(join(root, n)))
    .sort();
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
 * `--model` → checkpoint directory. Omitted or "default": the default bundled model. A path that
 * exists wins; otherwise a bare name of a bundled model (e.g. "mmnist-small") names it. A training
 * run directory (with best/ and last/) resolves to best/, else last/.
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
  if (!existsSync(p)) {
    const bundled = bundledModelNames();
    if (bundled.includes(arg)) {
      const dir = join(bundledModelsDir(), arg);
      return { dir, label: relative(packageRoot(), dir), isDefault: dir === defaultModelDir() };
    }
    const hint = bundled.length > 0 ? ` (bundled models: ${bundled.join(', ')}; or "default")` : '';
    throw new UserError(`model directory not found: ${arg}${hint}`);
  }
  if (!isDir(p)) throw new UserError(`--model must be a checkpoint or run directory, got a file: ${arg}`);
  if (isCheckpointDir(p)) return { dir: p, label: arg, isDefault: false };
  for (const sub of ['best', 'last']) {
    if (isCheckpointDir(join(p, sub))) return { dir: join(p, sub), label: join(arg, sub), isDefault: false };
  }
  throw new UserError(`${arg} holds no checkpoint (no model.json, best/ or last/)`);
}
