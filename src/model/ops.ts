/**
 * Lean differentiable ops for the hot paths.
 *
 * tfjs records every op on the gradient tape together with the inputs its gradient needs, and a
 * saved input is a full copy on wasm (Identity kernel): Reshape, Slice, Add, Sub and Multiply all
 * save both inputs, only to read their shapes. These ops have custom gradients that save nothing
 * (shapes are captured by closure), and `transpose` also works around wasm's slow (5-D) and broken
 * (7-D, silently wrong) Transpose kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';

/** Permutation as the fewest dims: size-1 dims dropped, dims adjacent in input and output merged. */
function mergedPermutation(shape: readonly number[], perm: readonly number[]): { sizes: number[]; perm: number[] } {
  const runs: number[][] = [];
  for (const p of perm.filter((d) => shape[d] !== 1)) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1]! + 1 === p) last.push(p);
    else runs.push([p]);
  }
  const byInput = [...runs].sort((a, b) => a[0]! - b[0]!);
  return { sizes: byInput.map((r) => r.reduce((acc, d) => acc * shape[d]!, 1)), perm: runs.map((r) => byInput.indexOf(r)) };
}

/**
 * Transpose kernel calls only: merged dims, and permutations of more than 4 merged dims done as
 * 4-D block swaps [pre, X, Y, post] → [pre, Y, X, post] (wasm's 5-D transpose is ~40× slower per
 * element than 4-D, and its 7-D transpose returns wrong values).
 */
function rawTranspose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
  const outShape = perm.map((p) => x.shape[p]!);
  const m = mergedPermutation(x.shape, perm);
  if (m.perm.length <= 1) return x.reshape(outShape);
  if (m.perm.length <= 4) return x.reshape(m.sizes).transpose(m.perm).reshape(outShape);
  let order = m.perm.map((_, i) => i); // position → merged input dim
  let y: tf.Tensor = x;
  for (let k = 0; k < m.perm.length; k++) {
    const j = order.indexOf(m.perm[k]!);
    if (j === k) continue;
    const dims = order.map((d) => m.sizes[d]!);
    const prod = (a: number, b: number) => dims.slice(a, b).reduce((u, v) => u * v, 1);
    y = y.reshape([prod(0, k), prod(k, j), dims[j]!, prod(j + 1, dims.length)]).transpose([0, 2, 1, 3]);
    order = [...order.slice(0, k), order[j]!, ...order.slice(k, j), ...order.slice(j + 1)];
  }
  return y.reshape(outShape);
}

/** tf.transpose (same result), fast on wasm, gradient = inverse transpose, nothing saved. */
export function transpose<T extends tf.Tensor>(x: T, perm: readonly number[]): T {
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return customOp<T>(([xi]) => ({
    value: rawTranspose(xi!, perm) as T,
    gradFunc: (dy) => [rawTranspose(dy, inverse)],
  }))(x);
}

/** tf.reshape without saving a copy of the input for the gradient. */
export function reshape<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  const inShape = x.shape;
  return customOp<T>(([xi]) => ({ value: xi!.reshape(shape) as T, gradFunc: (dy) => [dy.reshape(inShape)] }))(x);
}

/** a + b for equal shapes, nothing saved. */
export function add<T extends tf.Tensor>(a: T, b: T): T {
  return customOp<T>(([ai, bi]) => ({ value: tf.add(ai!, bi!) as T, gradFunc: (dy) => [dy, dy.reshape(dy.shape)] }))(a, b);
}

/** a − b for equal shapes, nothing saved. */
export function sub<T extends tf.Tensor>(a: T, b: T): T {
  return customOp<T>(([ai, bi]) => ({ value: tf.sub(ai!, bi!) as T, gradFunc: (dy) => [dy, tf.neg(dy)] }))(a, b);
}

/** Untaped channel concat (for use inside custom ops). */
export function rawConcatChannels(parts: readonly tf.Tensor4D[]): tf.Tensor4D {
  const [n, h, w, c] = parts[0]!.shape;
  return rawTranspose(tf.concat([...parts], 0).reshape([parts.length, n * h * w, c]), [1, 0, 2]).reshape([n, h, w, parts.length * c]) as tf.Tensor4D;
}

