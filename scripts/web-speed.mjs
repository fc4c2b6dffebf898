#!/usr/bin/env node
/**
 * How fast the browser app predicts the sample: serves the built app (dist/, `npm run build`) on a free
 * port, opens it in headless chromium (playwright-core, the system's chromium), predicts
 * datasets/samples/moving-mnist.mp4 10 → 10 a few times and prints the page's own timings and how much
 * JS and wasm the browser loaded.
 *
 * usage: node scripts/web-speed.mjs [--backend webgl|wasm|webgpu|auto] [--model NAME] [--runs N] [--chromium PATH]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgl' },
    model: { type: 'string', default: 'mmnist-medium' },
    runs: { type: 'string', default: '2' },
    chromium: { type: 'string', default: process.env.CREVNET_CHROMIUM ?? '/usr/bin/chromium' },
  },
});

const { defaultAppDir, defaultSamplesDir, servedModels, startServer } = await import('../dist/server/app.js');
const { models, defaultModel } = servedModels();
const server = await startServer({ port: 0, host: '127.0.0.1', appDir: defaultAppDir(), samplesDir: defaultSamplesDir(), models, defaultModel });
const profile = mkdtempSync(join(tmpdir(), 'crevnet-speed-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: o.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'],
});
try {
  const page = await ctx.newPage();
  // what the browser asked for (the page and its worker), counted by the size of the served file
  const requested = new Set();
  page.on('request', (r) => requested.add(new URL(r.url()).pathname));
  await page.goto(`${server.url}?backend=${o.backend}&model=${encodeURIComponent(o.model)}`);
  await page.waitForFunction(() => window.__crevnet.backend || window.__crevnet.message, null, { timeout: 60_000 });
  const status = await page.textContent('#backend-status');
  await page.click('#sample');
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  console.log(`${o.model} on ${status} (chromium headless), sample 10 → 10:`);
  for (let i = 1; i <= Number(o.runs); i++) {
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 900_000 });
    const r = await page.evaluate(() => ({ result: window.__crevnet.result, message: window.__crevnet.message }));
    if (!r.result || r.message) throw new Error(r.message || 'no result');
    console.log(`  run ${i}: predict ${r.result.predictSeconds.toFixed(2)} s (model load ${r.result.loadSeconds.toFixed(2)} s, decoding ${r.result.decodeSeconds.toFixed(2)} s)`);
  }
  const bytes = { js: 0, wasm: 0 };
  for (const p of requested) {
    const kind = p.endsWith('.js') ? 'js' : p.endsWith('.wasm') ? 'wasm' : undefined;
    if (kind) bytes[kind] += statSync(join(defaultAppDir(), p)).size;
  }
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  console.log(`  loaded: JS ${kb(bytes.js)}, wasm ${kb(bytes.wasm)} (without the model's weights)`);
} finally {
  await ctx.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
