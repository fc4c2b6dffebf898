import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
const backend = process.argv[2] ?? 'wasm';
const B = Number(process.argv[3] ?? 4);
await initBackend(backend);
const cfg = await loadConfig(process.argv[4] ?? 'small');
const model = CrevNet.create(cfg, 3);
const [h, w, c] = cfg.imageSize;
const seq = tf.randomUniform([20, B, h, w, c], 0, 1, 'float32', 5) as tf.Tensor5D;
const vars = model.trainableVariables();
const opt = tf.train.adam(1e-3);
const step = (defer: boolean) => { const t0 = performance.now(); const { value, grads } = tf.variableGrads(() => model.loss(seq, { deferWeightGrads: defer }), vars); opt.applyGradients(grads); value.dataSync(); tf.dispose([value, ...Object.values(grads)]); return performance.now() - t0; };
step(true); step(false);
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
const P: number[] = [], D: number[] = [];
for (let r = 0; r < 5; r++) { P.push(step(false)); D.push(step(true)); }
console.log(`B=${B} plain ${med(P).toFixed(0)} deferred ${med(D).toFixed(0)}`);
