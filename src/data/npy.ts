/**
 * NumPy .npy files, file I/O: whole-file read, atomic write (temp file + rename),
 * an incremental writer and `NpyFile`, which does positioned partial reads so the 819 MB published test file is
 * never loaded whole. The header format (uint8 '|u1' / little-endian float32 '<f4', C order, read v1.0–3.0,
 * write v1.0 aligned to 64 bytes) is in npy-header.ts.
 */
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { errorMessage, UserError } from '../runtime/errors.js';
import { announcedHeaderLength, encodeNpyHeader, formatShape, itemSize, parseNpyHeader, shapeSize } from './npy-header.js';
import type { NpyDtype, NpyHeader } from './npy-header.js';

export { encodeNpyHeader, formatShape, itemSize, parseNpyHeader, shapeSize, type NpyDtype, type NpyHeader } from './npy-header.js';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | Float32Array;
}

if (endianness() !== 'LE') {
  // Float32Array views below assume a little-endian host (every platform Node supports today).
  throw new Error('crevnet .npy support needs a little-endian host');
}

function checkArray(arr: NpyArray): void {
  const n = shapeSize(arr.shape);
  const ok = arr.dtype === 'uint8' ? arr.data instanceof Uint8Array : arr.data instanceof Float32Array;
  if (!ok) throw new RangeError(`NpyArray: data is not a ${arr.dtype} array`);
  if (arr.data.length !== n) {
    throw new RangeError(`NpyArray: shape ${formatShape(arr.shape)} needs ${n} elements, data has ${arr.data.length}`);
  }
}

function bytesOf(data: Uint8Array | Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Typed array of `count` elements from bytes (copies when unaligned for float32). */
function typedFrom(dtype: NpyDtype, bytes: Uint8Array, count: number): Uint8Array | Float32Array {
  if (dtype === 'uint8') return new Uint8Array(bytes.buffer, bytes.byteOffset, count); // plain Uint8Array, never a Buffer
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  const copy = new Uint8Array(count * 4);
  copy.set(bytes.subarray(0, count * 4));
  return new Float32Array(copy.buffer, 0, count);
}

async function openForRead(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    throw new UserError(`cannot open ${file}: ${errorMessage(err)}`);
  }
}

function checkDataLength(h: NpyHeader, fileBytes: number, file: string): void {
  const need = h.dataOffset + h.size * itemSize(h.dtype);
  if (fileBytes < need) {
    throw new UserError(
      `${file}: truncated .npy file: shape ${formatShape(h.shape)} ${h.dtype} needs ${need} bytes, the file has ${fileBytes}`,
    );
  }
  if (fileBytes > need) {
    throw new UserError(`${file}: corrupt .npy file: ${fileBytes - need} unexpected bytes after the data of shape ${formatShape(h.shape)}`);
  }
}

/** Read a whole .npy file into memory (small arrays; use NpyFile for big ones). */
export async function readNpy(file: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  const h = parseNpyHeader(bytes, file);
  checkDataLength(h, bytes.length, file);
  return { dtype: h.dtype, shape: h.shape, data: typedFrom(h.dtype, bytes.subarray(h.dataOffset), h.size) };
}

