/**
 * The page: pick a video (file, drop, or the sample), a model, the context length, the horizon and
 * where the context ends; the frames are decoded here (video.ts), the rollout runs in a worker
 * (worker.ts), and the result is shown, scored with the project's metrics and offered as downloads
 * made the way `crevnet predict --compare` makes its output (src/predict/compose.ts).
 */
import { frameScores } from '../src/eval/metrics.js';
import { composeFrames } from '../src/predict/compose.js';
import { floatToUint8, uint8ToFloat } from '../src/data/pixels.js';
import { absDiff, contactSheet } from '../src/video/frames.js';
import { FIT_MODES, type FitMode } from '../src/video/fit.js';
import { lineChart } from './chart.js';
import { encodeGrayGif } from './gif.js';
import { BACKENDS, type Backend, type BackendAttempt, type BackendChoice, type FromWorker, type ToWorker } from './protocol.js';
import { InputError, VideoReader } from './video.js';

interface ModelInfo {
  name: string;
  label: string;
  imageSize: [number, number, number];
  description?: string;
  bytes: number;
}

interface ServerInfo {
  defaultModel: string;
  models: ModelInfo[];
  samples: string[];
}

/** What the page computed, for a person (downloads) and for the browser tests (window.__crevnet). */
interface Result {
  model: string;
  backend: Backend;
  width: number;
  height: number;
  fps: number;
  /** index of the first predicted frame in the video (= where the context ends) */
  start: number;
  context: Uint8Array[];
  truth: Uint8Array[];
  /** predicted frames as bytes (clamped floats rounded, as the CLI writes them) */
  frames: Uint8Array[];
  perFrame?: { ssim: number[]; mse: number[] };
  decodeSeconds: number;
  loadSeconds: number;
  predictSeconds: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

type PageState = 'starting' | 'idle' | 'loading' | 'ready' | 'decoding' | 'predicting' | 'done' | 'error';

const MAX_HORIZON = 100;
const LARGE_PIXELS = 1920 * 1080;
const LARGE_BYTES = 256 * 1024 * 1024;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page element #${id} is missing`);
  return e as T;
};

