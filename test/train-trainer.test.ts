/**
 * crevnet train on the tiny config (wasm backend, fast): the loss goes down, a non-finite loss
 * stops training with the iteration named and last/ untouched, resume refuses mismatched settings,
 * a SIGKILLed process resumes from its last checkpoint (and ends bit-identical to an uninterrupted
 * run), no visible checkpoint directory is ever incomplete, Ctrl-C saves and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { NonFiniteLossError, train, type TrainOverrides } from '../src/train/trainer.js';
import { loadCheckpoint } from '../src/model/checkpoint.js';
import { UserError } from '../src/runtime/errors.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { CrevNet } from '../src/model/crevnet.js';
import { loadConfig } from '../src/model/config-file.js';
import { recoverCheckpoint } from '../src/train/rundir.js';
import { silentProgress } from '../src/train/progress.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { hashDir, readJsonl, runCli, sleep, startCli, tempDir, tinyConfig } from './train-helpers.js';

const FAST = { validationSequences: 2, validateEvery: 1000 };

async function stepOf(ckDir: string): Promise<number> {
  try {
    return (JSON.parse(await readFile(join(ckDir, 'state.json'), 'utf8')) as { step: number }).step;
  } catch {
    return -1;
  }
}

/** Every visible directory of a run dir must be a complete, verified checkpoint. */
async function assertCompleteCheckpoints(runDir: string): Promise<string[]> {
  const seen: string[] = [];
  for (const e of await readdir(runDir)) {
    if (e.startsWith('.')) continue; // temp dirs of saves in progress are hidden by design
    if (!(await stat(join(runDir, e))).isDirectory()) continue;
    const ck = await loadCheckpoint(join(runDir, e)); // throws on a missing file or a hash mismatch
    ck.model.dispose();
    for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
    seen.push(e);
  }
  return seen;
}

test('a short training run lowers the loss and writes the run report', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-train-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 40, checkpointEvery: 20, validateEvery: 20, validationSequences: 4 });
    const steps: number[] = [];
    const r = await train({ config: cfg, out: join(dir, 'run') }, { onStep: (s) => steps.push(s.loss) });
    assert.equal(r.status, 'completed');
    assert.equal(steps.length, 40);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(steps.slice(0, 5));
    const last = mean(steps.slice(-5));
    assert.ok(last < 0.7 * first, `loss should drop: first 5 mean ${first}, last 5 mean ${last}`);
    for (const f of ['metrics.jsonl', 'loss_curve.png', 'loss_curve.svg', 'summary.json', 'last/manifest.json', 'best/manifest.json']) {
      assert.ok(existsSync(join(dir, 'run', f)), f);
    }
    const summary = JSON.parse(await readFile(join(dir, 'run', 'summary.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(summary.iterations, 40);
    assert.equal((summary.best as { metric: string }).metric, 'ssim');
    assert.equal((summary.files as { curve: string }).curve, 'loss_curve.png', 'file names relative to the run directory');
    const recs = readJsonl(await readFile(join(dir, 'run', 'metrics.jsonl'), 'utf8'));
    assert.equal(recs.filter((x) => x.type === 'train').length, 40);
    assert.deepEqual(recs.filter((x) => x.type === 'val').map((x) => x.step), [20, 40]);
    type Val = { perFrame: { mse: number[]; ssim: number[] }; framesBeatingBaselines: { frames: number }; verdicts: { mse: string[]; ssim: string[] } };
    for (const v of recs.filter((x) => x.type === 'val') as Val[]) {
      assert.equal(v.perFrame.mse.length, 4, 'per-frame MSE of the 4→4 validation rollout');
      assert.equal(v.perFrame.ssim.length, 4);
      assert.equal(v.framesBeatingBaselines.frames, 4);
      for (const k of ['mse', 'ssim'] as const) {
        assert.equal(v.verdicts[k].length, 4);
        assert.ok(v.verdicts[k].every((x) => ['better', 'tied', 'worse'].includes(x)), v.verdicts[k].join());
      }
    }
    const best = await loadCheckpoint(join(dir, 'run', 'best'));
    assert.equal(best.optimizerWeights, undefined, 'best/ is an inference checkpoint');
    best.model.dispose();
  } finally {
    await cleanup();
  }
});

