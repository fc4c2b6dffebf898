/**
 * The one conversion between 8-bit pixels and the floats the model works with: byte b ↔ b / 255 in
 * [0, 1]. Every reader (datasets, .npy files, decoded video) and every writer (predicted video
 * frames, report images) goes through these two functions.
 */

/**
 * Bytes → floats in [0, 1] (b / 255), written into `out` at `offset` when given (a new array of
 * src.length values otherwise).
 */
export function uint8ToFloat(src: Uint8Array, out?: Float32Array, offset = 0): Float32Array {
  const dst = out ?? new Float32Array(src.length);
  if (offset < 0 || offset + src.length > dst.length) throw new RangeError(`uint8ToFloat: ${src.length} values do not fit at ${offset} of ${dst.length}`);
  for (let i = 0; i < src.length; i++) dst[offset + i] = src[i]! / 255;
  return dst;
}

/**
 * Floats → bytes round(v · 255) after clamping v to [0, 1]: below 0 (and −∞) gives 0, above 1 (and
 * +∞) gives 255, NaN gives 0 (a model that produced NaN shows black, never a bright artefact).
 * Reads `length` values of `src` from `offset`.
 */
export function floatToUint8(src: ArrayLike<number>, offset = 0, length = src.length - offset): Uint8Array {
  if (offset < 0 || length < 0 || offset + length > src.length) throw new RangeError(`floatToUint8: [${offset}, ${offset + length}) outside ${src.length} values`);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const v = src[offset + i]!;
    // NaN fails v > 0
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}
