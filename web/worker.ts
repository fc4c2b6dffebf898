/**
 * The inference worker: tfjs on the best backend that initialises (webgpu → webgl → wasm, or the one
 * asked for, falling back along the same order), the model fetched over HTTP and built by the CLI's
 * code (src/model/checkpoint-files.ts), and the rollout (CrevNet.predict) off the page's thread.
 */
import * as tf from '@tensorflow/tfjs';
import { modelFromFiles, MANIFEST, MODEL_FILES, checkManifest, parseJsonBytes, type Manifest } from '../src/model/checkpoint-files.js';
import type { CrevNet } from '../src/model/crevnet.js';
import { errorMessage } from '../src/runtime/errors.js';
import { registerComposedKernels } from '../src/runtime/kernels/index.js';
import { uint8ToFloat } from '../src/data/pixels.js';
import { BACKENDS, type Backend, type BackendAttempt, type BackendChoice, type FromWorker, type ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0]!.slice(0, 200);
}

/** Register and initialise one backend; throws with the reason it is unavailable. */
async function tryBackend(name: Backend): Promise<void> {
  if (name === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
    if (!(await gpu.requestAdapter())) throw new Error('no WebGPU adapter (no usable GPU, or WebGPU is disabled)');
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') throw new Error('no OffscreenCanvas in workers');
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) throw new Error('WebGL 2 is not available (disabled, or no GPU driver)');
    await import('@tensorflow/tfjs-backend-webgl');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // the .wasm files sit next to the bundle (copied by scripts/build-web.mjs)
    wasm.setWasmPaths(new URL('wasm/', import.meta.url).href);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
  // a tiny op proves the backend runs (a lost WebGL context fails here, not in the middle of a rollout)
  const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)));
  const v = (await probe.data())[0];
  probe.dispose();
  if (v !== 2) throw new Error(`the ${name} backend computes 1 + 1 = ${v}`);
}

async function initBackend(choice: BackendChoice): Promise<{ backend?: Backend; attempts: BackendAttempt[] }> {
  tf.enableProdMode();
  const order: Backend[] = choice === 'auto' ? [...BACKENDS] : [choice, ...BACKENDS.slice(BACKENDS.indexOf(choice) + 1)];
  const attempts: BackendAttempt[] = [];
  for (const b of order) {
    try {
      await tryBackend(b);
      // the same composed kernels the CLI installs on wasm (src/runtime/backend.ts)
      registerComposedKernels(b);
      attempts.push({ backend: b, ok: true });
      return { backend: b, attempts };
    } catch (err) {
      attempts.push({ backend: b, ok: false, reason: firstLine(err) });
    }
  }
  return { attempts };
}

let ready: Promise<Backend | undefined> | undefined;
let loaded: { url: string; model: CrevNet } | undefined;

async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`${what}: cannot fetch ${url} (${firstLine(err)})`);
  }
  if (!res.ok) throw new Error(`${what}: ${url} answered ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function sha256Hex(data: Uint8Array): Promise<string | undefined> {
  // crypto.subtle exists only in secure contexts (https, localhost); elsewhere sizes are still checked
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Fetch a checkpoint's model files, check them against its manifest, build the model. */
async function loadModel(url: string, name: string, onFile: (done: number, total: number) => void): Promise<CrevNet> {
  const what = `model ${name}`;
  const manifest = checkManifest(parseJsonBytes<Manifest>(await fetchBytes(`${url}${MANIFEST}`, what), MANIFEST, what), what);
  const files = new Map<string, Uint8Array>();
  let done = 0;
  onFile(0, MODEL_FILES.length);
  await Promise.all(
    MODEL_FILES.map(async (f) => {
      const data = await fetchBytes(`${url}${f}`, what);
      const entry = manifest.files[f]!;
      if (data.byteLength !== entry.bytes) throw new Error(`${what}: ${f} is ${data.byteLength} bytes, the manifest says ${entry.bytes}`);
      const hash = await sha256Hex(data);
      if (hash !== undefined && hash !== entry.sha256) throw new Error(`${what}: ${f} is corrupt (sha256 mismatch)`);
      files.set(f, data);
      onFile(++done, MODEL_FILES.length);
    }),
  );
  return modelFromFiles(files, what);
}

async function predict(m: Extract<ToWorker, { type: 'predict' }>): Promise<void> {
  const backend = await ready;
  if (!backend) throw new Error('no backend could be initialised');
  const t0 = performance.now();
  if (!loaded || loaded.url !== m.modelUrl) {
    loaded?.model.dispose();
    loaded = undefined;
    const model = await loadModel(m.modelUrl, m.modelName, (done, total) => post({ type: 'progress', id: m.id, stage: 'model', done, total }));
    // the model keeps the filters its rollout runs on: make them with the model, not inside the counted rollout
    model.prepareForInference();
    loaded = { url: m.modelUrl, model };
  }
  const model = loaded.model;
  const t1 = performance.now();
  const { width: W, height: H } = m;
  const HW = W * H;
  const K = m.context.length;
  const data = new Float32Array(K * HW);
  m.context.forEach((f, t) => uint8ToFloat(f, data, t * HW));
  const tensorsBefore = tf.memory().numTensors;
  const ctx = tf.tensor5d(data, [K, 1, H, W, 1], 'float32');
  let frames: Float32Array;
  try {
    const pred = model.predict(ctx, m.horizon, {
      onStep: (done, total) => post({ type: 'progress', id: m.id, stage: 'predict', done, total }),
    });
    try {
      frames = (await pred.data()) as Float32Array;
    } finally {
      pred.dispose();
    }
  } finally {
    ctx.dispose();
  }
  const t2 = performance.now();
  post(
    {
      type: 'result',
      id: m.id,
      frames,
      backend,
      loadSeconds: (t1 - t0) / 1000,
      predictSeconds: (t2 - t1) / 1000,
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
    },
    [frames.buffer],
  );
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'init') {
    ready = initBackend(m.backend)
      .catch((err: unknown) => ({ backend: undefined, attempts: [{ backend: 'wasm' as Backend, ok: false, reason: firstLine(err) }] }))
      .then(({ backend, attempts }) => {
        post(backend ? { type: 'ready', backend, attempts } : { type: 'init-failed', attempts });
        return backend;
      });
  } else if (m.type === 'predict') {
    predict(m).catch((err: unknown) => post({ type: 'error', id: m.id, message: firstLine(err) }));
  }
};