test('a non-finite loss stops training, names the iteration and leaves last/ untouched', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-nan-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 10, checkpointEvery: 2, ...FAST });
    const run = join(dir, 'run');
    const saved = new Map<number, Record<string, string>>();
    const before = tf.memory().numTensors;
    await assert.rejects(
      train(
        { config: cfg, out: run },
        {
          lossHook: (it, loss) => (it === 5 ? tf.mul(loss, NaN) : loss),
          onCheckpoint: async (kind, d, step) => {
            if (kind === 'last') saved.set(step, await hashDir(d));
          },
        },
      ),
      (e: unknown) => e instanceof NonFiniteLossError && e.iteration === 5 && /non-finite loss \(NaN\) at iteration 5/.test(e.message) && /iteration 4\) is untouched/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, 'no tensors leak on the error path');
    assert.equal(await stepOf(join(run, 'last')), 4);
    assert.deepEqual(await hashDir(join(run, 'last')), saved.get(4), 'last/ is byte-identical to the checkpoint of iteration 4');
    const recs = readJsonl(await readFile(join(run, 'metrics.jsonl'), 'utf8'));
    assert.deepEqual(recs.at(-1), { type: 'error', step: 5, loss: 'NaN', gradNorm: 'NaN', lr: 0.001 });
    // the run can be resumed from its last good checkpoint
    const r = await train({ out: run, resume: true, overrides: { iterations: 6 }, skipReport: true });
    assert.equal(r.step, 6);
  } finally {
    await cleanup();
  }
});

test('resume refuses a different model config or seed, accepts a new validation set (new best/ series); fresh runs refuse an existing run dir', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-resume-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 2, checkpointEvery: 2, ...FAST });
    const run = join(dir, 'run');
    await train({ config: cfg, out: run, skipReport: true });
    const user = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
    await assert.rejects(train({ config: 'small', out: run, resume: true }), user(/different model than the checkpoint/));
    await assert.rejects(train({ out: run, resume: true, overrides: { seed: 7 } }), user(/--seed 7 differs/));
    await assert.rejects(train({ config: cfg, out: run }), user(/already holds a training run/));
    await assert.rejects(train({ out: join(dir, 'none'), resume: true }), user(/nothing to resume/));
    await assert.rejects(train({ resume: true }), user(/--resume needs --out/));
    // a new validation set size is accepted on resume and starts a new best/ series
    const v = await train({ config: cfg, out: join(dir, 'val'), overrides: { iterations: 4, validateEvery: 2, checkpointEvery: 1, validationSequences: 2 }, stopAt: 2, skipReport: true });
    assert.equal(v.best?.step, 2);
    const w = await train({ out: join(dir, 'val'), resume: true, overrides: { validationSequences: 3 }, stopAt: 3, skipReport: true });
    assert.equal(w.best, null, 'scores on 2 sequences are not compared with scores on 3');
    const saved = JSON.parse(await readFile(join(dir, 'val', 'last', 'state.json'), 'utf8')) as { best: unknown; settings: { validationSequences: number } };
    assert.deepEqual([saved.best, saved.settings.validationSequences], [null, 3]);
    // the CLI turns it into one `error:` line and exit code 2
    const r = await runCli(['--backend', 'wasm', 'train', '--config', 'small', '--out', run, '--resume']);
    assert.equal(r.code, 2);
    const errLines = r.stderr.trim().split('\n');
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0]!, /^error: --config small describes a different model/);
  } finally {
    await cleanup();
  }
});

