/** Shared helpers of the train/eval tests: temp dirs, file hashes, configs; the CLI runner is ./cli-helpers.ts. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli-helpers.js';

export { CLI, ROOT, runCli, startCli, type CliResult } from './cli-helpers.js';

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Hashes of every file of a directory (name → sha256). */
export async function hashDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await sha256File(join(dir, f));
  return out;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** A copy of configs/tiny.json with `train` fields replaced, written to `path`. */
export async function tinyConfig(path: string, train: Record<string, unknown>): Promise<string> {
  const cfg = JSON.parse(await readFile(join(ROOT, 'configs', 'tiny.json'), 'utf8')) as { train: Record<string, unknown> };
  cfg.train = { ...cfg.train, ...train };
  await writeFile(path, JSON.stringify(cfg));
  return path;
}

export function readJsonl(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
