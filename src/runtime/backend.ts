/**
 * Backend selection, the only place that decides where tensors live.
 * auto: tfjs-node-gpu → tfjs-node → webgpu on a hardware adapter → native → wasm → cpu; the first that
 * initialises wins and the reasons the earlier ones were skipped are kept for `crevnet info`.
 * A software WebGPU adapter (lavapipe, SwiftShader) is about ten times slower than wasm, so auto
 * skips it; `--backend webgpu` takes whatever adapter there is. `native` is the wasm backend with its
 * convolutions and matmuls in native code over OpenBLAS (kernels/native.ts); tf.getBackend() says 'wasm'
 * there, backendName() says 'native'.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { UserError } from './errors.js';
import { installNativeKernels, registerComposedKernels, removeNativeKernels } from './kernels/index.js';
import { loadNativeAddon } from './native-addon.js';
import { importOptional } from './optional.js';
import { closeWebGpu, describeAdapter, initWebGpu, webGpuAdapter, type WebGpuAdapterSummary } from './webgpu.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendAttempt {
  candidate: string;
  ok: boolean;
  reason?: string;
}

export interface BackendInfo {
  backend: string;
  /** package that provided it: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node, @tensorflow/tfjs-backend-webgpu, @tensorflow/tfjs-backend-wasm or built-in */
  provider: string;
  /** the GPU adapter (webgpu only) */
  adapter?: WebGpuAdapterSummary;
  /** the BLAS under the native kernels (native only), e.g. OpenBLAS's build string */
  blas?: string;
  attempts: BackendAttempt[];
  warnings: string[];
}

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n').find((l) => l.trim().length > 0) ?? msg).trim();
}

async function tryNative(spec: string): Promise<void> {
  // Silence TensorFlow's C++ logging unless the user asked for it.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // A variable keeps tsc from resolving an optional package that may be absent.
  const name: string = spec;
  require(name);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend("tensorflow") returned false');
}

async function tryWasm(): Promise<void> {
  await importOptional('@tensorflow/tfjs-backend-wasm', 'npm install @tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('setBackend("wasm") returned false');
}

async function tryNativeKernels(): Promise<void> {
  loadNativeAddon(); // before the wasm backend starts, so that a missing addon leaves nothing behind
  await tryWasm();
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('setBackend("cpu") returned false');
}

interface Candidate {
  label: string;
  provider: string;
  init: () => Promise<void>;
  /** the name crevnet reports when it differs from tf.getBackend() */
  name?: string;
}

const WEBGPU_PROVIDER = '@tensorflow/tfjs-backend-webgpu on webgpu (Dawn)';

const CANDIDATES: Record<Exclude<BackendChoice, 'auto'>, Candidate[]> = {
  tensorflow: [
    { label: 'tensorflow (tfjs-node-gpu)', provider: '@tensorflow/tfjs-node-gpu', init: () => tryNative('@tensorflow/tfjs-node-gpu') },
    { label: 'tensorflow (tfjs-node)', provider: '@tensorflow/tfjs-node', init: () => tryNative('@tensorflow/tfjs-node') },
  ],
  webgpu: [{ label: 'webgpu', provider: WEBGPU_PROVIDER, init: () => initWebGpu({ hardwareOnly: false }).then(() => undefined) }],
  native: [{ label: 'native', name: 'native', provider: '@tensorflow/tfjs-backend-wasm + native kernels (native/, OpenBLAS)', init: tryNativeKernels }],
  wasm: [{ label: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', init: tryWasm }],
  cpu: [{ label: 'cpu', provider: 'built-in (@tensorflow/tfjs-backend-cpu)', init: tryCpu }],
};

export function parseBackendChoice(value: string | undefined): BackendChoice {
  const v = (value ?? 'auto').trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new UserError(`unknown backend "${value}"; use one of ${BACKEND_CHOICES.join(', ')}`);
}

/**
 * Initialise tfjs on the requested backend (default: env CREVNET_BACKEND, else auto).
 * Idempotent: a second call with the same choice returns the cached info.
 */
export async function initBackend(choice?: BackendChoice | string): Promise<BackendInfo> {
  const wanted = parseBackendChoice(choice ?? process.env.CREVNET_BACKEND);
  if (current && (wanted === 'auto' || current.backend === wanted)) return current;
  const list =
    wanted === 'auto'
      ? [
          ...CANDIDATES.tensorflow,
          { label: 'webgpu', provider: WEBGPU_PROVIDER, init: () => initWebGpu({ hardwareOnly: true }).then(() => undefined) },
          ...CANDIDATES.native,
          ...CANDIDATES.wasm,
          ...CANDIDATES.cpu,
        ]
      : CANDIDATES[wanted];
  const attempts: BackendAttempt[] = [];
  // Production mode: no debug checks and no "install tfjs-node" banner on stderr (one-line errors).
  tf.enableProdMode();
  for (const cand of list) {
    try {
      await cand.init();
      await tf.ready();
      attempts.push({ candidate: cand.label, ok: true });
      registerComposedKernels(tf.getBackend());
      let blas: string | undefined;
      if (cand.name === 'native') {
        const addon = loadNativeAddon();
        installNativeKernels(addon);
        blas = addon.describe().blas;
      } else if (tf.getBackend() === 'wasm') {
        // a process that ran on native and now asks for wasm gets wasm's own kernels back
        removeNativeKernels();
      }
      const warnings: string[] = [];
      if (tf.getBackend() === 'tensorflow' && process.env.NVIDIA_TF32_OVERRIDE !== '0') {
        warnings.push(
          'NVIDIA_TF32_OVERRIDE is not 0: on Ampere/Hopper GPUs TF32 breaks the exact inversion of the encoder; set NVIDIA_TF32_OVERRIDE=0',
        );
      }
      const adapter = tf.getBackend() === 'webgpu' ? webGpuAdapter() : undefined;
      if (adapter?.software) {
        warnings.push(`webgpu runs on a software adapter, ${describeAdapter(adapter)}: correct, but about ten times slower than wasm`);
      }
      current = {
        backend: cand.name ?? tf.getBackend(),
        provider: cand.provider,
        attempts,
        warnings,
        ...(adapter ? { adapter } : {}),
        ...(blas ? { blas } : {}),
      };
      return current;
    } catch (err) {
      attempts.push({ candidate: cand.label, ok: false, reason: firstLine(err) });
    }
  }
  const why = attempts.map((a) => `${a.candidate}: ${a.reason}`).join('; ');
  throw new UserError(`backend "${wanted}" is not available here (${why}); try --backend auto`);
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** The backend crevnet runs on: tf.getBackend(), except 'native' for the wasm backend with native kernels. */
export function backendName(): string {
  return current?.backend ?? tf.getBackend();
}

/**
 * Release what the backend holds outside the JS heap (the WebGPU device and Dawn's instance; nothing
 * on the other backends). The CLI calls it before it returns.
 */
export async function shutdownBackend(): Promise<void> {
  if (current?.backend === 'webgpu') current = undefined;
  await closeWebGpu();
}