/** Re-save the checkpoint `dir` with `edit` applied to its training settings (as a run of an earlier version wrote them). */
async function rewriteSettings(dir: string, edit: (s: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  const ck = await loadCheckpoint(dir);
  try {
    const state = ck.state as { settings: Record<string, unknown> };
    const settings = edit(state.settings);
    await saveCheckpoint(dir, { model: ck.model, optimizerWeights: ck.optimizerWeights, state: { ...state, settings }, train: settings });
  } finally {
    ck.model.dispose();
    for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
  }
}

test('runs of earlier versions: removed options at their off value resume silently; other values refuse --resume in one line but the weights still load, evaluate and start a new run (--init-from)', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-old-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 2, checkpointEvery: 1, mode: 'rollout', context: 4, workers: 1, ...FAST });
    const run = join(dir, 'run');
    await train({ config: cfg, out: run, stopAt: 1, skipReport: true });
    // the off values an earlier version saved with every run
    await rewriteSettings(join(run, 'last'), (s) => ({ ...s, horizonRamp: 0, ssimRamp: 0, clipLoss: true }));
    const notes: string[] = [];
    const progress = { ...silentProgress, message: (m: string) => notes.push(m) };
    const resumed = await train({ out: run, resume: true, stopAt: 2, skipReport: true, progress });
    assert.equal(resumed.step, 2);
    assert.equal(resumed.settings.clipLoss, true);
    assert.ok(!('horizonRamp' in resumed.settings) && !('ssimRamp' in resumed.settings));
    assert.deepEqual(notes.filter((n) => /ramp|clipLoss/i.test(n)), [], 'no note about the removed options');

    // a run that trained with a ramp (or the SSIM-only clipping) cannot be continued exactly
    for (const [edit, named] of [
      [{ horizonRamp: 2 }, 'train\\.horizonRamp = 2 \\(--horizon-ramp\\)'],
      [{ horizonRamp: 0, ssim: 1, clipLoss: 'ssim' }, 'train\\.clipLoss = "ssim" \\(--clip-loss ssim\\)'],
    ] as [Record<string, unknown>, string][]) {
      await rewriteSettings(join(run, 'last'), (s) => ({ ...s, ...edit }));
      const r = await runCli(['--backend', 'wasm', 'train', '--resume', '--out', run, '--iterations', '3']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(
        r.stderr.trim(),
        new RegExp(`^error: \\S+/last: this run trained with ${named}, an option that has been removed, so it cannot be resumed; its weights still load for predict and eval, and crevnet train --config FILE --init-from \\S+/last --out NEW_DIR starts a new run from them$`),
      );
    }
    assert.equal(await stepOf(join(run, 'last')), 2, 'the refused resume left last/ as it was');
    // the architecture is intact: the checkpoint loads and evaluates
    const ev = await runCli(['--backend', 'wasm', 'eval', '--model', join(run, 'last'), '--count', '2', '--workers', '1', '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.ok(Number.isFinite((JSON.parse(ev.stdout) as { mse: number }).mse));
    // and a new run starts from its weights: at a vanishing rate and frozen statistics they stay where they were
    const fresh = join(dir, 'fresh');
    await train({ config: cfg, out: fresh, initFrom: join(run, 'last'), overrides: { iterations: 1, lr: 1e-30, freezeNorm: true }, skipReport: true });
    const weights = async (d: string) => {
      const ck = await loadCheckpoint(d);
      try {
        return ck.model.namedWeights().flatMap((w) => Array.from(w.variable.dataSync()));
      } finally {
        ck.model.dispose();
        for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
      }
    };
    const [from, started] = [await weights(join(run, 'last')), await weights(join(fresh, 'last'))];
    assert.ok(from.every((v, i) => Math.abs(v - started[i]!) < 1e-20), 'the new run did not start from the checkpoint');
    const model = CrevNet.create(await loadConfig(cfg), 0);
    const init = model.namedWeights().flatMap((w) => Array.from(w.variable.dataSync()));
    model.dispose();
    assert.ok(init.some((v, i) => Math.abs(v - from[i]!) > 1e-4), 'the checkpoint equals a fresh init: the check above proves nothing');
    const user = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
    await assert.rejects(train({ config: 'small', out: join(dir, 'other'), initFrom: join(run, 'last') }), user(/^--init-from \S+: the checkpoint's model \(config "tiny"\) differs from the one --config small describes$/));
    await assert.rejects(train({ out: run, resume: true, initFrom: join(run, 'last') }), user(/--init-from starts a new run; it cannot be combined with --resume/));
  } finally {
    await cleanup();
  }
});

test('a SIGKILLed training process resumes from its last checkpoint; no checkpoint dir is ever half-written', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-kill-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 24, checkpointEvery: 1, ...FAST });
    const run = join(dir, 'run');
    // checkpoint every iteration, so the kill is likely to land inside a save
    const p = startCli(['--backend', 'wasm', 'train', '--config', cfg, '--out', run]);
    const deadline = Date.now() + 60_000;
    let observed = 0;
    while (Date.now() < deadline) {
      await sleep(100);
      if (existsSync(join(run, 'last'))) {
        // whenever last/ is visible, it is complete (checked while the trainer is writing)
        try {
          observed = Math.max(observed, await stepOf(join(run, 'last')));
        } catch {
          // renamed away between exists and read: fine
        }
      }
      if (observed >= 6) break;
    }
    assert.ok(observed >= 6, `no checkpoint appeared: ${p.output()}`);
    p.child.kill('SIGKILL');
    const killed = await p.done;
    assert.equal(killed.signal, 'SIGKILL');
    const visible = await assertCompleteCheckpoints(run);
    assert.ok(visible.every((d) => d === 'last'), `unexpected dirs ${visible.join(',')}`);
    const killedAt = await stepOf(join(run, 'last'));

    const resumed = await runCli(['--backend', 'wasm', 'train', '--resume', '--out', run]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /done: iteration 24\/24/);
    assert.deepEqual(await assertCompleteCheckpoints(run), ['best', 'last']);
    assert.deepEqual((await readdir(run)).filter((e) => e.startsWith('.')), [], 'leftovers of interrupted saves are cleaned up');
    const recs = readJsonl(await readFile(join(run, 'metrics.jsonl'), 'utf8')).filter((x) => x.type === 'train');
    assert.deepEqual(recs.map((x) => x.step), Array.from({ length: 24 }, (_, i) => i + 1), 'each iteration logged exactly once');
    const commands = await readFile(join(run, 'command.txt'), 'utf8');
    assert.match(commands, new RegExp(`resume at iteration ${killedAt}`));
    assert.match(commands, /crevnet --backend wasm train --resume --out /);

    // the interrupted + resumed run equals an uninterrupted one (same machine, same backend)
    await train({ config: cfg, out: join(dir, 'straight'), skipReport: true });
    const a = await readFile(join(dir, 'straight', 'last', 'weights.bin'));
    const b = await readFile(join(run, 'last', 'weights.bin'));
    assert.ok(a.equals(b), 'killed + resumed weights differ from the straight run');
  } finally {
    await cleanup();
  }
});

