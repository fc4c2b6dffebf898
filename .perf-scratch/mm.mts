import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
await initBackend('wasm');
function time(name: string, fn: () => tf.Tensor, reps = 5) {
  for (let i = 0; i < 2; i++) { const o = tf.tidy(fn); o.dataSync(); o.dispose(); }
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); const o = tf.tidy(fn); o.dataSync(); o.dispose(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(50), ts[reps >> 1]!.toFixed(2), 'ms');
}
const L = 22032;
for (const [m, k, n] of [[648, L, 72], [72, L, 648], [72, L, 72], [L, 648, 72], [L, 72, 648]]) {
  const a = tf.randomNormal([m, k]); const b = tf.randomNormal([k, n]);
  const macs = m * k * n;
  time(`matMul ${m}x${k}x${n} ${(macs/1e6).toFixed(0)}M`, () => tf.matMul(a, b));
  const bt = tf.randomNormal([n, k]);
  time(`matMul tB ${m}x${k}x${n}`, () => tf.matMul(a, bt, false, true));
}
