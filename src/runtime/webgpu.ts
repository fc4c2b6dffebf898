/**
 * The WebGPU backend in Node: Dawn (the `webgpu` package, prebuilt `dawn.node`) under
 * @tensorflow/tfjs-backend-webgpu. Both are optional dependencies, loaded only when asked for.
 *
 * Dawn drives Vulkan, Metal or D3D12, so any vendor's GPU works; Mesa's lavapipe (llvmpipe) gives a
 * software adapter that is correct but about ten times slower than wasm, which is why `auto` takes
 * only hardware adapters (docs/gpu.md).
 *
 * In Node there is no synchronous GPU read (tfjs-backend-webgpu's readSync needs OffscreenCanvas):
 * everything that reads a webgpu tensor must use `await t.data()`. Shader and validation errors are
 * reported by Dawn asynchronously and would otherwise leave garbage in the output; they are
 * collected here and thrown from the next read.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { importOptional } from './optional.js';

/** The parts of the WebGPU API used here (the DOM typings are not part of this Node build). */
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  isFallbackAdapter?: boolean;
  requestDevice(desc?: object): Promise<GpuDeviceLike>;
}
interface GpuDeviceLike {
  destroy(): void;
  queue: { onSubmittedWorkDone(): Promise<void> };
  addEventListener(type: 'uncapturederror', fn: (ev: { error: { message: string }; preventDefault?: () => void }) => void): void;
  lost: Promise<{ reason: string; message: string }>;
}
interface GpuLike {
  requestAdapter(opts?: object): Promise<GpuAdapterLike | null>;
}
interface WebGpuModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
type WebGpuBackendClass = new (device: GpuDeviceLike, info?: GpuAdapterInfoLike) => tf.KernelBackend;
interface TfjsWebGpuModule {
  WebGPUBackend?: WebGpuBackendClass;
  default?: { WebGPUBackend?: WebGpuBackendClass };
}

/** What `crevnet info` and `bench` report about the adapter. */
export interface WebGpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** a CPU implementation (llvmpipe/lavapipe, SwiftShader, WARP, …): never chosen by `auto` */
  software: boolean;
  /** largest GPU buffer, bytes */
  maxBufferSize: number;
  /** largest storage buffer one shader can bind, bytes (bounds the largest tensor) */
  maxStorageBufferBindingSize: number;
}

interface Open {
  gpu: GpuLike;
  device: GpuDeviceLike;
  adapter: WebGpuAdapterSummary;
}
let open: Open | undefined;
/** GPU errors reported since the last read (shader compilation, validation, device loss). */
const pendingErrors: string[] = [];

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|\bcpu\b|microsoft basic render|\bwarp\b/i;

/** A software (CPU) adapter: Dawn's fallback flag, or vendor/architecture/device/description naming one. */
export function isSoftwareAdapter(info: Partial<Omit<WebGpuAdapterSummary, 'software'>> & { isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE.test(s));
}

function summarise(adapter: GpuAdapterLike): WebGpuAdapterSummary {
  const i = adapter.info ?? {};
  const base = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    maxBufferSize: adapter.limits.maxBufferSize ?? 0,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize ?? 0,
  };
  return { ...base, software: isSoftwareAdapter({ ...base, isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter }) };
}

/** One line naming an adapter, e.g. "llvmpipe: Mesa 25.0.7 (mesa, software)". */
export function describeAdapter(a: WebGpuAdapterSummary): string {
  const name = a.description || a.device || 'unnamed adapter';
  const tags = [a.vendor, a.architecture].filter((s) => s.length > 0).join(', ');
  return tags ? `${name} (${tags})` : name;
}

/**
 * Linux: a GPU driver needs a device node (Mesa's /dev/dri/renderD*, NVIDIA's /dev/nvidia0, WSL2's
 * /dev/dxg). Without one `auto` does not load Dawn at all: only a software adapter could be found,
 * and the Vulkan loader would print its "no GPU" complaints on stderr.
 */
