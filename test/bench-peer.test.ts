/** The peer benchmark's plumbing (src/bench/peer.ts): its arguments follow the config; a missing peer is reported as skipped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/model/config-file.js';
import { peerArgs, runPeer } from '../src/bench/peer.js';

test('peer arguments follow the config; a missing peer is reported as skipped', async () => {
  const cfg = await loadConfig('small');
  const args = peerArgs(cfg, { batch: 4, iters: 3, evalSequences: 16 });
  assert.deepEqual(args.slice(0, 6), ['--blocks', '2,2', '--strides', '1,2', '--layers', '2']);
  assert.ok(args.includes('--eval'));
  const old = process.env.CREVNET_PEER;
  process.env.CREVNET_PEER = '/nonexistent/crevnet_ref.py';
  try {
    const p = await runPeer(cfg, { iters: 1, evalSequences: 0 });
    assert.match(p.skipped ?? '', /not found/);
    assert.equal(p.trainStepSeconds, null);
  } finally {
    if (old === undefined) delete process.env.CREVNET_PEER;
    else process.env.CREVNET_PEER = old;
  }
});
