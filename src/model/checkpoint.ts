/**
 * Checkpoints: one directory, written atomically, verified on load.
 *
 *   config.json     the model config in file form (configToJson); a training checkpoint's also holds
 *                   the run's train section, carried verbatim (`train`: the model needs only the architecture)
 *   model.json      tfjs weights manifest: { format, weightsManifest: [{ paths: ['weights.bin'], weights: [{name,shape,dtype}] }] }
 *   weights.bin     all model weights incl. BN running stats (non-trainable), float32, manifest order
 *   optimizer.json  (optional) weights manifest of the optimizer state → optimizer.bin
 *   state.json      trainer state (step, rngState, …) — whatever the caller passes
 *   manifest.json   { files: { name: { bytes, sha256 } }, sha256 } — content hash over all files above
 *
 * Saving writes a sibling temp directory and renames it into place; an existing checkpoint is
 * renamed away first, the new one renamed in, then the old one deleted. Loading checks the manifest
 * hashes and sizes, the weights layout and that every weight matches the config's shapes; any
 * problem is a one-line UserError. Turning the verified bytes into a model is ./checkpoint-files.ts,
 * which the browser app shares.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../runtime/errors.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkManifest,
  decodeWeightsFile,
  MANIFEST,
  modelFromFiles,
  parseJsonBytes,
  type FileEntry,
  type Manifest,
  type NamedTensor,
  type WeightsJson,
} from './checkpoint-files.js';
import { configToJson } from './config.js';
import type { CrevNet } from './crevnet.js';

export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, modelFromFiles, type NamedTensor } from './checkpoint-files.js';

export interface CheckpointContents {
  model: CrevNet;
  optimizerWeights?: NamedTensor[];
  state?: Record<string, unknown>;
  /** the train section of config.json (training settings; not interpreted here) */
  train?: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  model: CrevNet;
  optimizerWeights?: NamedTensor[];
  state: Record<string, unknown>;
  /** the train section of config.json as saved, if any (not validated: running the model does not need it) */
  train?: Record<string, unknown>;
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of the whole checkpoint: sha256 over "name bytes sha256" lines in name order. */
function combinedHash(files: Record<string, FileEntry>): string {
  return sha256(
    Object.keys(files)
      .sort()
      .map((k) => `${k} ${files[k]!.bytes} ${files[k]!.sha256}\n`)
      .join(''),
  );
}

function toBytes(buf: ArrayBuffer): Uint8Array {
  return new Uint8Array(buf);
}

async function encode(tensors: NamedTensor[]): Promise<{ data: Uint8Array; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: toBytes(data), specs };
}

function weightsJson(specs: tf.io.WeightsManifestEntry[], bin: string, trainable?: Record<string, boolean>): WeightsJson {
  const out: WeightsJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    generatedBy: `crevnet (tfjs ${tf.version.tfjs})`,
    weightsManifest: [{ paths: [bin], weights: specs }],
  };
  if (trainable) out.trainable = trainable;
  return out;
}

/** Save `c` into directory `dir` atomically (temp dir + rename). */
export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const files: Record<string, Uint8Array> = {};
  const named = c.model.namedWeights();
  const model = await encode(named.map((w) => ({ name: w.name, tensor: w.variable })));
  files['weights.bin'] = model.data;
  files['model.json'] = Buffer.from(
    JSON.stringify(weightsJson(model.specs, 'weights.bin', Object.fromEntries(named.map((w) => [w.name, w.trainable]))), null, 1),
  );
  files['config.json'] = Buffer.from(`${JSON.stringify(configToJson(c.model.config, c.train), null, 2)}\n`);
  if (c.optimizerWeights && c.optimizerWeights.length > 0) {
    const opt = await encode(c.optimizerWeights);
    files['optimizer.bin'] = opt.data;
    files['optimizer.json'] = Buffer.from(JSON.stringify(weightsJson(opt.specs, 'optimizer.bin'), null, 1));
  }
  files['state.json'] = Buffer.from(`${JSON.stringify(c.state ?? {}, null, 2)}\n`);
  const entries: Record<string, FileEntry> = {};
  for (const [name, data] of Object.entries(files)) entries[name] = { bytes: data.byteLength, sha256: sha256(data) };
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, files: entries, sha256: combinedHash(entries) };
  try {
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) await writeFile(join(tmp, name), data);
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(target)) {
      const old = join(parent, `.${basename(target)}.old-${tag}`);
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${what}: cannot read ${basename(path)}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UserError(`${what}: ${basename(path)} is not valid JSON (${(err as Error).message})`);
  }
}

/** Verify manifest sizes + hashes; returns the file contents by name. */
async function readVerified(dir: string): Promise<Map<string, Uint8Array>> {
  const what = `checkpoint ${dir}`;
  if (!existsSync(dir)) throw new UserError(`${what} does not exist`);
  if (!(await stat(dir)).isDirectory()) throw new UserError(`${what} is not a directory`);
  if (!existsSync(join(dir, MANIFEST))) throw new UserError(`${what} has no ${MANIFEST} (not a crevnet checkpoint, or an interrupted save)`);
  const manifest = checkManifest(await readJson<Manifest>(join(dir, MANIFEST), what), what);
  if (combinedHash(manifest.files) !== manifest.sha256) throw new UserError(`${what}: ${MANIFEST} is corrupt (content hash mismatch)`);
  const out = new Map<string, Uint8Array>();
  for (const [name, entry] of Object.entries(manifest.files)) {
    let data: Uint8Array;
    try {
      data = await readFile(join(dir, name));
    } catch {
      throw new UserError(`${what}: ${name} is missing`);
    }
    if (data.byteLength !== entry.bytes) {
      throw new UserError(`${what}: ${name} is ${data.byteLength} bytes, expected ${entry.bytes} (truncated or modified)`);
    }
    if (sha256(data) !== entry.sha256) throw new UserError(`${what}: ${name} is corrupt (sha256 mismatch)`);
    out.set(name, data);
  }
  return out;
}

/** Load and verify a checkpoint directory. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const what = `checkpoint ${dir}`;
  const files = await readVerified(dir);
  const model = modelFromFiles(files, what);
  try {
    const state = parseJsonBytes<unknown>(files.get('state.json')!, 'state.json', what);
    if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new UserError(`${what}: state.json must hold an object`);
    const out: LoadedCheckpoint = { model, state: state as Record<string, unknown> };
    const configJson = parseJsonBytes<{ train?: Record<string, unknown> }>(files.get('config.json')!, 'config.json', what);
    if (configJson.train !== undefined) out.train = configJson.train;
    if (files.has('optimizer.json')) out.optimizerWeights = decodeWeightsFile(files, 'optimizer.json', what, true);
    return out;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** True when `dir` looks like a checkpoint (has a manifest and model.json); does not verify. */
export function isCheckpoint(dir: string): boolean {
  return existsSync(join(dir, MANIFEST)) && existsSync(join(dir, 'model.json'));
}
