/**
 * Worker thread of DataParallel (parallel.ts): its own tfjs on the main thread's backend and its own
 * copy of the model. Every request carries one shard of the batch and the weights (incl. BatchNorm
 * running statistics; a prediction's may be null: unchanged). 'step' replies with the shard's loss, the gradient of every trainable variable
 * (trainable order) and the running statistics after the step (non-trainable order); 'predict' with
 * the shard's test rollout (eval-mode normalisation).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../runtime/backend.js';
import { parseConfig } from '../model/config.js';
import { CrevNet, type LossOptions } from '../model/crevnet.js';
import { errorMessage } from '../runtime/errors.js';

export interface WorkerInit {
  backend: string;
  /** configToJson of the model's config */
  config: unknown;
  weights: { name: string; shape: number[]; data: Float32Array }[];
}

export interface StepRequest {
  type: 'step';
  id: number;
  /** every weight in namedWeights order */
  weights: Float32Array[];
  /** time-major shard [T, b, H, W, C] */
  data: Float32Array;
  shape: [number, number, number, number, number];
  opts: LossOptions;
}

export interface PredictRequest {
  type: 'predict';
  id: number;
  /**
   * every weight in namedWeights order, or null: unchanged since this worker's last request (which was
   * a prediction or the start), so the worker keeps its weights and the prepared model predict made of them
   */
  weights: Float32Array[] | null;
  /** time-major context shard [K, b, H, W, C] */
  data: Float32Array;
  shape: [number, number, number, number, number];
  horizon: number;
  /** return the decoder's unclamped frames (CrevNet.predict's `raw`) */
  raw: boolean;
}

export type WorkerRequest = StepRequest | PredictRequest;

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; loss: number; grads: Float32Array[]; running: Float32Array[] }
  /** time-major [horizon, b, H, W, C] */
  | { type: 'prediction'; id: number; data: Float32Array }
  | { type: 'error'; id?: number; message: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  let model: CrevNet;
  try {
    await initBackend(init.backend);
    const config = parseConfig(init.config, 'training worker config');
    const tensors = new Map(init.weights.map((w) => [w.name, tf.tensor(w.data, w.shape, 'float32')]));
    try {
      model = CrevNet.fromWeights(config, tensors, 'training worker');
    } finally {
      tf.dispose([...tensors.values()]);
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: errorMessage(err) } satisfies WorkerReply);
    return;
  }
  const named = model.namedWeights();
  const vars = model.trainableVariables();
  const running = named.filter((w) => !w.trainable).map((w) => w.variable);

  const step = (req: StepRequest): void => {
    const x = tf.tensor5d(req.data, req.shape);
    let out: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      out = tf.variableGrads(() => model.loss(x, req.opts), vars);
    } finally {
      x.dispose();
    }
    try {
      const grads = vars.map((v) => (out.grads[v.name] ? (out.grads[v.name]!.dataSync() as Float32Array).slice() : new Float32Array(v.size)));
      const stats = running.map((v) => (v.dataSync() as Float32Array).slice());
      const reply: WorkerReply = { type: 'result', id: req.id, loss: out.value.dataSync()[0]!, grads, running: stats };
      port.postMessage(reply, [...grads, ...stats].map((a) => a.buffer as ArrayBuffer));
    } finally {
      tf.dispose([out.value, ...Object.values(out.grads)]);
    }
  };

  const predict = (req: PredictRequest): void => {
    const x = tf.tensor5d(req.data, req.shape);
    let y: tf.Tensor5D;
    try {
      y = model.predict(x, req.horizon, { raw: req.raw });
    } finally {
      x.dispose();
    }
    try {
      const data = (y.dataSync() as Float32Array).slice();
      port.postMessage({ type: 'prediction', id: req.id, data } satisfies WorkerReply, [data.buffer as ArrayBuffer]);
    } finally {
      y.dispose();
    }
  };

  port.on('message', (req: WorkerRequest) => {
    try {
      if (req.type !== 'step' && req.type !== 'predict') throw new Error(`unknown request ${String((req as { type?: unknown }).type)}`);
      const weights = req.weights;
      if (weights) tf.tidy(() => named.forEach((w, i) => w.variable.assign(tf.tensor(weights[i]!, w.variable.shape, 'float32'))));
      if (req.type === 'step') step(req);
      else predict(req);
    } catch (err) {
      port.postMessage({ type: 'error', id: req.id, message: errorMessage(err) } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

if (!isMainThread && parentPort) void main();
