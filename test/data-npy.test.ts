/** .npy files (src/data/npy.ts): round trips, header versions, rejected files, partial time-major reads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NpyFile, NpyWriter, readNpy, readTimeMajorBatch, writeNpy, writeTimeMajorBatch, type NpyArray } from '../src/data/npy.js';
import { UserError } from '../src/runtime/errors.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'crevnet-npy-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Hand-made .npy bytes with an arbitrary header (version, dict text) and data. */
function rawNpy(major: number, dict: string, data: Uint8Array): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let header = dict;
  while ((pre + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, header.length, true);
  else v.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(data, pre + header.length);
  return out;
}

test('writeNpy/readNpy round trip uint8 and float32 for ranks 1–5 (v1.0, 64-byte aligned data)', async () => {
  await withDir(async (dir) => {
    const shapes = [[7], [3, 5], [2, 3, 4], [2, 1, 3, 4], [2, 3, 1, 2, 5]];
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const arrays: NpyArray[] = [
        { dtype: 'uint8', shape, data: Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255) },
        { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3 - 0.5) },
      ];
      for (const arr of arrays) {
        const file = path.join(dir, `a-${arr.dtype}-${shape.length}.npy`);
        await writeNpy(file, arr);
        const bytes = await readFile(file);
        assert.equal(bytes[6], 1, 'format version 1.0');
        const hlen = bytes.readUInt16LE(8);
        assert.equal((10 + hlen) % 64, 0, 'data start aligned to 64 bytes');
        const header = bytes.subarray(10, 10 + hlen).toString('latin1');
        assert.ok(header.endsWith('\n'));
        assert.ok(header.includes(shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`), header);
        assert.ok(header.includes(arr.dtype === 'uint8' ? "'|u1'" : "'<f4'"), header);
        const back = await readNpy(file);
        assert.equal(back.dtype, arr.dtype);
        assert.deepEqual(back.shape, shape);
        assert.deepEqual(Array.from(back.data), Array.from(arr.data));
      }
    }
    // atomic write: no temp files left behind
    assert.deepEqual((await readdir(dir)).filter((f) => !f.endsWith('.npy')), []);
    await assert.rejects(writeNpy(path.join(dir, 'bad.npy'), { dtype: 'uint8', shape: [3], data: new Uint8Array(4) }), RangeError);
    await assert.rejects(writeNpy(path.join(dir, 'missing-dir', 'x.npy'), { dtype: 'uint8', shape: [1], data: new Uint8Array(1) }), UserError);
  });
});

test('reads v2.0 and v3.0 headers, other key orders, and a rank-0 array', async () => {
  await withDir(async (dir) => {
    const data = Float32Array.from([1.5, -2, 3.25, 4, 5, 6]);
    const bytes = new Uint8Array(data.buffer);
    for (const major of [2, 3]) {
      const file = path.join(dir, `v${major}.npy`);
      await writeFile(file, rawNpy(major, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", bytes));
      const a = await readNpy(file);
      assert.deepEqual(a.shape, [2, 3]);
      assert.deepEqual(Array.from(a.data), Array.from(data));
      const f = await NpyFile.open(file);
      assert.deepEqual(f.version, [major, 0]);
      assert.deepEqual(Array.from(await f.readElements(2, 3)), [3.25, 4, 5]);
      await f.close();
    }
    const scalar = path.join(dir, 'scalar.npy');
    await writeFile(scalar, rawNpy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }", Uint8Array.of(9)));
    assert.deepEqual(await readNpy(scalar), { dtype: 'uint8', shape: [], data: Uint8Array.of(9) });
  });
});

test('rejects Fortran order, unsupported dtypes, bad magic and truncated data with a UserError naming the file', async () => {
  await withDir(async (dir) => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['fortran.npy', rawNpy(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(4)), /Fortran order/],
      ['f8.npy', rawNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)), /unsupported .npy dtype '<f8'/],
      ['be.npy', rawNpy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)), /unsupported .npy dtype '>f4'/],
      ['i4.npy', rawNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)), /unsupported/],
      ['short.npy', rawNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(12)), /truncated/],
      ['long.npy', rawNpy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(5)), /unexpected bytes/],
      ['text.npy', new TextEncoder().encode('hello, this is not numpy\n'), /not a .npy file/],
      ['v9.npy', Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0, 0, 0), /version 9.0/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = path.join(dir, name);
      await writeFile(file, bytes);
      const check = (e: unknown) => e instanceof UserError && re.test(e.message) && e.message.includes(file);
      await assert.rejects(readNpy(file), check, `readNpy ${name}`);
      await assert.rejects(NpyFile.open(file), check, `NpyFile.open ${name}`);
    }
    await assert.rejects(NpyFile.open(path.join(dir, 'nope.npy')), (e: unknown) => e instanceof UserError && /cannot open/.test(e.message));
  });
});

test('partial reads of a time-major (T, N, H, W) file land in time-major [T, B, H, W]', async () => {
  await withDir(async (dir) => {
    const [T, N, H, W] = [5, 9, 3, 4];
    const hw = H * W;
    const val = (t: number, i: number, k: number) => (t * 50 + i * 5 + k) & 255;
    const data = new Uint8Array(T * N * hw);
    for (let t = 0; t < T; t++) for (let i = 0; i < N; i++) for (let k = 0; k < hw; k++) data[(t * N + i) * hw + k] = val(t, i, k);
    const file = path.join(dir, 'tm.npy');
    await writeNpy(file, { dtype: 'uint8', shape: [T, N, H, W], data });
    const f = await NpyFile.open(file);
    assert.deepEqual(f.shape, [T, N, H, W]);
    const [i0, B] = [3, 4];
    const batch = await readTimeMajorBatch(f, i0, B);
    assert.equal(batch.length, T * B * hw);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let k = 0; k < hw; k++) assert.equal(batch[(t * B + b) * hw + k], val(t, i0 + b, k));
    const part = await readTimeMajorBatch(f, 7, 2, { t0: 2, frames: 3 });
    for (let t = 0; t < 3; t++) for (let b = 0; b < 2; b++) for (let k = 0; k < hw; k++) assert.equal(part[(t * 2 + b) * hw + k], val(t + 2, 7 + b, k));
    await assert.rejects(readTimeMajorBatch(f, 8, 2), RangeError);
    await assert.rejects(f.readElements(T * N * hw - 1, 2), RangeError);
    await f.close();

    // writing the same file batch by batch with NpyWriter gives identical bytes
    const file2 = path.join(dir, 'tm2.npy');
    const w = await NpyWriter.create(file2, 'uint8', [T, N, H, W]);
    for (const [a, n] of [[0, 4], [4, 5]] as const) {
      const chunk = new Uint8Array(T * n * hw);
      for (let t = 0; t < T; t++) chunk.set(data.subarray((t * N + a) * hw, (t * N + a + n) * hw), t * n * hw);
      await writeTimeMajorBatch(w, a, n, chunk);
    }
    await w.commit();
    assert.deepEqual(await readFile(file2), await readFile(file));
  });
});
