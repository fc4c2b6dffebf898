/**
 * The commands on --backend webgpu (tiny model; lavapipe runs ~1 ms per kernel): info names the adapter
 * and auto skips a software one; model's round trip; train with an exact resume; eval, predict and
 * bench (its adapter, and webgpu among --all-backends). Every run ends with exit code 0 and no signal.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shutdownBackend } from '../src/runtime/backend.js';
import { isSoftwareAdapter, webGpuAdapter } from '../src/runtime/webgpu.js';
import { ROOT, runCli, type CliResult } from './cli-helpers.js';
import { readJsonl, tempDir, tinyConfig } from './train-helpers.js';
import { webgpuSkipReason } from './webgpu-helpers.js';

const skip = await webgpuSkipReason();
const software = webGpuAdapter()?.software ?? true;
// this process only probed the adapter; the commands run in their own processes
await shutdownBackend();
const gpuTest = (name: string, fn: () => Promise<void>) => test(name, skip ? { skip } : {}, fn);

const crevnet = (args: string[]): Promise<CliResult> => runCli(args, { timeout: 300_000 });
function assertClean(r: CliResult, what: string): void {
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
}

const work = await tempDir('crevnet-webgpu-');
after(() => work.cleanup());

gpuTest('info names the adapter on --backend webgpu; auto never picks a software adapter', async () => {
  const r = await crevnet(['--backend', 'webgpu', 'info', '--json']);
  assertClean(r, 'info --backend webgpu');
  const j = JSON.parse(r.stdout) as { backend: string; adapter: { description: string; vendor: string; architecture: string; software: boolean; maxBufferSize: number; maxStorageBufferBindingSize: number } };
  assert.equal(j.backend, 'webgpu');
  assert.equal(j.adapter.software, isSoftwareAdapter(j.adapter));
  assert.ok(j.adapter.maxBufferSize > 0 && j.adapter.maxStorageBufferBindingSize > 0);
  const auto = await crevnet(['info', '--json']);
  assertClean(auto, 'info (auto)');
  const a = JSON.parse(auto.stdout) as { backend: string; adapter: unknown; skipped: { backend: string; reason: string }[] };
  if (software) {
    assert.notEqual(a.backend, 'webgpu');
    assert.equal(a.adapter, null);
    const why = a.skipped.find((s) => s.backend === 'webgpu');
    assert.ok(why, 'auto says why it skipped webgpu');
    assert.match(why.reason, /software adapter|no GPU device|no hardware GPU adapter/);
  } else {
    assert.ok(['tensorflow', 'webgpu'].includes(a.backend), `auto on a hardware adapter: ${a.backend}`);
  }
});

gpuTest('model --config small --backend webgpu: round trip ≤ 1e-5', async () => {
  const r = await crevnet(['--backend', 'webgpu', 'model', '--config', 'small', '--json']);
  assertClean(r, 'model');
  const j = JSON.parse(r.stdout) as { backend: string; roundTripMaxError: number };
  assert.equal(j.backend, 'webgpu');
  assert.ok(j.roundTripMaxError <= 1e-5, `round trip ${j.roundTripMaxError}`);
});

const losses = async (run: string) =>
  readJsonl(await readFile(join(run, 'metrics.jsonl'), 'utf8'))
    .filter((x) => x.type === 'train')
    .map((x) => ({ step: x.step as number, loss: x.loss as number }));

gpuTest('train tiny on webgpu: 4 iterations, --resume to 6 = a straight run to 6; eval and predict with it', async () => {
  // the tiny model; shorter sequences and a small batch keep lavapipe's time down
  const cfg = await tinyConfig(join(work.dir, 'tiny.json'), { batch: 1, frames: 5, validationSequences: 1, validateEvery: 1000, checkpointEvery: 1000 });
  const run = join(work.dir, 'run');
  const straight = join(work.dir, 'straight');
  assertClean(await crevnet(['--backend', 'webgpu', 'train', '--config', cfg, '--iterations', '4', '--out', run]), 'train to 4');
  const resumed = await crevnet(['--backend', 'webgpu', 'train', '--resume', '--iterations', '6', '--out', run]);
  assertClean(resumed, 'resume to 6');
  assert.match(resumed.stdout, /done: iteration 6\/6/);
  assertClean(await crevnet(['--backend', 'webgpu', 'train', '--config', cfg, '--iterations', '6', '--out', straight]), 'straight to 6');
  const a = await losses(run);
  const b = await losses(straight);
  assert.deepEqual(a.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(b.map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  a.forEach((x, i) => assert.ok(Math.abs(x.loss - b[i]!.loss) <= 1e-4 * Math.abs(b[i]!.loss), `iteration ${x.step}: ${x.loss} vs ${b[i]!.loss}`));

  // eval with the trained model (the rollout itself is compared with cpu/wasm in runtime-webgpu.test.ts)
  const ev = await crevnet(['--backend', 'webgpu', 'eval', '--model', run, '--count', '2', '--batch', '2', '--json']);
  assertClean(ev, 'eval');
  const e = JSON.parse(ev.stdout) as { count: number; mse: number; ssim: number };
  assert.equal(e.count, 2);
  assert.ok(Number.isFinite(e.mse) && e.mse > 0 && e.ssim > 0 && e.ssim < 1, `eval ${e.mse} / ${e.ssim}`);

  // predict a video with it
  const out = join(work.dir, 'pred.gif');
  const p = await crevnet(['--backend', 'webgpu', 'predict', '--model', run, '--frames', join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4'), '--context', '3', '--horizon', '2', '--out', out, '--json']);
  assertClean(p, 'predict');
  assert.equal((JSON.parse(p.stdout) as { horizon: number }[])[0]!.horizon, 2);
  assert.ok(existsSync(out));
});

gpuTest('bench --all-backends includes webgpu: its JSON names the backend and the adapter', async () => {
  const r = await crevnet([
    '--backend', 'cpu', 'bench', '--config', 'tiny', '--json', '--all-backends',
    '--repeats', '1', '--warmup', '0', '--batch', '1', '--frames', '4', '--infer-batch', '1', '--memory-blocks', 'none',
  ]);
  assertClean(r, 'bench');
  const j = JSON.parse(r.stdout) as { backend: string; adapter: unknown; otherBackends: { backend: string; available: boolean; reason?: string; result?: Record<string, unknown> }[] };
  assert.equal(j.backend, 'cpu');
  assert.equal(j.adapter, null);
  const gpu = j.otherBackends.find((o) => o.backend === 'webgpu');
  assert.ok(gpu?.result, `webgpu child: ${gpu?.reason}`);
  assert.equal(gpu.result.backend, 'webgpu');
  const adapter = gpu.result.adapter as { description: string; software: boolean };
  assert.equal(typeof adapter.description, 'string');
  assert.equal(adapter.software, software);
  assert.ok((gpu.result.roundTripMaxError as number) < 1e-4);
  assert.ok((gpu.result.trainStepSeconds as number) > 0);
});
