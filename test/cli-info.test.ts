/** `crevnet info`: the runtime report a user pastes into a bug report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './cli-helpers.js';
import { DEFAULT_MODEL_NAME, bundledModelNames } from '../src/model/pretrained.js';

test('info --json names the backend, the ffmpeg binaries and the bundled models', async () => {
  const r = await runCli(['--backend', 'wasm', 'info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { backend: string; node: string; ffmpeg: { path: string | null }; models: { bundled: string[]; default: string; details: { name: string; config: string | null; trainedOn: string | null }[] } };
  assert.equal(j.backend, 'wasm');
  assert.equal(j.node, process.version);
  assert.ok('path' in j.ffmpeg);
  assert.deepEqual({ ...j.models, details: undefined }, { bundled: bundledModelNames(), default: DEFAULT_MODEL_NAME, details: undefined });
  // each bundled model with what it was trained on (the bundled ones predate the dataset record: Moving MNIST)
  assert.deepEqual(j.models.details.map((m) => m.name), bundledModelNames());
  for (const m of j.models.details) assert.equal(m.trainedOn, 'Moving MNIST (64×64 gray)', m.name);
  const text = await runCli(['--backend', 'wasm', 'info']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^backend +wasm/m);
  assert.match(text.stdout, new RegExp(`^models +.*${DEFAULT_MODEL_NAME} \\(default\\): config \\w+, trained on Moving MNIST \\(64×64 gray\\)`, 'm'));
});
