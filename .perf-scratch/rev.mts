import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
await initBackend('wasm');
function time(name: string, fn: () => tf.Tensor, reps = 21) {
  for (let i = 0; i < 3; i++) { const o = tf.tidy(fn); o.dataSync(); o.dispose(); }
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); const o = tf.tidy(fn); o.dataSync(); o.dispose(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(30), ts[reps >> 1]!.toFixed(3), 'ms');
}
const f = tf.randomNormal([3, 3, 72, 72]) as tf.Tensor4D;
const idx = tf.tensor1d([8,7,6,5,4,3,2,1,0], 'int32');
time('reverse', () => tf.reverse(f, [0, 1]));
time('gather', () => tf.gather(f.reshape([9, 72, 72]), idx));
time('gather new idx', () => tf.gather(f.reshape([9, 72, 72]), tf.tensor1d([8,7,6,5,4,3,2,1,0], 'int32')));
time('stridedSlice -1', () => tf.stridedSlice(f.reshape([9, 72 * 72]), [8, 0], [-10, 5184], [-1, 1], 0, 0b10, 0, 0, 0));
time('stridedSlice -1 4d', () => tf.stridedSlice(f, [2, 2, 0, 0], [-4, -4, 72, 72], [-1, -1, 1, 1], 0, 0, 0, 0, 0));
time('transpose', () => tf.transpose(f, [0, 1, 3, 2]));
time('split+concat', () => tf.concat(tf.split(f.reshape([9, 5184]), 9, 0).reverse(), 0));
const a = tf.reverse(f, [0, 1]).dataSync(); const b = tf.stridedSlice(f, [2, 2, 0, 0], [-4, -4, 72, 72], [-1, -1, 1, 1]).dataSync();
console.log('eq', a.every((v, i) => v === b[i]));
