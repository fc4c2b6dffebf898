import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
const backend = process.argv[2] ?? 'wasm';
const defer = process.argv[3] !== 'plain';
const B = Number(process.argv[4] ?? 4);
await initBackend(backend);
const cfg = await loadConfig('small');
const model = CrevNet.create(cfg, 3);
const seq = tf.randomUniform([20, B, 64, 64, 1], 0, 1, 'float32', 5) as tf.Tensor5D;
const vars = model.trainableVariables();
const step = () => { const { value, grads } = tf.variableGrads(() => model.loss(seq, { deferWeightGrads: defer }), vars); value.dataSync(); tf.dispose([value, ...Object.values(grads)]); };
step(); step();
const t0 = performance.now(); step(); console.log('plain wall', (performance.now() - t0).toFixed(0));
const info = await tf.profile(step);
const by = new Map<string, { n: number; ms: number }>();
const byS = new Map<string, { n: number; ms: number }>();
let tot = 0;
for (const k of info.kernels) {
  if (!tf.getKernel(k.name, backend)) continue;
  const ms = k.kernelTimeMs as number; tot += ms;
  const e = by.get(k.name) ?? { n: 0, ms: 0 }; e.n++; e.ms += ms; by.set(k.name, e);
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const f = byS.get(key) ?? { n: 0, ms: 0 }; f.n++; f.ms += ms; byS.set(key, f);
}
console.log('kernel total', tot.toFixed(0), 'kernels', info.kernels.length);
for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 22)) console.log(k.padEnd(24), String(e.n).padStart(6), e.ms.toFixed(1).padStart(8));
console.log('---');
for (const [k, e] of [...byS].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.argv[5] ?? 30))) console.log(e.ms.toFixed(1).padStart(8), String(e.n).padStart(5), k);
// attribute non-conv kernels: predictor per-step (a dim equal to B·256·... small) vs batched
{
  let per = 0, bat = 0, perN = 0, batN = 0;
  const conv = new Set(['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter']);
  for (const k of info.kernels) {
    if (!tf.getKernel(k.name, backend) || conv.has(k.name)) continue;
    const sh = JSON.stringify(k.inputShapes);
    const big = /\[(17|34|68|51|102|136),|17408|8704|2176|4352|69632|34816/.test(sh);
    if (big) { bat += k.kernelTimeMs as number; batN++; } else { per += k.kernelTimeMs as number; perN++; }
  }
  console.log(`non-conv: per-step-like ${per.toFixed(0)} ms (${perN} kernels), batched ${bat.toFixed(0)} ms (${batN} kernels)`);
}
{
  const m = new Map<string, { n: number; ms: number }>();
  const conv = new Set(['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter']);
  for (const k of info.kernels) {
    if (!tf.getKernel(k.name, backend) || conv.has(k.name)) continue;
    const sh = JSON.stringify(k.inputShapes);
    const big = /\[(17|34|68|51|102|136),|17408|8704|2176|4352|69632|34816/.test(sh);
    if (big) continue;
    const e = m.get(k.name) ?? { n: 0, ms: 0 }; e.n++; e.ms += k.kernelTimeMs as number; m.set(k.name, e);
  }
  for (const [k, e] of [...m].sort((a, b) => b[1].n - a[1].n)) console.log('per-step', k.padEnd(16), e.n, e.ms.toFixed(1));
}