test('Ctrl-C (SIGINT) saves a checkpoint and exits 0', async () => {
  const { dir, cleanup } = await tempDir('crevnet-int-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 500, checkpointEvery: 1000, ...FAST });
    const run = join(dir, 'run');
    const p = startCli(['--backend', 'wasm', 'train', '--config', cfg, '--out', run, '--log-every', '1']);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !/iter 3\/500/.test(p.output())) await sleep(100);
    p.child.kill('SIGINT');
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    const m = /interrupted: iteration (\d+)\/500/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(await stepOf(join(run, 'last')), Number(m[1]));
    assert.ok(existsSync(join(run, 'loss_curve.png')) && existsSync(join(run, 'summary.json')));
  } finally {
    await cleanup();
  }
});

test('a kill between the two renames of a checkpoint swap is recovered from the hidden complete copy', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-recover-');
  try {
    const model = CrevNet.create(await loadConfig('tiny'), 3);
    try {
      const run = join(dir, 'run');
      // state after "rename(last → .last.old-A)" and a complete ".last.tmp-B", killed before "rename(tmp → last)"
      await saveCheckpoint(join(run, '.last.old-A'), { model, state: { step: 4 } });
      await saveCheckpoint(join(run, '.last.tmp-B'), { model, state: { step: 6 } });
      await mkdir(join(run, '.last.tmp-C')); // a save killed while writing: no manifest
      await writeFile(join(run, '.last.tmp-C', 'weights.bin'), 'partial');
      assert.match((await recoverCheckpoint(run, 'last')) ?? '', /recovered last\/ \(iteration 6\)/);
      assert.equal(await stepOf(join(run, 'last')), 6);
      assert.deepEqual(await readdir(run), ['last']);
      // with last/ in place, leftovers are just removed
      await saveCheckpoint(join(run, '.last.old-D'), { model, state: { step: 2 } });
      assert.equal(await recoverCheckpoint(run, 'last'), undefined);
      assert.deepEqual(await readdir(run), ['last']);
      assert.equal(await stepOf(join(run, 'last')), 6);
    } finally {
      model.dispose();
    }
  } finally {
    await cleanup();
  }
});

