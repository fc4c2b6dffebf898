/**
 * `crevnet bench --wasm-threads N` (an experiment beside the data-parallel worker pool, see
 * docs/performance.md): the multi-threaded build of tfjs-backend-wasm 4.22.0
 * (tfjs-backend-wasm-threaded-simd.wasm: XNNPACK with a pthreadpool) in Node. The package ships it but
 * only enables it in browsers; three things stand in the way in Node, and `withWasmThreads` shims each
 * while the backend initialises:
 *  1. the WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false under Node: set it to true;
 *  2. the pthread workers are started from a Blob URL of the package's worker script, which Node's
 *     worker_threads cannot load: the script (plus a two-line prelude that lets it load the Emscripten
 *     factory from the package's file instead of a Blob) is written to a temporary file and
 *     URL.createObjectURL answers that file's path while the backend starts;
 *  3. the thread count is capped at logical cores / 2 (hyper-threading assumed), i.e. 1 on a 2-core
 *     machine: os.cpus() reports enough cores while the module initialises.
 * XNNPACK then splits each convolution (and its other ops) over `threads` threads; kernels outside
 * XNNPACK and all JS work stay on the calling thread.
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

interface WasmModuleApi {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** The pthread worker script in a temporary file (content-addressed, written once). */
function pthreadWorkerFile(): string {
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const outDir = join(pkgDir, 'wasm-out');
  const { wasmWorkerContents } = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const factory = join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  // The main thread posts the factory as a Blob; the worker turns it into a URL and importScripts()
  // it (a file read): point that URL at the package's own copy of the factory.
  const prelude = `URL.createObjectURL = () => ${JSON.stringify(factory)};\nURL.revokeObjectURL = () => {};\n`;
  // tfjs escapes the script's newlines the same way before making its Blob (they sit in string literals)
  const text = prelude + wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = join(os.tmpdir(), `crevnet-tfjs-wasm-pthread-${hash}.cjs`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }
  return file;
}

/**
 * Make the next `tf.setBackend('wasm')` start the multi-threaded build with `threads` XNNPACK threads
 * and run `init` (which should initialise the wasm backend). Returns the thread count the backend
 * reports, 0 when `init` started another backend.
 */
export async function withWasmThreads(threads: number, init: () => Promise<void>): Promise<number> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm' as string)) as WasmModuleApi;
  const workerFile = pthreadWorkerFile();
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === 'application/javascript' ? workerFile : createObjectURL.call(URL, obj);
  const real = cpus.call(os);
  // the backend uses min(threads, cores / 2): report 2 × threads cores
  os.cpus = () => Array.from({ length: Math.max(real.length, 2 * threads) }, (_, i) => real[i % real.length]!);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    await init();
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
  // 0: the backend `init` started is not wasm
  return tf.getBackend() === 'wasm' ? wasm.getThreadsCount() : 0;
}