const ui = {
  file: $<HTMLInputElement>('file'),
  drop: $('drop'),
  sample: $<HTMLButtonElement>('sample'),
  videoInfo: $('video-info'),
  model: $<HTMLSelectElement>('model'),
  backend: $<HTMLSelectElement>('backend'),
  backendStatus: $('backend-status'),
  fit: $<HTMLSelectElement>('fit'),
  context: $<HTMLInputElement>('context'),
  horizon: $<HTMLInputElement>('horizon'),
  start: $<HTMLInputElement>('start'),
  startLabel: $('start-label'),
  startValue: $('start-value'),
  preview: $<HTMLCanvasElement>('preview'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  message: $('message'),
  notice: $('notice'),
  result: $('result'),
  views: {
    context: $<HTMLCanvasElement>('view-context'),
    prediction: $<HTMLCanvasElement>('view-prediction'),
    truth: $<HTMLCanvasElement>('view-truth'),
    diff: $<HTMLCanvasElement>('view-diff'),
  },
  play: $<HTMLButtonElement>('play'),
  frame: $<HTMLInputElement>('frame'),
  frameLabel: $('frame-label'),
  charts: $('charts'),
  scores: $('scores'),
  timing: $('timing'),
  dlGif: $<HTMLAnchorElement>('download-gif'),
  dlPng: $<HTMLAnchorElement>('download-png'),
};

const page = {
  info: undefined as ServerInfo | undefined,
  reader: undefined as VideoReader | undefined,
  worker: undefined as Worker | undefined,
  backend: undefined as Backend | undefined,
  backendReady: undefined as Promise<Backend> | undefined,
  runId: 0,
  result: undefined as Result | undefined,
};

const testHook = { state: 'starting' as PageState, result: undefined as Result | undefined, backend: undefined as Backend | undefined, message: '', notice: '' };
(window as unknown as { __crevnet: typeof testHook }).__crevnet = testHook;

function setState(s: PageState): void {
  testHook.state = s;
  document.body.dataset.state = s;
  const busy = s === 'decoding' || s === 'predicting' || s === 'loading' || s === 'starting';
  ui.run.disabled = busy || !page.reader;
  ui.stop.hidden = !(s === 'decoding' || s === 'predicting');
  ui.progress.hidden = !busy;
}

function showMessage(text: string): void {
  testHook.message = text;
  ui.message.textContent = text;
  ui.message.hidden = text === '';
}

function showNotice(text: string): void {
  testHook.notice = text;
  ui.notice.textContent = text;
  ui.notice.hidden = text === '';
}

function fail(err: unknown): void {
  const text = err instanceof Error ? err.message : String(err);
  showMessage(text);
  setState('error');
}

function progress(text: string, done?: number, total?: number): void {
  ui.status.textContent = text;
  if (done !== undefined && total) {
    ui.progress.max = total;
    ui.progress.value = done;
  } else {
    ui.progress.removeAttribute('value');
  }
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

const BACKEND_NAMES: Record<Backend, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly (wasm)' };

/* ---------- backend / worker ---------- */

function describeAttempts(choice: BackendChoice, attempts: BackendAttempt[]): { status: string; fallback: string } {
  const ok = attempts.find((a) => a.ok);
  const failed = attempts.filter((a) => !a.ok);
  const why = failed.map((a) => `${BACKEND_NAMES[a.backend]}: ${a.reason ?? 'failed'}`).join('; ');
  if (!ok) return { status: 'no backend', fallback: `No backend could be initialised (${why}).` };
  let fallback = '';
  if (choice !== 'auto' && ok.backend !== choice) {
    fallback = `${BACKEND_NAMES[choice]} failed to initialise (${failed.find((a) => a.backend === choice)?.reason ?? 'unknown'}); using ${BACKEND_NAMES[ok.backend]} instead.`;
  }
  const status = `${BACKEND_NAMES[ok.backend]}${failed.length ? ` (not available: ${why})` : ''}`;
  return { status, fallback };
}

type Pending = { resolve: (m: Extract<FromWorker, { type: 'result' }>) => void; reject: (e: Error) => void; onProgress: (m: Extract<FromWorker, { type: 'progress' }>) => void };
const pending = new Map<number, Pending>();

function startWorker(choice: BackendChoice): void {
  page.worker?.terminate();
  for (const p of pending.values()) p.reject(new Error('stopped'));
  pending.clear();
  page.backend = undefined;
  testHook.backend = undefined;
  ui.backendStatus.textContent = 'starting…';
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  page.worker = worker;
  page.backendReady = new Promise<Backend>((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const m = ev.data;
      if (m.type === 'ready' || m.type === 'init-failed') {
        const d = describeAttempts(choice, m.attempts);
        ui.backendStatus.textContent = d.status;
        if (m.type === 'ready') {
          page.backend = m.backend;
          testHook.backend = m.backend;
          if (d.fallback) showNotice(d.fallback);
          resolve(m.backend);
        } else {
          reject(new Error(d.fallback));
        }
      } else if (m.type === 'progress') {
        pending.get(m.id)?.onProgress(m);
      } else if (m.type === 'result') {
        pending.get(m.id)?.resolve(m);
        pending.delete(m.id);
      } else if (m.type === 'error') {
        pending.get(m.id)?.reject(new Error(m.message));
        pending.delete(m.id);
      }
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      const err = new Error(`the inference worker failed: ${ev.message || 'script error'}`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
  });
  page.backendReady.catch((err: unknown) => {
    ui.backendStatus.textContent = 'failed';
    fail(err);
  });
  worker.postMessage({ type: 'init', backend: choice } satisfies ToWorker);
}

/* ---------- input ---------- */

let readerQueue: Promise<unknown> = Promise.resolve();
/** Seeks of one <video> must not interleave (the slider preview and a run share it). */
function withReader<T>(fn: (r: VideoReader) => Promise<T>): Promise<T> {
  const next = readerQueue.then(() => {
    if (!page.reader) throw new InputError('choose a video first');
    return fn(page.reader);
  });
  readerQueue = next.catch(() => undefined);
  return next;
}

function selectedModel(): ModelInfo {
  const m = page.info?.models.find((x) => x.name === ui.model.value);
  if (!m) throw new InputError('choose a model');
  return m;
}

function intValue(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (!Number.isInteger(v) || v < min || v > max) throw new InputError(`${name} must be an integer from ${min} to ${max} (got "${input.value}")`);
  return v;
}

function updateSlider(): void {
  const r = page.reader;
  if (!r) return;
  const n = r.info.frameCount;
  const k = Math.max(3, Math.min(n, Number(ui.context.value) || 3));
  const h = Math.max(1, Number(ui.horizon.value) || 1);
  ui.start.min = String(Math.min(k, n));
  ui.start.max = String(n);
  const v = Number(ui.start.value);
  if (!(v >= k && v <= n)) ui.start.value = String(Math.max(k, n - h));
  labelSlider();
}

function labelSlider(): void {
  const r = page.reader;
  if (!r) return;
  const n = r.info.frameCount;
  const end = Number(ui.start.value);
  const k = Number(ui.context.value);
  const truth = Math.max(0, Math.min(Number(ui.horizon.value), n - end));
  ui.startValue.textContent = String(end);
  ui.startLabel.textContent =
    `context: frames ${Math.max(0, end - k)}–${end - 1}; ` + (truth > 0 ? `ground truth: frames ${end}–${end + truth - 1}` : 'no ground truth (predicting past the end)');
}

let previewTimer: ReturnType<typeof setTimeout> | undefined;
function schedulePreview(): void {
  if (previewTimer) clearTimeout(previewTimer);
  previewTimer = setTimeout(() => {
    const r = page.reader;
    if (!r) return;
    let m: ModelInfo;
    try {
      m = selectedModel();
    } catch {
      return;
    }
    const [H, W] = m.imageSize;
    const i = Math.max(0, Math.min(r.info.frameCount - 1, Number(ui.start.value) - 1));
    withReader((rd) => rd.frame(i, W, H, ui.fit.value as FitMode))
      .then((f) => drawGray(ui.preview, f, W, H))
      .catch(() => undefined);
  }, 120);
}

async function openInput(url: string, name: string, file?: File): Promise<void> {
  showMessage('');
  showNotice('');
  page.reader?.close();
  page.reader = undefined;
  ui.videoInfo.textContent = '';
  setState('loading');
  progress(`reading ${name}…`);
  try {
    const head = file ? new Uint8Array(await file.slice(0, 16).arrayBuffer()) : undefined;
    if (file && file.size === 0) throw new InputError(`${name} is empty (0 bytes), not a video`);
    const reader = await VideoReader.open(url, name, { ...(file ? { bytes: file.size } : {}), ...(head ? { head } : {}) });
    page.reader = reader;
    const i = reader.info;
    ui.videoInfo.textContent = `${name}: ${i.width}×${i.height}, ${i.frameCount} frame${i.frameCount === 1 ? '' : 's'} at ${i.fps.toFixed(i.fps % 1 ? 2 : 0)} fps${i.fpsAssumed ? ' (assumed)' : ''}, ${i.duration.toFixed(2)} s${i.bytes !== undefined ? `, ${bytesText(i.bytes)}` : ''}`;
    const notes: string[] = [];
    if (i.width * i.height > LARGE_PIXELS || (i.bytes ?? 0) > LARGE_BYTES) {
      notes.push(
        `Large video (${i.width}×${i.height}${i.bytes !== undefined ? `, ${bytesText(i.bytes)}` : ''}): only the frames the prediction needs are decoded, one at a time, and reduced to the model's size straight away.`,
      );
    }
    if (i.fpsAssumed) notes.push('This browser does not report frame times; the frame rate is assumed to be 25 fps.');
    showNotice(notes.join(' '));
    updateSlider();
    schedulePreview();
    setState('ready');
    progress('');
    const k = Number(ui.context.value);
    if (i.frameCount < k) {
      showMessage(`${name} has ${i.frameCount} frame${i.frameCount === 1 ? '' : 's'}; a context of ${k} needs at least ${k} (lower the context or choose a longer video)`);
    }
  } catch (err) {
    if (file) URL.revokeObjectURL(url);
    fail(err);
  }
}

function openFile(file: File): void {
  void openInput(URL.createObjectURL(file), file.name, file);
}

/* ---------- run ---------- */

async function run(): Promise<void> {
  showMessage('');
  const id = ++page.runId;
  try {
    const r = page.reader;
    if (!r) throw new InputError('choose a video first');
    const m = selectedModel();
    const [H, W, C] = m.imageSize;
    if (C !== 1) throw new InputError(`model ${m.name} takes ${C}-channel frames; the page supports grayscale (1-channel) models`);
    const n = r.info.frameCount;
    const K = intValue(ui.context, 'the context', 3, 1000);
    if (n < K) throw new InputError(`${r.info.name} has ${n} frame${n === 1 ? '' : 's'}; a context of ${K} needs at least ${K} (lower the context or choose a longer video)`);
    const horizon = intValue(ui.horizon, 'the horizon', 1, MAX_HORIZON);
    const end = intValue(ui.start, 'where the context ends', K, n);
    const nTruth = Math.min(horizon, n - end);
    const fit = ui.fit.value as FitMode;

    setState('decoding');
    const total = K + nTruth;
    progress(`decoding frame 0 of ${total}…`, 0, total);
    const t0 = performance.now();
    const frames = await withReader((rd) => rd.frames(end - K, total, W, H, fit, (done) => progress(`decoding frame ${done} of ${total}…`, done, total)));
    if (id !== page.runId) return;
    const context = frames.slice(0, K);
    const truth = frames.slice(K);
    const decodeSeconds = (performance.now() - t0) / 1000;

    setState('predicting');
    progress('starting the backend…');
    const backend = await page.backendReady!;
    progress(`predicting on ${BACKEND_NAMES[backend]}…`);
    const worker = page.worker!;
    const res = await new Promise<Extract<FromWorker, { type: 'result' }>>((resolve, reject) => {
      pending.set(id, {
        resolve,
        reject,
        onProgress: (p) =>
          p.stage === 'model'
            ? progress(`loading model ${m.name} (${p.done} of ${p.total} files)…`, p.done, p.total)
            : progress(`predicting on ${BACKEND_NAMES[backend]}: step ${p.done} of ${p.total}…`, p.done, p.total),
      });
      worker.postMessage({ type: 'predict', id, modelUrl: `models/${encodeURIComponent(m.name)}/`, modelName: m.name, context, width: W, height: H, horizon } satisfies ToWorker);
    });
    if (id !== page.runId) return;

    const HW = W * H;
    const predicted: Uint8Array[] = [];
    for (let t = 0; t < horizon; t++) predicted.push(floatToUint8(res.frames, t * HW, HW));
    const result: Result = {
      model: m.name,
      backend: res.backend,
      width: W,
      height: H,
      fps: r.info.fps,
      start: end,
      context,
      truth,
      frames: predicted,
      decodeSeconds,
      loadSeconds: res.loadSeconds,
      predictSeconds: res.predictSeconds,
      tensorsBefore: res.tensorsBefore,
      tensorsAfter: res.tensorsAfter,
    };
    if (truth.length > 0) {
      // scored as `crevnet predict` scores (src/predict/predict.ts inferClip): the clamped floats against the truth
      const ssim: number[] = [];
      const mse: number[] = [];
      truth.forEach((g, t) => {
        const s = frameScores(res.frames.subarray(t * HW, (t + 1) * HW), uint8ToFloat(g), H, W);
        ssim.push(s.ssim);
        mse.push(s.mse);
      });
      result.perFrame = { ssim, mse };
    }
    page.result = result;
    showResult(result, r.info.name);
    testHook.result = result;
    setState('done');
    progress(`done: ${horizon} frame${horizon === 1 ? '' : 's'} predicted`);
  } catch (err) {
    if (id !== page.runId) return;
    if (err instanceof Error && err.message === 'stopped') {
      setState(page.reader ? 'ready' : 'idle');
      progress('stopped');
      return;
    }
    fail(err);
  }
}

/* ---------- result ---------- */

function drawGray(canvas: HTMLCanvasElement, f: Uint8Array | undefined, W: number, H: number): void {
  canvas.width = W;
  canvas.height = H;
  const g = canvas.getContext('2d')!;
  const img = g.createImageData(W, H);
  for (let i = 0; i < W * H; i++) {
    const v = f ? f[i]! : 24;
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  g.putImageData(img, 0, 0);
}

let player: { timer?: ReturnType<typeof setInterval>; t: number } = { t: 0 };

function showFrame(res: Result, t: number): void {
  const K = res.context.length;
  const { width: W, height: H } = res;
  const p = t >= K ? res.frames[t - K] : undefined;
  const g = t >= K ? res.truth[t - K] : undefined;
  drawGray(ui.views.context, res.context[Math.min(t, K - 1)], W, H);
  drawGray(ui.views.prediction, p, W, H);
  drawGray(ui.views.truth, g, W, H);
  drawGray(ui.views.diff, p && g ? absDiff(g, p) : undefined, W, H);
  ui.frame.value = String(t);
  const index = res.start - K + t;
  ui.frameLabel.textContent =
    t < K ? `frame ${index} (context ${t + 1} of ${K})` : `frame ${index} (predicted ${t - K + 1} of ${res.frames.length}${g ? '' : ', no ground truth'})`;
}

function stopPlayer(): void {
  if (player.timer) clearInterval(player.timer);
  player.timer = undefined;
  ui.play.textContent = 'Play';
}

function startPlayer(res: Result): void {
  stopPlayer();
  const total = res.context.length + res.frames.length;
  ui.play.textContent = 'Pause';
  player.timer = setInterval(() => {
    player.t = (player.t + 1) % total;
    showFrame(res, player.t);
  }, 1000 / Math.min(30, Math.max(2, res.fps)));
}

async function pngBlob(gray: Uint8Array, W: number, H: number): Promise<Blob> {
  const c = document.createElement('canvas');
  drawGray(c, gray, W, H);
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the PNG'))), 'image/png'));
}

async function prepareDownloads(res: Result, videoName: string): Promise<void> {
  for (const a of [ui.dlGif, ui.dlPng]) {
    if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
    a.removeAttribute('href');
    a.dataset.ready = 'false';
  }
  // what `crevnet predict --compare` writes when there is ground truth; context + prediction otherwise
  const compare = res.truth.length > 0;
  const composed = composeFrames({ width: res.width, height: res.height, context: res.context, truth: res.truth }, { frames: res.frames }, { compare });
  const base = `${videoName.replace(/\.[^.]*$/, '') || 'video'}-${res.model}`;
  const gif = encodeGrayGif(composed.frames, composed.width, composed.height, 1000 / (res.fps > 0 ? res.fps : 25));
  ui.dlGif.href = URL.createObjectURL(new Blob([gif as Uint8Array<ArrayBuffer>], { type: 'image/gif' }));
  ui.dlGif.download = `${base}.gif`;
  ui.dlGif.dataset.ready = 'true';
  const sheet = contactSheet(composed.frames, composed.width, composed.height);
  ui.dlPng.href = URL.createObjectURL(await pngBlob(sheet.data, sheet.width, sheet.height));
  ui.dlPng.download = `${base}.png`;
  ui.dlPng.dataset.ready = 'true';
  document.body.dataset.downloads = 'ready';
}

function showResult(res: Result, videoName: string): void {
  ui.result.hidden = false;
  stopPlayer();
  const total = res.context.length + res.frames.length;
  ui.frame.max = String(total - 1);
  player = { t: res.context.length };
  showFrame(res, player.t);
  ui.charts.replaceChildren();
  if (res.perFrame) {
    const first = res.start;
    ui.charts.append(
      lineChart(res.perFrame.ssim, { title: 'SSIM (higher is better)', first, min: Math.min(0, ...res.perFrame.ssim), max: 1, color: '#2a7ab0' }),
      lineChart(res.perFrame.mse, { title: 'MSE per frame (sum over pixels)', first, min: 0, color: '#c0392b' }),
    );
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    ui.scores.textContent = `against ${res.truth.length} ground-truth frame${res.truth.length === 1 ? '' : 's'}: mean SSIM ${mean(res.perFrame.ssim).toFixed(4)}, mean MSE ${mean(res.perFrame.mse).toFixed(1)}`;
  } else {
    ui.scores.textContent = 'no ground truth after the context: nothing to score against';
  }
  ui.timing.textContent =
    `inference: ${res.predictSeconds.toFixed(2)} s for ${res.frames.length} frame${res.frames.length === 1 ? '' : 's'} on ${BACKEND_NAMES[res.backend]}` +
    ` (model load ${res.loadSeconds.toFixed(2)} s, decoding ${res.decodeSeconds.toFixed(2)} s)`;
  document.body.dataset.downloads = 'pending';
  prepareDownloads(res, videoName).catch(fail);
}

/* ---------- wiring ---------- */

function wire(): void {
  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) openFile(f);
    // choosing the same file again must load it again
    ui.file.value = '';
  });
  ui.sample.addEventListener('click', () => {
    const s = page.info?.samples[0];
    if (s) void openInput(`samples/${encodeURIComponent(s)}`, s);
  });
  for (const t of ['dragenter', 'dragover']) {
    document.addEventListener(t, (e) => {
      e.preventDefault();
      ui.drop.classList.add('over');
    });
  }
  document.addEventListener('dragleave', (e) => {
    if (e.target === document.documentElement || e.target === ui.drop) ui.drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const f = (e as DragEvent).dataTransfer?.files[0];
    if (f) openFile(f);
  });
  ui.backend.addEventListener('change', () => {
    showNotice('');
    startWorker(ui.backend.value as BackendChoice);
  });
  ui.context.addEventListener('input', () => (updateSlider(), schedulePreview()));
  ui.horizon.addEventListener('input', () => updateSlider());
  ui.start.addEventListener('input', () => (labelSlider(), schedulePreview()));
  ui.fit.addEventListener('change', schedulePreview);
  ui.model.addEventListener('change', schedulePreview);
  ui.run.addEventListener('click', () => void run());
  ui.stop.addEventListener('click', () => {
    page.runId++;
    startWorker(ui.backend.value as BackendChoice);
    setState(page.reader ? 'ready' : 'idle');
    progress('stopped');
  });
  ui.play.addEventListener('click', () => {
    const res = page.result;
    if (!res) return;
    if (player.timer) stopPlayer();
    else startPlayer(res);
  });
  ui.frame.addEventListener('input', () => {
    const res = page.result;
    if (!res) return;
    stopPlayer();
    player.t = Number(ui.frame.value);
    showFrame(res, player.t);
  });
  window.addEventListener('error', (e) => fail(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => fail(e.reason));
}

async function start(): Promise<void> {
  wire();
  const params = new URLSearchParams(location.search);
  for (const f of FIT_MODES) ui.fit.append(new Option(f, f, f === 'crop', f === 'crop'));
  const wanted = params.get('backend');
  ui.backend.value = wanted && (['auto', ...BACKENDS] as string[]).includes(wanted) ? wanted : 'auto';
  startWorker(ui.backend.value as BackendChoice);
  let info: ServerInfo;
  try {
    const res = await fetch('api/info');
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    info = (await res.json()) as ServerInfo;
  } catch (err) {
    throw new Error(`cannot list the models (api/info: ${err instanceof Error ? err.message : String(err)}); is crevnet serve running?`);
  }
  page.info = info;
  for (const m of info.models) {
    const [h, w, c] = m.imageSize;
    ui.model.append(new Option(`${m.name} (${w}×${h}${c === 1 ? ' gray' : `×${c}`}, ${bytesText(m.bytes)})`, m.name));
  }
  ui.model.value = params.get('model') ?? info.defaultModel;
  if (!ui.model.value) ui.model.value = info.defaultModel;
  ui.sample.hidden = info.samples.length === 0;
  setState('idle');
}

start().catch(fail);
