/**
 * Fused element-wise kernels of the ST-ConvLSTM cell for the wasm and cpu backends.
 *
 * Each predictor time step runs a few dozen small element-wise ops per layer (gate splits, channel
 * concatenations, the LSTM state update and their gradients), ~9,000 kernels per `small` training step at
 * batch 2, each costing ~7–10 µs of engine overhead plus a copy of every saved input. These kernels do one
 * pass over [rows, C]-shaped float32 data in JS directly on the backend's memory (the wasm heap or the
 * cpu backend's arrays), replacing 5–15 kernels each. Sigmoids stay on the backend (vectorised there).
 *
 * Shapes: every input is viewed as rows × channels with channels = the last axis; `parts`/gates are
 * channel blocks of equal width C in the last axis (the layout of concatChannels in src/model/ops.ts).
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}
interface CpuLike {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): TensorInfo;
}

/**
 * Allocate outputs, then hand views of inputs and outputs to `fill`. On wasm the views are taken after
 * every allocation (allocating may grow the heap and detach earlier views).
 */
function compute(backend: unknown, inputs: TensorInfo[], outShapes: number[][], fill: (ins: Float32Array[], outs: Float32Array[]) => void): TensorInfo[] {
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`fused kernel: float32 inputs only, got ${t.dtype}`);
  const w = backend as Partial<WasmLike>;
  if (typeof w.makeOutput === 'function' && typeof w.typedArrayFromHeap === 'function') {
    const outs = outShapes.map((s) => w.makeOutput!(s, 'float32'));
    fill(
      inputs.map((t) => w.typedArrayFromHeap!(t)),
      outs.map((t) => w.typedArrayFromHeap!(t)),
    );
    return outs;
  }
  const c = backend as CpuLike;
  const outVals = outShapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(
    inputs.map((t) => c.data.get(t.dataId).values),
    outVals,
  );
  return outShapes.map((s, i) => c.makeTensorInfo(s, 'float32', outVals[i]));
}

function lastDim(t: TensorInfo): number {
  return t.shape[t.shape.length - 1]!;
}

/** inputs parts_0..parts_{P−1} [..., C] → [..., P·C] (part-major channels). */
function concatChannelsKernel(args: KernelArgs): TensorInfo {
  const parts = Object.keys(args.inputs)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .map((k) => args.inputs[k] as TensorInfo);
  const c = lastDim(parts[0]!);
  const p = parts.length;
  const shape = [...parts[0]!.shape.slice(0, -1), p * c];
  return compute(args.backend, parts, [shape], (ins, [out]) => {
    const rows = ins[0]!.length / c;
    for (let j = 0; j < p; j++) {
      const src = ins[j]!;
      for (let r = 0, o = j * c, s = 0; r < rows; r++, o += p * c, s += c) for (let k = 0; k < c; k++) out![o + k] = src[s + k]!;
    }
  })[0]!;
}

/** input x [..., P·C], attr parts → P outputs [..., C]. */
function splitChannelsKernel(args: KernelArgs): TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  const p = (args.attrs as { parts: number }).parts;
  const c = lastDim(x) / p;
  const shape = [...x.shape.slice(0, -1), c];
  return compute(args.backend, [x], Array.from({ length: p }, () => shape), ([src], outs) => {
    const rows = src!.length / (p * c);
    for (let j = 0; j < p; j++) {
      const dst = outs[j]!;
      for (let r = 0, s = j * c, o = 0; r < rows; r++, s += p * c, o += c) for (let k = 0; k < c; k++) dst[o + k] = src![s + k]!;
    }
  });
}

/** S = σ([i, f, g]) [..., 3C], s [..., C] → s' = σf·s + σi·(2σg − 1). */
function lstmCombineKernel(args: KernelArgs): TensorInfo {
  const S = args.inputs.S as TensorInfo;
  const s = args.inputs.s as TensorInfo;
  const c = lastDim(s);
  return compute(args.backend, [S, s], [[...s.shape]], ([g, st], [out]) => {
    const rows = st!.length / c;
    for (let r = 0, q = 0, o = 0; r < rows; r++, q += 3 * c, o += c) {
      for (let k = 0; k < c; k++) out![o + k] = g![q + c + k]! * st![o + k]! + g![q + k]! * (2 * g![q + 2 * c + k]! - 1);
    }
  })[0]!;
}

/** d [..., C], S [..., 3C], s [..., C] → dG = [d(2σg−1), d·s, 2d·σi] ⊙ S(1−S), ds = d·σf. */
function lstmCombineGradKernel(args: KernelArgs): TensorInfo[] {
  const d = args.inputs.dy as TensorInfo;
  const S = args.inputs.S as TensorInfo;
  const s = args.inputs.s as TensorInfo;
  const c = lastDim(s);
  return compute(args.backend, [d, S, s], [[...S.shape], [...s.shape]], ([dy, g, st], [dG, ds]) => {
    const rows = st!.length / c;
    for (let r = 0, q = 0, o = 0; r < rows; r++, q += 3 * c, o += c) {
      for (let k = 0; k < c; k++) {
        const dv = dy![o + k]!;
        const si = g![q + k]!;
        const sf = g![q + c + k]!;
        const sg = g![q + 2 * c + k]!;
        dG![q + k] = dv * (2 * sg - 1) * si * (1 - si);
        dG![q + c + k] = dv * st![o + k]! * sf * (1 - sf);
        dG![q + 2 * c + k] = 2 * dv * si * sg * (1 - sg);
        ds![o + k] = dv * sf;
      }
    }
  });
}

