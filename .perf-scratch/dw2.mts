import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
await initBackend('wasm');
function time(name: string, fn: () => tf.Tensor, reps = 9) {
  for (let i = 0; i < 2; i++) { const o = tf.tidy(fn); o.dataSync(); o.dispose(); }
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); const o = tf.tidy(fn); o.dataSync(); o.dispose(); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(40), ts[reps >> 1]!.toFixed(2), 'ms');
}
const bf = (x: tf.Tensor4D, dy: tf.Tensor4D, fs: [number,number,number,number]) => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1,1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: fs } as any) as tf.Tensor4D;
function flat(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const [n, h, w, ci] = x.shape; const co = dy.shape[3];
  const hp = h + 2, wp = w + 2, L = n * hp * wp;
  const xT = tf.transpose(x, [3, 0, 1, 2]);
  const xTp = tf.pad(xT, [[0, 0], [0, 0], [1, 1], [1, 1]]).reshape([ci, L]).pad([[0, 0], [0, 2 * wp + 2]]);
  const parts: tf.Tensor[] = [];
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) parts.push(tf.slice(xTp, [0, a * wp + b], [ci, L]));
  const A = tf.concat(parts, 0);
  const dyg = tf.pad(dy, [[0, 0], [0, 2], [0, 2], [0, 0]]).reshape([L, co]);
  return tf.matMul(A, dyg).reshape([3, 3, ci, co]);
}
for (const [n, ci, co] of [[34, 72, 72], [68, 72, 72], [34, 96, 24], [2, 72, 72]] as const) {
  const x = tf.randomNormal([n, 16, 16, ci]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, 16, 16, co]) as tf.Tensor4D;
  console.log(`--- n=${n} ci=${ci} co=${co}`);
  const a = bf(x, dy, [3, 3, ci, co]); const b = flat(x, dy);
  console.log('maxdiff', tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], tf.max(tf.abs(a)).dataSync()[0]);
  time('composed', () => bf(x, dy, [3, 3, ci, co]));
  time('flat grid matmul', () => flat(x, dy));
}
