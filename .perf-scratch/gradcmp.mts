import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
const backend = process.argv[2] ?? 'wasm';
const cfgName = process.argv[3] ?? 'tiny';
await initBackend(backend);
const cfg = await loadConfig(cfgName);
const model = CrevNet.create(cfg, 3);
const [h, w, c] = cfg.imageSize;
const B = cfgName === 'tiny' ? 2 : 4; const T = cfgName === 'tiny' ? 8 : 20;
const seq = tf.randomUniform([T, B, h, w, c], 0, 1, 'float32', 5) as tf.Tensor5D;
const vars = model.trainableVariables();
// BN running stats get updated; doesn't affect gradients (train mode uses batch stats)
const run = (defer: boolean) => {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(seq, { deferWeightGrads: defer }), vars);
  const out = vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
  const ms = performance.now() - t0;
  tf.dispose([value, ...Object.values(grads)]);
  return { out, ms, leak: tf.memory().numTensors - before };
};
run(true); run(false);
const a = run(false); const b = run(true);
let worst = 0;
vars.forEach((v, i) => {
  const x = a.out[i]!, y = b.out[i]!;
  let num = 0, den = 0;
  for (let j = 0; j < x.length; j++) { num = Math.max(num, Math.abs(x[j]! - y[j]!)); den = Math.max(den, Math.abs(x[j]!)); }
  const rel = num / Math.max(den, 1e-12);
  worst = Math.max(worst, rel);
  if (rel > 1e-6) console.log(v.name, rel.toExponential(2));
});
console.log(`worst rel ${worst.toExponential(2)}; times plain ${a.ms.toFixed(0)} deferred ${b.ms.toFixed(0)}; leaks ${a.leak} ${b.leak}`);
for (let r = 0; r < 3; r++) { const p = run(false).ms, d = run(true).ms; console.log(`plain ${p.toFixed(0)} deferred ${d.toFixed(0)}`); }
