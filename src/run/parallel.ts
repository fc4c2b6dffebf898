/**
 * Running one model on several threads: data-parallel training gradients and test rollouts over
 * worker_threads. Training (src/train/) and evaluation (src/eval/) both use it, so it sits below them.
 *
 * The wasm backend is single-threaded in Node, so one training step uses one core. `DataParallel`
 * splits the batch into shards: the main thread computes the first shard itself while each worker
 * thread (its own tfjs instance on the same backend, its own copy of the model) computes one other
 * shard. The main thread then
 *  - averages the losses and gradients, weighted by shard size (Σ_s b_s/B · g_s, in shard order, so the
 *    result is deterministic), for the caller to clip and apply (Adam runs once, in the main thread);
 *  - averages the BatchNorm running statistics the shards produced (every shard starts from the same
 *    running statistics, so this averages the running-stat updates);
 *  - broadcasts the weights (incl. running statistics) with the next step, so every shard always
 *    starts from the main thread's state and a resumed run is exact.
 *
 * `predict` shards the test rollout the same way (eval-mode normalisation: per sample, so the result
 * equals a single-thread rollout; the tests find it bit for bit) and re-interleaves the shards in batch
 * order. It sends the weights only when they changed since a worker's last prediction, so a worker
 * keeps the filters it prepared for them (CrevNet.predict) across calls.
 *
 * Deviation (like DDP without SyncBatchNorm): BatchNorm batch statistics are computed per shard (over
 * b_s samples instead of B), so with norm 'batch' the gradients differ from a single-thread step at the
 * same batch; with norm 'group' (per-sample statistics) they are equal up to float rounding. Results
 * are deterministic for a given seed and number of shards.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { configToJson } from '../model/config.js';
import { DEFAULT_LOSS_OPTIONS, type CrevNet, type LossOptions } from '../model/crevnet.js';
import { InternalError } from '../runtime/errors.js';
import type { PredictRequest, StepRequest, WorkerInit, WorkerReply, WorkerRequest } from './parallel-worker.js';
import { backendName } from '../runtime/backend.js';
import { placeSamples, shardSizes, sliceSamples } from './shards.js';

export { placeSamples, resolveWorkers, shardSizes, sliceSamples, type WorkersSetting } from './shards.js';

type Reply = Extract<WorkerReply, { type: 'result' | 'prediction' }>;

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

/** One worker thread and its in-flight request. */
class WorkerHandle {
  private pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closing = false;
  readonly ready: Promise<void>;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    // the ready promise may be awaited later than it fails
    this.ready.catch(() => {});
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') return readyResolve();
      if (m.type === 'error') {
        const err = new InternalError(`training worker ${index}: ${m.message}`);
        if (m.id === undefined) {
          this.fail(err);
          readyReject(err);
        } else this.settle(m.id, undefined, err);
        return;
      }
      this.settle(m.id, m);
    });
    worker.on('error', (e: Error) => {
      const err = new InternalError(`training worker ${index} crashed: ${e.message}`);
      this.fail(err);
      readyReject(err);
    });
    worker.on('exit', (code) => {
      const err = new InternalError(`training worker ${index} exited (code ${code})`);
      if (!this.closing) this.fail(err);
      readyReject(err);
    });
  }

  private settle(id: number, r?: Reply, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(r!);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  request<T extends Reply['type']>(req: WorkerRequest, transfer: ArrayBuffer[], expect: T): Promise<Extract<Reply, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, {
        resolve: (r) => (r.type === expect ? resolve(r as Extract<Reply, { type: T }>) : reject(new InternalError(`training worker ${this.index}: '${r.type}' reply to '${req.type}'`))),
        reject,
      });
      this.worker.postMessage(req, transfer);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

/**
 * A Worker running parallel-worker: the compiled .js next to this module, or (under tsx, e.g. in the
 * tests) a bootstrap that registers tsx's loader in the worker first (tsx's --import hook does not
 * reach worker threads).
 */
function spawnWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parallel-worker.js', import.meta.url), { workerData: init });
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./parallel-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: init });
}

export interface ParallelGradients {
  /** loss averaged over the shards, weighted by shard size */
  value: tf.Scalar;
  /** gradient of every trainable variable (by variable name), same weighting */
  grads: tf.NamedTensorMap;
  /** shard sizes used for this step (main thread first) */
  shards: number[];
}

