/**
 * Configs on disk: the named configs shipped in configs/*.json and config files given by path.
 * Kept apart from ./config.ts (schema and validation) because it needs Node's fs, which the browser
 * app's bundle must not contain.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../runtime/errors.js';
import { packageRoot } from '../runtime/package-root.js';
import { parseConfig, type ModelConfig } from './config.js';

export const BUILTIN_CONFIGS = ['paper', 'medium', 'small', 'tiny', 'color-small', 'color-tiny'] as const;
export type BuiltinConfigName = (typeof BUILTIN_CONFIGS)[number];

/** Directory holding the named configs (the package root's configs/). */
export function configsDir(): string {
  return join(packageRoot(), 'configs');
}

/** A config file read and its model section validated; `train` is its train section as written (unvalidated). */
export interface ConfigFileContents {
  model: ModelConfig;
  train: Record<string, unknown>;
  /** how error messages name the file, e.g. "configs/small.json" */
  source: string;
}

/** 'paper' | 'medium' | 'small' | 'tiny' | path/to/file.json → the validated model and the raw train section. */
export async function readConfigFile(nameOrPath: string): Promise<ConfigFileContents> {
  const builtin = (BUILTIN_CONFIGS as readonly string[]).includes(nameOrPath) && !existsSync(nameOrPath);
  const path = builtin ? join(configsDir(), `${nameOrPath}.json`) : nameOrPath;
  const source = builtin ? `configs/${nameOrPath}.json` : nameOrPath;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(`config "${nameOrPath}" not found: not a built-in name (${BUILTIN_CONFIGS.join(', ')}) and no such file`);
    }
    throw new UserError(`${source}: cannot read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${source}: invalid JSON (${(err as Error).message})`);
  }
  const model = parseConfig(json, source, basename(path).replace(/\.json$/i, ''));
  return { model, train: { ...((json as { train?: Record<string, unknown> }).train ?? {}) }, source };
}

/** 'paper' | 'medium' | 'small' | 'tiny' | path/to/file.json → validated model config. */
export async function loadConfig(nameOrPath: string): Promise<ModelConfig> {
  return (await readConfigFile(nameOrPath)).model;
}
