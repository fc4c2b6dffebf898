import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
import { DataParallel } from '../src/train/parallel.js';
const backend = process.argv[2] ?? 'wasm';
const threads = Number(process.argv[3] ?? 2);
const B = Number(process.argv[4] ?? 4);
await initBackend(backend);
const cfg = await loadConfig(process.argv[5] ?? 'small');
const model = CrevNet.create(cfg, 3);
const [h, w, c] = cfg.imageSize;
const shape: [number, number, number, number, number] = [20, B, h, w, c];
const data = tf.randomUniform(shape, 0, 1, 'float32', 5).dataSync() as Float32Array;
const opt = tf.train.adam(1e-3);
let t0 = performance.now();
const dp = await DataParallel.start(model, threads);
console.log('start', (performance.now() - t0).toFixed(0), 'ms');

const step = async () => { const t0 = performance.now(); const r = await dp.gradients(data, shape); opt.applyGradients(r.grads); const l = r.value.dataSync()[0]; tf.dispose([r.value, ...Object.values(r.grads)]); return [performance.now() - t0, l] as const; };
await step(); await step(); const before = tf.memory().numTensors;
const ts: number[] = [];
for (let i = 0; i < 5; i++) { const [ms, l] = await step(); ts.push(ms); }
console.log(`threads ${threads} B ${B}: median ${ts.sort((a, b) => a - b)[2]!.toFixed(0)} ms`, ts.map((x) => x.toFixed(0)).join(' '), 'leak', tf.memory().numTensors - before);
t0 = performance.now(); await dp.close(); console.log('close', (performance.now() - t0).toFixed(0));
model.dispose(); opt.dispose();
