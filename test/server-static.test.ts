/** src/server/static.ts: MIME types, byte ranges, ETag, HEAD, and paths that must not leave the served root. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mimeType, parseRange, resolveUnder, sendFile, sendText } from '../src/server/static.js';

test('mimeType: the types browsers insist on (wasm, module scripts, video)', () => {
  assert.equal(mimeType('a/app.js'), 'text/javascript; charset=utf-8');
  assert.equal(mimeType('x.WASM'), 'application/wasm');
  assert.equal(mimeType('index.html'), 'text/html; charset=utf-8');
  assert.equal(mimeType('v.mp4'), 'video/mp4');
  assert.equal(mimeType('weights.bin'), 'application/octet-stream');
  assert.equal(mimeType('noext'), 'application/octet-stream');
});

test('parseRange: single ranges, open ends, suffixes; unsatisfiable; anything else means the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=500-', 1000), { start: 500, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=900-5000', 1000), { start: 900, end: 999 });
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-4', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
  assert.equal(parseRange(undefined, 1000), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined);
  assert.equal(parseRange('items=0-1', 1000), undefined);
});

let dir: string;
let server: Server;
let base: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crevnet-static-'));
  mkdirSync(join(dir, 'root', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'root', 'data.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  writeFileSync(join(dir, 'root', 'sub', 'a.txt'), 'hello');
  writeFileSync(join(dir, 'root', '.hidden'), 'secret');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'root', 'link.txt'));
  server = createServer((req, res) => {
    void resolveUnder(join(dir, 'root'), new URL(req.url!, 'http://x').pathname).then((p) => (p ? sendFile(req, res, p) : sendText(res, 404, 'not found\n')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sendFile: 200 with length and type; 206 with Content-Range; 416; HEAD has no body; ETag gives 304', async () => {
  const full = await fetch(`${base}/data.bin`);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-length'), '256');
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  assert.equal((await full.arrayBuffer()).byteLength, 256);

  const part = await fetch(`${base}/data.bin`, { headers: { Range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), 'bytes 10-19/256');
  assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

  const tail = await fetch(`${base}/data.bin`, { headers: { Range: 'bytes=-3' } });
  assert.deepEqual([...new Uint8Array(await tail.arrayBuffer())], [253, 254, 255]);

  const bad = await fetch(`${base}/data.bin`, { headers: { Range: 'bytes=300-' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), 'bytes */256');

  const head = await fetch(`${base}/sub/a.txt`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '5');
  assert.equal(head.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal((await head.text()).length, 0);

  const etag = full.headers.get('etag')!;
  const again = await fetch(`${base}/data.bin`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  // a range that no longer matches the file (If-Range with another validator) gets the whole file
  const stale = await fetch(`${base}/data.bin`, { headers: { Range: 'bytes=0-1', 'If-Range': 'W/"other"' } });
  assert.equal(stale.status, 200);
});

test('resolveUnder: .., encoded dots and slashes, dot files, links out of the root and directories are not served', async () => {
  const root = join(dir, 'root');
  assert.equal(await resolveUnder(root, '/sub/a.txt'), join(root, 'sub', 'a.txt'));
  for (const p of ['/../outside.txt', '/sub/../../outside.txt', '/%2e%2e/outside.txt', '/sub%2f..%2f..%2foutside.txt', '/.hidden', '/link.txt', '/a%00.txt', '/%E0%A4%A']) {
    assert.equal(await resolveUnder(root, p), undefined, p);
  }
  for (const p of ['/sub', '/', '/missing.txt']) {
    const res = await fetch(`${base}${p}`);
    assert.equal(res.status, 404, p);
  }
});