test('the --mode, --l1, --ssim, --clip-loss and --freeze-norm settings reach the training loss; bad values and removed options are refused in one line', async () => {
  await initBackend('wasm');
  const { dir, cleanup } = await tempDir('crevnet-terms-');
  try {
    const cfg = await tinyConfig(join(dir, 'cfg.json'), { iterations: 1, validationSequences: 2, workers: 1, mode: 'rollout', context: 4 });
    const firstLoss = async (name: string, overrides: TrainOverrides) => {
      const losses: number[] = [];
      await train({ config: cfg, out: join(dir, name), overrides }, { onStep: (s) => losses.push(s.loss) });
      return losses[0]!;
    };
    // same init and data: the added terms are ≥ 0 and not 0 on an untrained model's output
    const plain = await firstLoss('plain', {});
    const l1 = await firstLoss('l1', { l1: 1 });
    const ssim = await firstLoss('ssim', { ssim: 1 });
    assert.ok(l1 > plain && ssim > plain, `plain ${plain}, +L1 ${l1}, +SSIM ${ssim}`);
    assert.notEqual(l1, ssim);
    assert.notEqual(await firstLoss('teacher', { mode: 'teacher' }), plain);
    // clipping forgives the untrained output's negative values on the black background
    const clipped = await firstLoss('clip', { clipLoss: true });
    assert.ok(clipped < plain, `clipped ${clipped} vs plain ${plain}`);
    // frozen BatchNorm normalises with the (initial) running statistics, not the batch's: another loss,
    // and the checkpoint's running statistics are still the initial ones
    const frozen = await firstLoss('frozen', { freezeNorm: true });
    assert.ok(Math.abs(frozen - plain) > 1e-3 * plain, `frozen ${frozen} vs batch statistics ${plain}`);
    const stats = async (name: string) => {
      const ck = await loadCheckpoint(join(dir, name, 'last'));
      try {
        return ck.model.namedWeights().filter((w) => !w.trainable).flatMap((w) => Array.from(w.variable.dataSync()));
      } finally {
        ck.model.dispose();
        for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
      }
    };
    const init = await stats('frozen');
    assert.ok(init.length > 0 && init.every((v) => v === 0 || v === 1), 'frozen training changed the running statistics');
    assert.ok((await stats('plain')).some((v) => v !== 0 && v !== 1), 'batch-statistics training left the running statistics at init');

    // the command line's settings arrive as they are: every flag lands in the run's settings
    const cli = join(dir, 'cli');
    const r = await runCli([
      '--backend', 'wasm', 'train', '--config', cfg, '--out', cli, '--iterations', '1', '--batch', '3', '--lr', '0.002', '--seed', '3',
      '--mode', 'teacher', '--l1', '2', '--ssim', '0.5', '--clip-loss', 'on', '--freeze-norm', 'on', '--grad-clip', '5',
      '--checkpoint-every', '7', '--validate-every', '9', '--val-count', '3', '--log-every', '1', '--workers', '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { settings } = JSON.parse(await readFile(join(cli, 'last', 'state.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.deepEqual(
      { ...settings, betas: undefined, epsilon: undefined, schedule: undefined },
      { batch: 3, frames: 8, lr: 0.002, betas: undefined, epsilon: undefined, schedule: undefined, iterations: 1, checkpointEvery: 7, validateEvery: 9, validationSequences: 3, logEvery: 1, gradClip: 5, mode: 'teacher', context: 4, l1: 2, ssim: 0.5, clipLoss: true, freezeNorm: true, seed: 3, workers: 1 },
    );
    // a checkpoint's config.json keeps the run's train section, so it is a config the run can be repeated with
    const saved = JSON.parse(await readFile(join(cli, 'last', 'config.json'), 'utf8')) as { train: unknown };
    assert.deepEqual(saved.train, settings);
    // a config holding a removed option at another value than off is refused, and leaves no run directory behind
    const old = await tinyConfig(join(dir, 'old.json'), { mode: 'rollout', horizonRamp: 2 });
    const refused = await runCli(['train', '--config', old, '--out', join(dir, 'refused', 'run')]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr.trim(), /^error: \S+old\.json: train\.horizonRamp = 2 \(--horizon-ramp\) is an option that has been removed; remove it from the config$/);
    assert.ok(!existsSync(join(dir, 'refused')), 'the refused run left its directory');
  } finally {
    await cleanup();
  }
  for (const [flag, value] of [['--ssim', '-1'], ['--l1', '-0.5'], ['--ssim', 'lots']]) {
    const r = await runCli(['train', '--config', 'tiny', flag!, value!]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^error: ${flag} must be a number ≥ 0, got "${value}"`));
  }
  for (const flag of ['--horizon-ramp', '--ssim-ramp']) {
    const r = await runCli(['train', '--config', 'tiny', flag, '2']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`^error: unknown option '${flag}'$`));
  }
  const ssimOnly = await runCli(['train', '--config', 'tiny', '--clip-loss', 'ssim']);
  assert.equal(ssimOnly.code, 2, ssimOnly.stderr);
  assert.match(ssimOnly.stderr.trim(), /^error: option '--clip-loss <on\|off>' argument 'ssim' is invalid\. Allowed choices are on, off\.$/);
  const bad = await runCli(['train', '--config', 'tiny', '--clip-loss', 'maybe']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr.trim(), /^error: option '--clip-loss <on\|off>' argument 'maybe' is invalid\. Allowed choices are on, off\.$/);
  const badFreeze = await runCli(['train', '--config', 'tiny', '--freeze-norm', 'yes']);
  assert.equal(badFreeze.code, 2, badFreeze.stderr);
  assert.match(badFreeze.stderr.trim(), /^error: option '--freeze-norm <on\|off>' argument 'yes' is invalid\. Allowed choices are on, off\.$/);
});
