import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
import { setFusedKernels } from '../src/runtime/fused-kernels.js';
const backend = process.argv[2] ?? 'wasm';
const cfgName = process.argv[3] ?? 'tiny';
await initBackend(backend);
const cfg = await loadConfig(cfgName);
const model = CrevNet.create(cfg, 3);
const [h, w, c] = cfg.imageSize;
const B = Number(process.argv[4] ?? 2); const T = cfgName === 'tiny' ? 8 : 20;
const seq = tf.randomUniform([T, B, h, w, c], 0, 1, 'float32', 5) as tf.Tensor5D;
const vars = model.trainableVariables();
const run = (fused: boolean) => {
  setFusedKernels(fused);
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(seq, { mode: (process.argv[5] as any) ?? 'teacher' }), vars);
  const out = vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
  const ms = performance.now() - t0;
  const l = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { out, ms, leak: tf.memory().numTensors - before, l };
};
run(true); run(false);
const a = run(false); const b = run(true);
let worst = 0;
vars.forEach((v, i) => {
  const x = a.out[i]!, y = b.out[i]!;
  let num = 0, den = 0;
  for (let j = 0; j < x.length; j++) { num = Math.max(num, Math.abs(x[j]! - y[j]!)); den = Math.max(den, Math.abs(x[j]!)); }
  worst = Math.max(worst, num / Math.max(den, 1e-12));
});
console.log(`loss ${a.l} ${b.l}; worst rel ${worst.toExponential(2)}; leaks ${a.leak} ${b.leak}`);
const P: number[] = [], F: number[] = [];
for (let r = 0; r < Number(process.argv[6] ?? 3); r++) { P.push(run(false).ms); F.push(run(true).ms); }
const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1]!.toFixed(0);
console.log(`composed ${med(P)} fused ${med(F)}`, P.map((x) => x.toFixed(0)).join(' '), '|', F.map((x) => x.toFixed(0)).join(' '));
