import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
await initBackend('wasm');
function time(name: string, fn: () => tf.Tensor, reps = 5) {
  for (let i = 0; i < 2; i++) { const o = tf.tidy(fn); o.dataSync(); o.dispose(); };
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); { const o = tf.tidy(fn); o.dataSync(); o.dispose(); }; ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name.padEnd(50), ts[reps >> 1]!.toFixed(2), 'ms');
}
const bf = (x: tf.Tensor4D, dy: tf.Tensor4D, fs: [number,number,number,number]) => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1,1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: fs } as any) as tf.Tensor4D;
for (const [n, ci, co] of [[4, 72, 72], [68, 72, 72], [68, 96, 24], [4, 96, 24]] as const) {
  const x = tf.randomNormal([n, 16, 16, ci]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, 16, 16, co]) as tf.Tensor4D;
  const macs = n * 256 * 9 * ci * co;
  console.log(`--- n=${n} ci=${ci} co=${co}  ${(macs / 1e6).toFixed(1)} MMAC`);
  const f = tf.randomNormal([3,3,ci,co]) as tf.Tensor4D; time('forward conv2d', () => tf.conv2d(x, f, 1, 'same'));
  time('backpropFilter composed', () => bf(x, dy, [3, 3, ci, co]));
  // im2col + matmul
  time('im2col concat axis3 + matMul tA', () => {
    const xp = tf.pad(x, [[0,0],[1,1],[1,1],[0,0]]);
    const cols = [] as tf.Tensor[];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) cols.push(tf.slice(xp, [0, a, b, 0], [n, 16, 16, ci]));
    const X = tf.concat(cols, 3).reshape([n * 256, 9 * ci]);
    return tf.matMul(X, dy.reshape([n * 256, co]), true, false);
  });
  time('9 taps matMul tA', () => {
    const xp = tf.pad(x, [[0,0],[1,1],[1,1],[0,0]]);
    const d = dy.reshape([n * 256, co]);
    const outs = [] as tf.Tensor[];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) outs.push(tf.matMul(tf.slice(xp, [0, a, b, 0], [n, 16, 16, ci]).reshape([n * 256, ci]), d, true, false));
    return tf.stack(outs);
  });
  time('9 taps matMul transposed explicit', () => {
    const xp = tf.pad(x, [[0,0],[1,1],[1,1],[0,0]]);
    const d = dy.reshape([n * 256, co]);
    const outs = [] as tf.Tensor[];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) outs.push(tf.matMul(tf.slice(xp, [0, a, b, 0], [n, 16, 16, ci]).reshape([n * 256, ci]).transpose(), d));
    return tf.stack(outs);
  });
  time('matMul plain [ci, R]x[R,co] (1 tap)', () => tf.matMul(x.reshape([n*256, ci]).transpose(), dy.reshape([n*256, co])));
  time('sum dy [0,1,2]', () => tf.sum(dy, [0, 1, 2]));
  time('sum dy reshape [R,co] axis0', () => tf.sum(dy.reshape([n*256, co]), 0));
  time('ones matmul', () => tf.matMul(tf.ones([1, n*256]), dy.reshape([n*256, co])));
}