/**
 * Data-parallel loss gradients for one model: `threads` shards per step (the main thread computes one,
 * `threads − 1` worker threads the others). Create with `DataParallel.start`, always `close()`.
 */
export class DataParallel {
  private nextId = 1;
  private closed = false;

  /**
   * Per worker: the data ids of the model's weights as last sent to it, while its copy is unchanged
   * since (a training step changes the worker's running statistics: undefined until weights are sent
   * again). A prediction with unchanged weights sends none, and the worker reuses its prepared model.
   */
  private readonly sentIds: (readonly object[] | undefined)[];

  private constructor(
    private readonly model: CrevNet,
    private readonly workers: WorkerHandle[],
    startIds: readonly object[],
  ) {
    this.sentIds = workers.map(() => startIds);
  }

  private weightIds(): object[] {
    return this.model.namedWeights().map((w) => w.variable.dataId);
  }

  /** Start `threads − 1` workers on the current backend with a copy of `model` (waits until they are ready). */
  static async start(model: CrevNet, threads: number): Promise<DataParallel> {
    if (!Number.isInteger(threads) || threads < 1) throw new InternalError(`DataParallel: threads must be a positive integer, got ${threads}`);
    const weights = model.namedWeights();
    const init: WorkerInit = {
      backend: backendName(),
      config: configToJson(model.config),
      weights: weights.map((w) => ({ name: w.name, shape: [...w.variable.shape], data: (w.variable.dataSync() as Float32Array).slice() })),
    };
    const handles: WorkerHandle[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const worker = spawnWorker(init);
        // the pool must not keep the process alive on its own (e.g. after an uncaught error)
        worker.unref();
        handles.push(new WorkerHandle(worker, i));
      }
      await Promise.all(handles.map((h) => h.ready));
    } catch (err) {
      await Promise.allSettled(handles.map((h) => h.close()));
      throw err;
    }
    return new DataParallel(model, handles, weights.map((w) => w.variable.dataId));
  }

  /** Shards per step (main thread included). */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Loss and gradients of `model.loss` on a time-major batch `data` ([T, B, H, W, C] float32), averaged
   * over the shards; the model's BatchNorm running statistics are set to the
   * shards' average. `hook` transforms the main shard's loss inside its gradient tape (tests).
   */
  async gradients(
    data: Float32Array,
    shape: [number, number, number, number, number],
    opts: LossOptions = DEFAULT_LOSS_OPTIONS,
    hook?: (loss: tf.Scalar) => tf.Scalar,
  ): Promise<ParallelGradients> {
    if (this.closed) throw new InternalError('DataParallel: closed');
    const [frames, batch] = shape;
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new InternalError(`DataParallel: data has ${data.length} values for shape [${shape}]`);
    const sizes = shardSizes(batch, this.threads);
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const named = this.model.namedWeights();
    const vars = this.model.trainableVariables();
    const running = named.filter((w) => !w.trainable).map((w) => w.variable);

    // Post the other shards first (with the weights they start from), then compute ours meanwhile.
    const replies: Promise<Extract<WorkerReply, { type: 'result' }>>[] = [];
    if (sizes.length > 1) {
      const weights = named.map((w) => w.variable.dataSync() as Float32Array);
      for (let s = 1; s < sizes.length; s++) {
        const shard = sliceSamples(data, frames, batch, starts[s]!, sizes[s]!);
        const req: StepRequest = {
          type: 'step',
          id: this.nextId++,
          weights,
          data: shard,
          shape: [frames, sizes[s]!, shape[2], shape[3], shape[4]],
          opts,
        };
        const r = this.workers[s - 1]!.request(req, [shard.buffer as ArrayBuffer], 'result');
        // the worker's step updates its running statistics: its copy differs from ours until the next send
        this.sentIds[s - 1] = undefined;
        r.catch(() => {}); // observed below; avoid an unhandled rejection while we compute
        replies.push(r);
      }
    }
    const own = sizes.length > 1 ? sliceSamples(data, frames, batch, 0, sizes[0]!) : data;
    const x = tf.tensor5d(own, [frames, sizes[0]!, shape[2], shape[3], shape[4]]);
    let main: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      main = tf.variableGrads(() => {
        const l = this.model.loss(x, opts);
        return hook ? hook(l) : l;
      }, vars);
    } finally {
      x.dispose();
    }
    if (sizes.length === 1) return { ...main, shards: sizes };

    let results: Extract<WorkerReply, { type: 'result' }>[];
    try {
      results = await Promise.all(replies);
    } catch (err) {
      tf.dispose([main.value, ...Object.values(main.grads)]);
      throw err;
    }
    const w = sizes.map((b) => b / batch);
    const combined = tf.tidy(() => {
      const value = results.reduce<tf.Tensor>((acc, r, i) => tf.add(acc, tf.mul(tf.scalar(r.loss), w[i + 1]!)), tf.mul(main.value, w[0]!)) as tf.Scalar;
      const grads: tf.NamedTensorMap = {};
      vars.forEach((v, j) => {
        const g0 = main.grads[v.name] ?? tf.zerosLike(v);
        grads[v.name] = results.reduce<tf.Tensor>((acc, r, i) => tf.add(acc, tf.mul(tf.tensor(r.grads[j]!, v.shape), w[i + 1]!)), tf.mul(g0, w[0]!));
      });
      running.forEach((v, j) => {
        v.assign(results.reduce<tf.Tensor>((acc, r, i) => tf.add(acc, tf.mul(tf.tensor(r.running[j]!, v.shape), w[i + 1]!)), tf.mul(v, w[0]!)));
      });
      return { value, grads };
    });
    tf.dispose([main.value, ...Object.values(main.grads)]);
    return { value: combined.value, grads: combined.grads, shards: sizes };
  }

  /**
   * The model's test rollout (CrevNet.predict, eval-mode normalisation) of a time-major context `data`
   * ([K, B, H, W, C] float32), sharded like `gradients` (a worker gets the current weights when they changed since its last prediction): returns
   * the predicted frames, time-major [horizon, B, H, W, C] in batch order (clamped to [0, 1] unless `raw`).
   */
  async predict(data: Float32Array, shape: [number, number, number, number, number], horizon: number, raw = false): Promise<Float32Array> {
    if (this.closed) throw new InternalError('DataParallel: closed');
    const [frames, batch, h, w, c] = shape;
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new InternalError(`DataParallel: data has ${data.length} values for shape [${shape}]`);
    const sizes = shardSizes(batch, this.threads);
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));

    const replies: Promise<Extract<WorkerReply, { type: 'prediction' }>>[] = [];
    if (sizes.length > 1) {
      const ids = this.weightIds();
      let current: Float32Array[] | undefined;
      for (let s = 1; s < sizes.length; s++) {
        const shard = sliceSamples(data, frames, batch, starts[s]!, sizes[s]!);
        const sent = this.sentIds[s - 1];
        const same = sent !== undefined && sent.length === ids.length && sent.every((id, i) => id === ids[i]);
        current ??= same ? undefined : this.model.namedWeights().map((nw) => nw.variable.dataSync() as Float32Array);
        const weights = same ? null : current!;
        this.sentIds[s - 1] = ids;
        const req: PredictRequest = { type: 'predict', id: this.nextId++, weights, data: shard, shape: [frames, sizes[s]!, h, w, c], horizon, raw };
        const r = this.workers[s - 1]!.request(req, [shard.buffer as ArrayBuffer], 'prediction');
        // observed below; after a failure the worker's weights are sent again
        r.catch(() => (this.sentIds[s - 1] = undefined));
        replies.push(r);
      }
    }
    const own = sizes.length > 1 ? sliceSamples(data, frames, batch, 0, sizes[0]!) : data;
    const mine = tf.tidy(() => this.model.predict(tf.tensor5d(own, [frames, sizes[0]!, h, w, c]), horizon, { raw }));
    let ownOut: Float32Array;
    try {
      ownOut = (await mine.data()) as Float32Array;
    } finally {
      mine.dispose();
    }
    if (sizes.length === 1) return ownOut;

    const out = new Float32Array(horizon * batch * h * w * c);
    placeSamples(out, ownOut, horizon, batch, 0, sizes[0]!);
    const results = await Promise.all(replies);
    results.forEach((r, i) => placeSamples(out, r.data, horizon, batch, starts[i + 1]!, sizes[i + 1]!));
    return out;
  }

  /** Stop the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.workers.map((h) => h.close()));
  }
}