function tempPathFor(file: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return path.join(dir, `.tmp-${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
}

/** Write an array as .npy v1.0, atomically (temp file in the same folder, then rename). */
export async function writeNpy(file: string, arr: NpyArray): Promise<void> {
  checkArray(arr);
  const w = await NpyWriter.create(file, arr.dtype, arr.shape);
  try {
    await w.write(0, arr.data);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/**
 * Incremental .npy writer for arrays too big to hold in memory: the header is written at creation,
 * elements are written at any element offset, and `commit()` renames the temp file into place.
 */
export class NpyWriter {
  readonly path: string;
  readonly dtype: NpyDtype;
  readonly shape: number[];
  readonly size: number;
  private readonly tmp: string;
  private readonly dataOffset: number;
  private fh: FileHandle | null;

  private constructor(file: string, tmp: string, fh: FileHandle, dtype: NpyDtype, shape: number[], dataOffset: number) {
    this.path = file;
    this.tmp = tmp;
    this.fh = fh;
    this.dtype = dtype;
    this.shape = shape;
    this.size = shapeSize(shape);
    this.dataOffset = dataOffset;
  }

  static async create(file: string, dtype: NpyDtype, shape: readonly number[]): Promise<NpyWriter> {
    const header = encodeNpyHeader(dtype, shape);
    const tmp = tempPathFor(file);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx');
    } catch (err) {
      throw new UserError(`cannot write ${file}: ${errorMessage(err)}`);
    }
    const w = new NpyWriter(file, tmp, fh, dtype, [...shape], header.length);
    try {
      await fh.write(header, 0, header.length, 0);
      const total = header.length + w.size * itemSize(dtype);
      await fh.truncate(total); // fixed final length; unwritten parts read as zeros
    } catch (err) {
      await w.abort();
      throw new UserError(`cannot write ${file}: ${errorMessage(err)}`);
    }
    return w;
  }

  /** Write `data` (of this writer's dtype) starting at element `elementOffset`. */
  async write(elementOffset: number, data: Uint8Array | Float32Array): Promise<void> {
    if (!this.fh) throw new Error('NpyWriter is closed');
    const ok = this.dtype === 'uint8' ? data instanceof Uint8Array : data instanceof Float32Array;
    if (!ok) throw new RangeError(`NpyWriter: data is not ${this.dtype}`);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + data.length > this.size) {
      throw new RangeError(`NpyWriter: write [${elementOffset}, ${elementOffset + data.length}) outside [0, ${this.size})`);
    }
    const bytes = bytesOf(data);
    let done = 0;
    const pos0 = this.dataOffset + elementOffset * itemSize(this.dtype);
    while (done < bytes.length) {
      const chunk = Math.min(bytes.length - done, 1 << 30);
      const { bytesWritten } = await this.fh.write(bytes, done, chunk, pos0 + done);
      done += bytesWritten;
    }
  }

  /** Flush, close and atomically move the file into place. */
  async commit(): Promise<void> {
    if (!this.fh) throw new Error('NpyWriter is closed');
    const fh = this.fh;
    this.fh = null;
    try {
      await fh.sync();
      await fh.close();
      await rename(this.tmp, this.path);
    } catch (err) {
      await unlink(this.tmp).catch(() => undefined);
      throw new UserError(`cannot write ${this.path}: ${errorMessage(err)}`);
    }
  }

  /** Close and delete the temp file (nothing appears at `path`). */
  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => undefined);
    await unlink(this.tmp).catch(() => undefined);
  }
}

/** An open .npy file read piecewise with positioned reads. */
export class NpyFile {
  readonly path: string;
  readonly dtype: NpyDtype;
  readonly shape: number[];
  readonly size: number;
  readonly version: [number, number];
  readonly dataOffset: number;
  private fh: FileHandle | null;

  private constructor(file: string, fh: FileHandle, h: NpyHeader) {
    this.path = file;
    this.fh = fh;
    this.dtype = h.dtype;
    this.shape = h.shape;
    this.size = h.size;
    this.version = h.version;
    this.dataOffset = h.dataOffset;
  }

  /** Open and validate (magic, header, dtype, C order, exact file length). */
  static async open(file: string): Promise<NpyFile> {
    const fh = await openForRead(file);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
      let buf = new Uint8Array(Math.min(st.size, 4096));
      await readFully(fh, buf, 0);
      let h: NpyHeader;
      try {
        h = parseNpyHeader(buf, file);
      } catch (err) {
        // Header longer than the first 4 KiB: read exactly the announced length and retry.
        const need = announcedHeaderLength(buf);
        if (need === undefined || st.size <= buf.length || need <= buf.length || need > st.size) throw err;
        buf = new Uint8Array(need);
        await readFully(fh, buf, 0);
        h = parseNpyHeader(buf, file);
      }
      checkDataLength(h, st.size, file);
      return new NpyFile(file, fh, h);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  get itemSize(): number {
    return itemSize(this.dtype);
  }

  /** Elements [offset, offset+count) in C order, as a fresh typed array. */
  async readElements(offset: number, count: number): Promise<Uint8Array | Float32Array> {
    if (!this.fh) throw new Error(`${this.path}: NpyFile is closed`);
    if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 0 || offset + count > this.size) {
      throw new RangeError(`${this.path}: read [${offset}, ${offset + count}) outside [0, ${this.size})`);
    }
    const isz = this.itemSize;
    const buf = new Uint8Array(count * isz);
    await readFully(this.fh, buf, this.dataOffset + offset * isz);
    return typedFrom(this.dtype, buf, count);
  }

  /** Same as readElements but into `target` (length = count), avoiding an allocation. */
  async readElementsInto(offset: number, target: Uint8Array | Float32Array): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: NpyFile is closed`);
    const ok = this.dtype === 'uint8' ? target instanceof Uint8Array : target instanceof Float32Array;
    if (!ok) throw new RangeError(`${this.path}: target is not a ${this.dtype} array`);
    if (!Number.isInteger(offset) || offset < 0 || offset + target.length > this.size) {
      throw new RangeError(`${this.path}: read [${offset}, ${offset + target.length}) outside [0, ${this.size})`);
    }
    await readFully(this.fh, bytesOf(target), this.dataOffset + offset * this.itemSize);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close();
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const chunk = Math.min(buf.length - done, 1 << 30);
    const { bytesRead } = await fh.read(buf, done, chunk, position + done);
    if (bytesRead === 0) throw new UserError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/**
 * Read sequences [i0, i0+count) of a time-major file (T, N, ...frame) into a time-major
 * [T, count, ...frame] array: one positioned read per time step, straight into place.
 * Optional `t0`/`frames` read only time steps [t0, t0+frames).
 */
export async function readTimeMajorBatch(
  file: NpyFile,
  i0: number,
  count: number,
  opts: { t0?: number; frames?: number } = {},
): Promise<Uint8Array | Float32Array> {
  if (file.shape.length < 2) throw new UserError(`${file.path}: expected a time-major array (T, N, ...), got shape ${formatShape(file.shape)}`);
  const [T, N] = file.shape as [number, number];
  const t0 = opts.t0 ?? 0;
  const frames = opts.frames ?? T - t0;
  if (!Number.isInteger(i0) || !Number.isInteger(count) || i0 < 0 || count < 0 || i0 + count > N) {
    throw new RangeError(`${file.path}: sequences [${i0}, ${i0 + count}) outside [0, ${N})`);
  }
  if (!Number.isInteger(t0) || !Number.isInteger(frames) || t0 < 0 || frames < 0 || t0 + frames > T) {
    throw new RangeError(`${file.path}: time steps [${t0}, ${t0 + frames}) outside [0, ${T})`);
  }
  const per = shapeSize(file.shape.slice(2));
  const out = file.dtype === 'uint8' ? new Uint8Array(frames * count * per) : new Float32Array(frames * count * per);
  for (let t = 0; t < frames; t++) {
    await file.readElementsInto(((t0 + t) * N + i0) * per, out.subarray(t * count * per, (t + 1) * count * per));
  }
  return out;
}

/**
 * Write a time-major batch [T, count, ...frame] as sequences [i0, i0+count) of a time-major
 * file being written (T, N, ...frame): one positioned write per time step.
 */
export async function writeTimeMajorBatch(w: NpyWriter, i0: number, count: number, data: Uint8Array | Float32Array): Promise<void> {
  const [T, N] = w.shape as [number, number];
  const per = shapeSize(w.shape.slice(2));
  if (data.length !== T * count * per) throw new RangeError(`writeTimeMajorBatch: expected ${T * count * per} elements, got ${data.length}`);
  if (i0 < 0 || i0 + count > N) throw new RangeError(`writeTimeMajorBatch: sequences [${i0}, ${i0 + count}) outside [0, ${N})`);
  for (let t = 0; t < T; t++) {
    await w.write((t * N + i0) * per, data.subarray(t * count * per, (t + 1) * count * per));
  }
}