/** o = σ(G_o), w = σ(G_w) → h = o·(2w − 1). */
function outputGateKernel(args: KernelArgs): TensorInfo {
  const o = args.inputs.o as TensorInfo;
  const w = args.inputs.w as TensorInfo;
  return compute(args.backend, [o, w], [[...o.shape]], ([so, sw], [out]) => {
    for (let i = 0; i < out!.length; i++) out![i] = so![i]! * (2 * sw![i]! - 1);
  })[0]!;
}

/** d, o, w → dG_o = d(2w−1)·o(1−o), dG_w = 2d·o·w(1−w). */
function outputGateGradKernel(args: KernelArgs): TensorInfo[] {
  const d = args.inputs.dy as TensorInfo;
  const o = args.inputs.o as TensorInfo;
  const w = args.inputs.w as TensorInfo;
  return compute(args.backend, [d, o, w], [[...o.shape], [...w.shape]], ([dy, so, sw], [dgo, dgw]) => {
    for (let i = 0; i < dy!.length; i++) {
      const dv = dy![i]!;
      const ov = so![i]!;
      const wv = sw![i]!;
      dgo![i] = dv * (2 * wv - 1) * ov * (1 - ov);
      dgw![i] = 2 * dv * ov * wv * (1 - wv);
    }
  });
}

/** a = σ(G_a), h, z → z' = z + a·(h − z). */
function attendKernel(args: KernelArgs): TensorInfo {
  const a = args.inputs.a as TensorInfo;
  const h = args.inputs.h as TensorInfo;
  const z = args.inputs.z as TensorInfo;
  return compute(args.backend, [a, h, z], [[...z.shape]], ([sa, hv, zv], [out]) => {
    for (let i = 0; i < out!.length; i++) out![i] = zv![i]! + sa![i]! * (hv![i]! - zv![i]!);
  })[0]!;
}

/** d, a, h, z → dG_a = d(h − z)·a(1−a), dh = d·a, dz = d − d·a. */
function attendGradKernel(args: KernelArgs): TensorInfo[] {
  const d = args.inputs.dy as TensorInfo;
  const a = args.inputs.a as TensorInfo;
  const h = args.inputs.h as TensorInfo;
  const z = args.inputs.z as TensorInfo;
  return compute(args.backend, [d, a, h, z], [[...a.shape], [...h.shape], [...z.shape]], ([dy, sa, hv, zv], [dga, dh, dz]) => {
    for (let i = 0; i < dy!.length; i++) {
      const dv = dy![i]!;
      const av = sa![i]!;
      const t = dv * av;
      dga![i] = dv * (hv![i]! - zv![i]!) * av * (1 - av);
      dh![i] = t;
      dz![i] = dv - t;
    }
  });
}

export const FUSED_KERNELS = {
  concatChannels: 'CrevnetConcatChannels',
  splitChannels: 'CrevnetSplitChannels',
  lstmCombine: 'CrevnetLstmCombine',
  lstmCombineGrad: 'CrevnetLstmCombineGrad',
  outputGate: 'CrevnetOutputGate',
  outputGateGrad: 'CrevnetOutputGateGrad',
  attend: 'CrevnetAttend',
  attendGrad: 'CrevnetAttendGrad',
} as const;

const IMPLEMENTATIONS: Record<string, (args: KernelArgs) => TensorInfo | TensorInfo[]> = {
  [FUSED_KERNELS.concatChannels]: concatChannelsKernel,
  [FUSED_KERNELS.splitChannels]: splitChannelsKernel,
  [FUSED_KERNELS.lstmCombine]: lstmCombineKernel,
  [FUSED_KERNELS.lstmCombineGrad]: lstmCombineGradKernel,
  [FUSED_KERNELS.outputGate]: outputGateKernel,
  [FUSED_KERNELS.outputGateGrad]: outputGateGradKernel,
  [FUSED_KERNELS.attend]: attendKernel,
  [FUSED_KERNELS.attendGrad]: attendGradKernel,
};

/** Register the fused kernels on `backendName` (wasm and cpu only; a no-op elsewhere or when done). */
export function registerFusedKernels(backendName: string): void {
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
  for (const [kernelName, fn] of Object.entries(IMPLEMENTATIONS)) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({ kernelName, backendName, kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

let enabled = true;

/** Use the fused kernels where registered (default); off = the composed tf-op path (tests, benchmarks). */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether the fused kernels are on and registered for the current backend. */
export function fusedKernelsActive(): boolean {
  return enabled && tf.getKernel(FUSED_KERNELS.lstmCombine, tf.getBackend()) !== undefined;
}

/** Run a fused kernel (inputs are not taped: call inside a custom op). */
export function runFused<T extends tf.Tensor | tf.Tensor[]>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): T {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as T;
}
