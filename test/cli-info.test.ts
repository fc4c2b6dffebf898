/** `crevnet info`: the runtime report a user pastes into a bug report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './cli-helpers.js';
import { DEFAULT_MODEL_NAME, bundledModelNames } from '../src/model/pretrained.js';

test('info --json names the backend, the ffmpeg binaries and the bundled models', async () => {
  const r = await runCli(['--backend', 'wasm', 'info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { backend: string; node: string; ffmpeg: { path: string | null }; models: { bundled: string[]; default: string } };
  assert.equal(j.backend, 'wasm');
  assert.equal(j.node, process.version);
  assert.ok('path' in j.ffmpeg);
  assert.deepEqual(j.models, { bundled: bundledModelNames(), default: DEFAULT_MODEL_NAME });
  const text = await runCli(['--backend', 'wasm', 'info']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^backend +wasm/m);
  assert.match(text.stdout, new RegExp(`^models +.*${DEFAULT_MODEL_NAME} \\(default\\)`, 'm'));
});
