/**
 * The .npy header (NumPy's format, versions 1.0 to 3.0): parsing versions 1.0, 2.0 and 3.0 (uint8 '|u1' and little-endian
 * float32 '<f4', C order, any rank) and encoding v1.0 with the data start aligned to 64 bytes.
 * Pure byte handling; the file I/O is in npy.ts.
 */
import { UserError } from '../runtime/errors.js';

export type NpyDtype = 'uint8' | 'float32';

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  /** format version [major, minor] */
  version: [number, number];
  /** byte offset of the first element */
  dataOffset: number;
  /** number of elements (product of shape; 1 for rank 0) */
  size: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

export function itemSize(dtype: NpyDtype): number {
  return dtype === 'uint8' ? 1 : 4;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function descrOf(dtype: NpyDtype): string {
  return dtype === 'uint8' ? '|u1' : '<f4';
}

function dtypeOfDescr(descr: string, file: string): NpyDtype {
  if (descr === '|u1' || descr === '<u1' || descr === '>u1' || descr === '=u1' || descr === 'u1') return 'uint8';
  if (descr === '<f4') return 'float32';
  throw new UserError(`${file}: unsupported .npy dtype '${descr}' (supported: '|u1' uint8, '<f4' float32)`);
}

/** Number of header bytes needed to know the header length (magic + version + HLEN). */
function preludeLength(major: number): number {
  return major === 1 ? 10 : 12;
}

/**
 * Parse the header at the start of `bytes` (which must hold at least the whole header).
 * Throws UserError naming `file` on anything that is not a supported .npy header.
 */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new UserError(`${file}: not a .npy file (bad magic)`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw new UserError(`${file}: unsupported .npy format version ${major}.${minor}`);
  const pre = preludeLength(major);
  if (bytes.length < pre) throw new UserError(`${file}: truncated .npy header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = pre + hlen;
  if (bytes.length < dataOffset) throw new UserError(`${file}: truncated .npy header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(pre, dataOffset));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!text.trimStart().startsWith('{') || !descr || !fortran || !shapeM) {
    throw new UserError(`${file}: malformed .npy header: ${JSON.stringify(text.trim().slice(0, 200))}`);
  }
  if (fortran[1] === 'True') {
    throw new UserError(`${file}: .npy arrays in Fortran order are not supported (save with C order)`);
  }
  const dtype = dtypeOfDescr(descr[1]!, file);
  const parts = shapeM[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const shape = parts.map((p) => {
    const s = p.replace(/L$/, ''); // Python 2 long suffix
    if (!/^\d+$/.test(s)) throw new UserError(`${file}: malformed .npy shape (${shapeM[1]})`);
    return Number(s);
  });
  return { dtype, shape, version: [major, minor], dataOffset, size: shapeSize(shape) };
}

/** The v1.0 header bytes for an array (data start padded to a multiple of 64). */
export function encodeNpyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid .npy shape ${JSON.stringify(shape)}`);
  }
  const dict = `{'descr': '${descrOf(dtype)}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  const unpadded = 10 + dict.length + 1; // + trailing '\n'
  const total = Math.ceil(unpadded / ALIGN) * ALIGN;
  const hlen = total - 10;
  if (hlen > 0xffff) throw new RangeError('.npy header too long for format 1.0');
  const header = dict + ' '.repeat(total - unpadded) + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, hlen, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/**
 * The header length (prelude + HLEN) that `bytes`, the start of a .npy file, announces; undefined when `bytes`
 * is shorter than 12 bytes or does not start with the .npy magic. Lets a reader fetch a long header whole.
 */
export function announcedHeaderLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 12 || MAGIC.some((m, i) => bytes[i] !== m)) return undefined;
  const major = bytes[6]!;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return preludeLength(major) + (major === 1 ? v.getUint16(8, true) : v.getUint32(8, true));
}
