import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { loadConfig } from '../src/model/config.js';
import { CrevNet } from '../src/model/crevnet.js';
await initBackend('wasm');
const cfg = await loadConfig('tiny');
const model = CrevNet.create(cfg, 3);
const x = tf.randomUniform([5, 2, 32, 32, 1]) as tf.Tensor5D;
const b = tf.memory().numTensors;
try { tf.variableGrads(() => { const l = model.loss(x); throw new Error('x'); }, model.trainableVariables()); } catch (e) { console.log('threw', (e as Error).message); }
console.log('leak after hook-throw', tf.memory().numTensors - b, (tf.engine() as any).state.gradientDepth, (tf.engine() as any).state.activeTape?.length);
const b2 = tf.memory().numTensors;
try { tf.variableGrads(() => { throw new Error('y'); }, model.trainableVariables()); } catch (e) { console.log('threw', (e as Error).message); }
console.log('leak after immediate throw', tf.memory().numTensors - b2);