function linuxGpuDeviceNode(): string | undefined {
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').find((f) => f.startsWith('renderD')) : undefined;
  if (dri) return `/dev/dri/${dri}`;
  return ['/dev/nvidia0', '/dev/dxg'].find((p) => existsSync(p));
}

/**
 * Find an adapter. `hardwareOnly` (auto): Mesa's software Vulkan driver is hidden from the Vulkan
 * loader while Dawn enumerates (it is never wanted then, and Dawn prints warnings about its limits),
 * and any other software adapter is refused.
 */
async function requestAdapter(hardwareOnly: boolean): Promise<{ gpu: GpuLike; adapter: GpuAdapterLike }> {
  if (hardwareOnly && process.platform === 'linux' && !linuxGpuDeviceNode()) {
    throw new Error('no GPU device (/dev/dri/renderD*, /dev/nvidia0 or /dev/dxg); a software adapter is never picked by auto, ask with --backend webgpu');
  }
  const mod = await importOptional<WebGpuModule>('webgpu', 'npm install webgpu');
  // Dawn's objects (GPUBufferUsage, GPUMapMode, …) are globals in a browser; tfjs-backend-webgpu expects them.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const hide = hardwareOnly && process.platform === 'linux';
  const saved = process.env.VK_LOADER_DRIVERS_DISABLE;
  if (hide) process.env.VK_LOADER_DRIVERS_DISABLE = [saved, '*lvp_icd*'].filter(Boolean).join(',');
  try {
    const gpu = mod.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new Error(
        hardwareOnly
          ? 'no hardware GPU adapter; a software adapter is never picked by auto, ask with --backend webgpu'
          : 'no WebGPU adapter: install the GPU\'s Vulkan/Metal/D3D12 driver (Linux without a GPU: Mesa\'s lavapipe, see docs/gpu.md)',
      );
    }
    return { gpu, adapter };
  } finally {
    if (hide) {
      if (saved === undefined) delete process.env.VK_LOADER_DRIVERS_DISABLE;
      else process.env.VK_LOADER_DRIVERS_DISABLE = saved;
    }
  }
}

/**
 * Open the GPU and make `webgpu` the tfjs backend. Throws (with a one-line reason) when the packages
 * are missing, no adapter is found, or `hardwareOnly` and the adapter is a software one.
 */
export async function initWebGpu(opts: { hardwareOnly: boolean }): Promise<WebGpuAdapterSummary> {
  if (open) {
    if (opts.hardwareOnly && open.adapter.software) throw new Error(`software adapter ${describeAdapter(open.adapter)}`);
    if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend("webgpu") returned false');
    return open.adapter;
  }
  const { gpu, adapter } = await requestAdapter(opts.hardwareOnly);
  const summary = summarise(adapter);
  if (opts.hardwareOnly && summary.software) {
    throw new Error(`software adapter ${describeAdapter(summary)}: wasm is faster, ask for it with --backend webgpu`);
  }
  const backendModule = await importOptional<TfjsWebGpuModule>('@tensorflow/tfjs-backend-webgpu', 'npm install @tensorflow/tfjs-backend-webgpu');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      // AddN and Concat bind one storage buffer per input; the default is 8
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  device.addEventListener('uncapturederror', (ev) => {
    pendingErrors.push(firstLines(ev.error.message));
    ev.preventDefault?.(); // Dawn would print the full multi-line report to stderr as well
  });
  void device.lost.then((info) => {
    if (open?.device === device && info.reason !== 'destroyed') pendingErrors.push(`GPU device lost: ${info.message}`);
  });
  // The backend's constructor checks for navigator.gpu (Node 20 has no navigator).
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  g.navigator!.gpu = gpu;
  const Base = backendModule.WebGPUBackend ?? backendModule.default?.WebGPUBackend;
  if (!Base) throw new Error('@tensorflow/tfjs-backend-webgpu exports no WebGPUBackend');
  const Checked = checkedBackend(Base);
  // the package registers a factory of its own when navigator.gpu already existed at its import
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new Checked(device, adapter.info), 0);
  open = { gpu, device, adapter: summary };
  if (!(await tf.setBackend('webgpu'))) {
    await closeWebGpu();
    throw new Error('setBackend("webgpu") returned false');
  }
  return summary;
}

