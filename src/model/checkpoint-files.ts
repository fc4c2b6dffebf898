/**
 * Checkpoint files as bytes → a model: the part of loading a checkpoint that needs no file system, so
 * the CLI (./checkpoint.ts reads and verifies a directory) and the browser app (fetches the files over
 * HTTP) build the model with the same code. The layout of the files is described in ./checkpoint.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../runtime/errors.js';
import { parseConfig } from './config.js';
import { CrevNet } from './crevnet.js';

export const CHECKPOINT_FORMAT = 'crevnet-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST = 'manifest.json';
/** Files every checkpoint holds besides the manifest. */
export const REQUIRED_FILES = ['config.json', 'model.json', 'weights.bin', 'state.json'] as const;
/** The files that make a model (what the browser app fetches); state.json and optimizer state are for training. */
export const MODEL_FILES = ['config.json', 'model.json', 'weights.bin'] as const;

/** A named tensor (tfjs-core's NamedTensor, which @tensorflow/tfjs does not re-export). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface FileEntry {
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: string;
  version: number;
  files: Record<string, FileEntry>;
  sha256: string;
}

export interface WeightsJson {
  format: string;
  version: number;
  generatedBy: string;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  trainable?: Record<string, boolean>;
}

export function parseJsonBytes<T>(data: Uint8Array, name: string, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(data)) as T;
  } catch (err) {
    throw new UserError(`${what}: ${name} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The manifest's shape: format, version, the required files, plain file names. Sizes and hashes are
 * checked by the reader, which has the bytes (and a sha256).
 */
export function checkManifest(manifest: Manifest, what: string): Manifest {
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== CHECKPOINT_FORMAT || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new UserError(`${what}: ${MANIFEST} is not a ${CHECKPOINT_FORMAT} manifest`);
  }
  if (manifest.version !== CHECKPOINT_VERSION) throw new UserError(`${what}: unsupported checkpoint version ${String(manifest.version)}`);
  for (const required of REQUIRED_FILES) {
    if (!manifest.files[required]) throw new UserError(`${what}: ${MANIFEST} does not list ${required}`);
  }
  for (const name of Object.keys(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new UserError(`${what}: bad file name "${name}" in ${MANIFEST}`);
  }
  return manifest;
}

/** The tensors of a weights manifest (`jsonName`) and its one binary file, both taken from `files`. */
export function decodeWeightsFile(files: ReadonlyMap<string, Uint8Array>, jsonName: string, what: string, allowInt = false): NamedTensor[] {
  const wj = parseJsonBytes<WeightsJson>(files.get(jsonName)!, jsonName, what);
  const group = wj.weightsManifest?.[0];
  if (!group || !Array.isArray(group.paths) || group.paths.length !== 1 || !Array.isArray(group.weights)) {
    throw new UserError(`${what}: ${jsonName} has no weights manifest`);
  }
  const bin = group.paths[0]!;
  const data = files.get(bin);
  if (!data) throw new UserError(`${what}: ${jsonName} refers to ${bin}, which is not in the manifest`);
  let expected = 0;
  for (const s of group.weights) {
    const ok = (s.dtype === 'float32' || (allowInt && s.dtype === 'int32')) && Array.isArray(s.shape) && !s.quantization;
    if (!ok) throw new UserError(`${what}: ${jsonName}: weight "${s.name}" is not plain ${allowInt ? 'float32/int32' : 'float32'}`);
    expected += 4 * s.shape.reduce((a, b) => a * b, 1);
  }
  if (expected !== data.byteLength) throw new UserError(`${what}: ${bin} holds ${data.byteLength} bytes, ${jsonName} describes ${expected}`);
  const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buf, group.weights);
  return group.weights.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}

/** config.json + model.json + weights.bin (verified by the caller) → the model. */
export function modelFromFiles(files: ReadonlyMap<string, Uint8Array>, what: string): CrevNet {
  for (const name of MODEL_FILES) if (!files.has(name)) throw new UserError(`${what}: ${name} is missing`);
  const config = parseConfig(parseJsonBytes(files.get('config.json')!, 'config.json', what), `${what}: config.json`);
  const weights = decodeWeightsFile(files, 'model.json', what);
  try {
    return CrevNet.fromWeights(config, new Map(weights.map((w) => [w.name, w.tensor])), what);
  } finally {
    for (const w of weights) w.tensor.dispose();
  }
}
