/**
 * src/server/app.ts and `crevnet serve`: the routes (app, model list, model files, samples), what is
 * refused (other methods, foreign Host headers, files outside the routes), and the command's one-line
 * errors (bad port, port in use, app not built, unknown model).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSamplesDir, servedModels, startServer, type RunningServer } from '../src/server/app.js';
import { assertUserError, ROOT, runCli, startCli } from './cli-helpers.js';

let app: string;
let running: RunningServer;

before(async () => {
  app = mkdtempSync(join(tmpdir(), 'crevnet-app-'));
  writeFileSync(join(app, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(app, 'app.js'), 'export {};');
  const { models, defaultModel } = servedModels();
  running = await startServer({ port: 0, host: '127.0.0.1', appDir: app, samplesDir: defaultSamplesDir(), models, defaultModel });
});

after(async () => {
  await running.close();
  rmSync(app, { recursive: true, force: true });
});

/** GET with an explicit Host header (fetch does not let a test set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the app, /api/info (bundled models, default, samples), model files and samples are served', async () => {
  const u = running.url;
  assert.match(u, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const index = await fetch(u);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal((await fetch(`${u}app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');

  const info = (await (await fetch(`${u}api/info`)).json()) as { defaultModel: string; models: { name: string; imageSize: number[]; bytes: number }[]; samples: string[] };
  assert.equal(info.defaultModel, 'mmnist-medium');
  assert.deepEqual(info.models.map((m) => m.name), ['mmnist-medium', 'mmnist-small']);
  assert.deepEqual(info.models[0]!.imageSize, [64, 64, 1]);
  assert.ok(info.samples.includes('moving-mnist.mp4'));

  const dir = join(ROOT, 'outputs', 'pretrained', 'mmnist-small');
  const weights = await fetch(`${u}models/mmnist-small/weights.bin`);
  assert.equal(weights.status, 200);
  assert.deepEqual(Buffer.from(await weights.arrayBuffer()), readFileSync(join(dir, 'weights.bin')));
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, { bytes: number }> };
  assert.equal(info.models[1]!.bytes, ['manifest.json', 'config.json', 'model.json', 'weights.bin'].reduce((s, f) => s + (manifest.files[f]?.bytes ?? readFileSync(join(dir, f)).byteLength), 0));

  const video = await fetch(`${u}samples/moving-mnist.mp4`, { headers: { Range: 'bytes=0-7' } });
  assert.equal(video.status, 206);
  assert.equal(video.headers.get('content-type'), 'video/mp4');
  assert.equal(Buffer.from(await video.arrayBuffer()).subarray(4, 8).toString('latin1'), 'ftyp');
});

test('refused: other files of a model, unknown models, other methods, a foreign Host header', async () => {
  const u = running.url;
  for (const p of ['models/mmnist-small/state.json', 'models/mmnist-small/COMMANDS.md', 'models/nonesuch/weights.bin', 'models/mmnist-small/..%2F..%2Fpackage.json', 'samples/../package.json', 'package.json']) {
    assert.equal((await fetch(`${u}${p}`)).status, 404, p);
  }
  const post = await fetch(u, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(await getWithHost(u, 'attacker.example'), 403);
  assert.equal(await getWithHost(u, `localhost:${running.port}`), 200);
});

test('crevnet serve: bad port, port in use, unbuilt app, unknown model: one-line errors, exit 2', async () => {
  for (const port of ['99999', 'abc', '-1', '8080.5']) {
    assertUserError(await runCli(['serve', '--port', port]), /--port must be an integer from 0 to 65535/, `--port ${port}`);
  }
  const blocker = createNetServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  try {
    const port = (blocker.address() as AddressInfo).port;
    assertUserError(await runCli(['serve', '--port', String(port), '--app-dir', app]), new RegExp(`port ${port} on 127.0.0.1 is already in use`), 'in use');
  } finally {
    blocker.close();
  }
  assertUserError(await runCli(['serve', '--port', '0', '--app-dir', join(app, 'missing')]), /the web app is not built .*npm run build/, 'no app');
  assertUserError(await runCli(['serve', '--port', '0', '--model', 'nonesuch']), /model directory not found: nonesuch/, 'model');
});

test('crevnet serve prints its URL, serves, and stops on SIGTERM with exit 0', async () => {
  const run = startCli(['serve', '--port', '0', '--app-dir', app, '--model', 'mmnist-small']);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL after 60 s: ${run.output()}`)), 60_000);
      run.child.stdout!.on('data', () => {
        const m = /crevnet serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output());
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const info = (await (await fetch(`${url}api/info`)).json()) as { defaultModel: string };
    assert.equal(info.defaultModel, 'mmnist-small');
  } finally {
    run.child.kill('SIGTERM');
  }
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});