/** Channel concat of equal-width [N,H,W,C] tensors → [N,H,W,P·C] (part-major): axis-0 concat + transpose. */
export function concatChannels(parts: readonly tf.Tensor4D[]): tf.Tensor4D {
  if (parts.length === 1) return parts[0]!;
  const [n, h, w, c] = parts[0]!.shape;
  for (const p of parts) if (p.shape[3] !== c || p.shape[0] !== n) throw new Error('concatChannels: parts must have equal shapes');
  const p = parts.length;
  return customOp<tf.Tensor4D>((inputs) => ({
    value: rawConcatChannels(inputs as tf.Tensor4D[]),
    gradFunc: (dy) => rawSplitChannels(dy, p),
  }))(...parts);
}

/** Untaped channel split (for use inside custom ops). */
export function rawSplitChannels(x: tf.Tensor4D, parts: number): tf.Tensor4D[] {
  const [n, h, w, pc] = x.shape;
  const c = pc / parts;
  const rows = n * h * w * c;
  const t = rawTranspose(x.reshape([n * h * w, parts, c]), [1, 0, 2]).reshape([parts, rows]);
  // StridedSlice is a C++ kernel on wasm; Slice/SplitV first copy the whole input out of the heap
  return Array.from({ length: parts }, (_, i) => tf.stridedSlice(t, [i, 0], [i + 1, rows], [1, 1]).reshape([n, h, w, c]) as tf.Tensor4D);
}

/** Σ over all but the last axis as a [C] vector, by a ones-vector matMul (faster than Sum on wasm). */
export function sumToChannels(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1]!;
  const r = x.size / c;
  return tf.matMul(tf.ones([1, r]), x.reshape([r, c])).reshape([c]);
}

/** Inverse of concatChannels: [N,H,W,P·C] → P tensors [N,H,W,C] (tf.split's gradient is a concat, nothing saved). */
export function splitChannels(x: tf.Tensor4D, parts: number): tf.Tensor4D[] {
  if (parts === 1) return [x];
  const [n, h, w, pc] = x.shape;
  const c = pc / parts;
  const t = transpose(reshape<tf.Tensor3D>(x, [n * h * w, parts, c]), [1, 0, 2]);
  return tf.split(t, parts, 0).map((s) => reshape<tf.Tensor4D>(s, [n, h, w, c]));
}

/** tf.concat on axis 0 (contiguous, fast) without saving copies of the inputs (tf.concat saves all). */
export function concatRows<T extends tf.Tensor>(parts: readonly T[]): T {
  if (parts.length === 1) return parts[0]!;
  const sizes = parts.map((p) => p.shape[0]!);
  return customOp<T>((inputs) => ({ value: tf.concat(inputs, 0) as T, gradFunc: (dy) => tf.split(dy, sizes, 0) }))(...parts);
}

/** Σ (y − t)² as a scalar; saves only the difference (tf.squaredDifference saves copies of both). */
export function sumSquaredError(y: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return customOp<tf.Scalar>(([yi, ti], save) => {
    const diff = tf.sub(yi!, ti!);
    save([diff]);
    return {
      value: tf.sum(tf.square(diff)),
      gradFunc: (d, saved) => {
        const g = tf.mul(saved[0]!, tf.mul(d, 2));
        return [g, tf.neg(g)];
      },
    };
  })(y, target);
}

/**
 * Σ (y − t)² + l1·Σ |y − t| as a scalar (l1 > 0): one difference saved for both terms. The L1 part's
 * gradient is l1·sign(y − t), so small errors (a faint haze on the black background) are pushed to
 * exactly zero, which the squared term barely does.
 */
export function sumSquaredPlusAbsError(y: tf.Tensor, target: tf.Tensor, l1: number): tf.Scalar {
  return customOp<tf.Scalar>(([yi, ti], save) => {
    const diff = tf.sub(yi!, ti!);
    save([diff]);
    return {
      value: tf.add(tf.sum(tf.square(diff)), tf.mul(tf.sum(tf.abs(diff)), l1)),
      gradFunc: (d, saved) => {
        const g = tf.mul(tf.add(tf.mul(saved[0]!, 2), tf.mul(tf.sign(saved[0]!), l1)), d);
        return [g, tf.neg(g)];
      },
    };
  })(y, target);
}
