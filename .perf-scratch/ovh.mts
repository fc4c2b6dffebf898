import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
await initBackend('wasm');
const a = tf.ones([4]); const b = tf.ones([4]);
const big = tf.ones([2, 16, 16, 24]);
for (const [name, fn] of [['add tiny', () => tf.add(a, b)], ['reshape', () => a.reshape([2, 2])], ['mul 12k', () => tf.mul(big, big)], ['sigmoid 12k', () => tf.sigmoid(big)]] as const) {
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    tf.tidy(() => { for (let i = 0; i < 10000; i++) fn(); });
    console.log(name, ((performance.now() - t0) / 10000 * 1000).toFixed(1), 'µs/op');
  }
}
// under a gradient tape
const v = tf.variable(tf.ones([4]));
const t0 = performance.now();
const g = tf.variableGrads(() => { let x: tf.Tensor = v; for (let i = 0; i < 5000; i++) x = tf.add(x, b); return x.sum() as tf.Scalar; }, [v]);
console.log('taped add + backward', ((performance.now() - t0) / 5000 * 1000).toFixed(1), 'µs/op');