function firstLines(message: string): string {
  // Dawn's report: "Error while parsing WGSL: :148:43 error: cannot index type 'vec5'" then the
  // source line, then "While calling [Device].CreateShaderModule([... "PadProgram"])".
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const program = /"+(\w+Program)"+/.exec(message)?.[1];
  return `${lines[0] ?? message}${program ? ` (${program})` : ''}`;
}

/** Throw the GPU errors reported since the last check (and forget them). */
export function throwPendingGpuErrors(): void {
  if (pendingErrors.length === 0) return;
  const first = pendingErrors[0]!;
  const more = pendingErrors.length - 1;
  pendingErrors.length = 0;
  throw new Error(`webgpu: ${first}${more > 0 ? ` (and ${more} more GPU errors)` : ''}`);
}

/** The backend class with reads that fail loudly: after a GPU error, and on a synchronous read. */
function checkedBackend(Base: WebGpuBackendClass) {
  type Readable = tf.KernelBackend & { read(id: object): Promise<tf.backend_util.BackendValues>; readSync(id: object): tf.backend_util.BackendValues };
  const B = Base as unknown as new (device: GpuDeviceLike, info?: GpuAdapterInfoLike) => Readable;
  return class CheckedWebGPUBackend extends B {
    constructor(device: GpuDeviceLike, info?: GpuAdapterInfoLike) {
      super(device, info);
      // its "use asynchronous APIs" console warning: readSync below throws a clearer error instead
      (this as unknown as { hasReadSyncWarned: boolean }).hasReadSyncWarned = true;
    }

    override async read(dataId: object): Promise<tf.backend_util.BackendValues> {
      throwPendingGpuErrors();
      const values = await super.read(dataId);
      throwPendingGpuErrors();
      return values;
    }

    override readSync(dataId: object): tf.backend_util.BackendValues {
      try {
        return super.readSync(dataId);
      } catch (err) {
        if (err instanceof ReferenceError) {
          throw new Error('webgpu: synchronous read (dataSync/arraySync) of a GPU tensor is not possible in Node; use await data()');
        }
        throw err;
      }
    }
  } as unknown as new (device: GpuDeviceLike, info?: GpuAdapterInfoLike) => tf.KernelBackend;
}

/**
 * Submit what the backend has queued (tfjs batches dispatches), wait until the GPU is idle, and
 * return (and forget) the GPU errors reported so far.
 */
export async function settleWebGpu(): Promise<string[]> {
  if (!open) return [];
  const be = tf.findBackend('webgpu') as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void } | undefined;
  if (be) {
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.submitQueue();
  }
  await open.device.queue.onSubmittedWorkDone();
  // error callbacks are delivered on a later turn of the event loop
  await new Promise((r) => setTimeout(r, 0));
  return pendingErrors.splice(0, pendingErrors.length);
}

/** The adapter in use, if the GPU is open. */
export function webGpuAdapter(): WebGpuAdapterSummary | undefined {
  return open?.adapter;
}

/**
 * Release the GPU in order: queued work finishes, the tfjs backend frees its buffers, the device is
 * destroyed, the last reference to Dawn's instance goes; so nothing of Dawn is left for Node's
 * teardown (docs/gpu.md). Safe to call when nothing is open.
 */
export async function closeWebGpu(): Promise<void> {
  if (!open) return;
  const { device } = open;
  if (tf.findBackend('webgpu')) {
    // queued GPU work finishes before its buffers go
    await settleWebGpu().catch(() => undefined);
    tf.removeBackend('webgpu');
  }
  open = undefined;
  device.destroy();
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator) delete g.navigator.gpu;
  pendingErrors.length = 0;
}
