/**
 * The browser app in a real browser: Debian's chromium driven by playwright-core (no downloaded
 * browser), against `crevnet serve`. (a) the sample's predicted frames and the PNG strip download equal
 * what `crevnet predict --compare` writes for the same settings, to 2/255, on WebGL (SwiftShader here)
 * and on wasm (after WebGL fails to initialise: the fallback is announced); (b) bad input gets its
 * message in the page; (c) screenshots of the results go to outputs/test/web/ for a person to look at.
 * Without chromium the suite is skipped with the reason, except in CI (CI=true), where that fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { decodePngGray } from '../src/report/image.js';
import { decodeGray } from '../src/video/ffmpeg.js';
import { defaultScale } from '../src/video/frames.js';
import { buildWeb } from '../scripts/build-web.mjs';
import { ROOT, runCli, startCli } from './cli-helpers.js';
import { ffmpegRun, skipNoFfmpeg } from './video-helpers.js';

const SAMPLE = join(ROOT, 'datasets', 'samples', 'moving-mnist.mp4');
/** where the screenshots go (outputs/ is not tracked) */
const OUT = join(ROOT, 'outputs', 'test', 'web');
const TOLERANCE = 2;

function findChromium(): string | undefined {
  const candidates = process.env.CREVNET_CHROMIUM
    ? [process.env.CREVNET_CHROMIUM]
    : (process.env.PATH ?? '').split(delimiter).flatMap((d) => ['chromium', 'chromium-browser'].map((n) => join(d, n)));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

const chromiumPath = findChromium();
const inCi = process.env.CI === 'true';
const skip: string | false = chromiumPath
  ? skipNoFfmpeg
  : inCi
    ? false
    : 'no chromium on PATH (apt-get install chromium, or set CREVNET_CHROMIUM): skipping the browser tests';
if (skip) process.stderr.write(`# ${skip}\n`);

/** Chromium as the tests run it: headless, no sandbox (root in CI), nothing fetched from the network. */
async function launch(dataDir: string, extra: string[]): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(mkdtempSync(join(dataDir, 'profile-')), {
    executablePath: chromiumPath!,
    headless: true,
    viewport: { width: 1200, height: 1000 },
    args: [
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extra,
    ],
  });
}

interface PageResult {
  backend: string;
  frames: number[][];
  context: number[][];
  predictSeconds: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

/**
 * The page's globals the tests read (window.__crevnet, set by web/main.ts; (globalThis as unknown as PageGlobals).document.body.dataset). The
 * tests are type-checked with Node's types, not the DOM's, hence the casts inside page functions.
 */
interface PageGlobals {
  __crevnet: {
    state: string;
    message: string;
    notice: string;
    backend?: string;
    result?: { backend: string; frames: Uint8Array[]; context: Uint8Array[]; predictSeconds: number; tensorsBefore: number; tensorsAfter: number };
  };
  document: { body: { dataset: Record<string, string | undefined> } };
  probe: { max: number; last: number };
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__crevnet.backend !== undefined || (globalThis as unknown as PageGlobals).document.body.dataset.state === 'error', null, { timeout: 60_000 });
}

async function state(page: Page): Promise<{ state: string; message: string; notice: string }> {
  return page.evaluate(() => {
    const h = (globalThis as unknown as PageGlobals).__crevnet;
    return { state: h.state, message: h.message, notice: h.notice };
  });
}

/** Give the page a file through its file input; resolves once it has been read (or refused). */
async function choose(page: Page, file: string): Promise<{ state: string; message: string; notice: string }> {
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => ['ready', 'error'].includes((globalThis as unknown as PageGlobals).document.body.dataset.state ?? ''), null, { timeout: 60_000 });
  return state(page);
}

async function predict(page: Page, o: { context: number; horizon: number; start: number }, timeout: number): Promise<PageResult> {
  await page.fill('#context', String(o.context));
  await page.fill('#horizon', String(o.horizon));
  await page.$eval('#start', (e, v) => {
    const input = e as unknown as { value: string; dispatchEvent(ev: Event): boolean };
    input.value = String(v);
    input.dispatchEvent(new Event('input'));
  }, o.start);
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes((globalThis as unknown as PageGlobals).document.body.dataset.state ?? ''), null, { timeout });
  const s = await state(page);
  assert.equal(s.state, 'done', `the page says: ${s.message}`);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.body.dataset.downloads === 'ready', null, { timeout: 30_000 });
  return page.evaluate(() => {
    const r = (globalThis as unknown as PageGlobals).__crevnet.result!;
    return { backend: r.backend, frames: r.frames.map((f) => Array.from(f)), context: r.context.map((f) => Array.from(f)), predictSeconds: r.predictSeconds, tensorsBefore: r.tensorsBefore, tensorsAfter: r.tensorsAfter };
  });
}

async function download(page: Page, selector: string): Promise<{ name: string; bytes: Buffer }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())!) };
}

/** (c) a full-page screenshot under outputs/test/web/, checked to be a real picture of the page. */
async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(OUT, name);
  await page.screenshot({ path, fullPage: true });
  const png = decodePngGray(readFileSync(path));
  assert.ok(png.width >= 1000 && png.height >= 800, `${name}: ${png.width}×${png.height}`);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The predicted 64×64 frames inside `crevnet predict --compare --format png`'s strip: row K + t of the
 * contact sheet (10 per line), middle panel, every k-th pixel (src/predict/compose.ts, src/video/frames.ts).
 */
function stripPredictions(png: { width: number; pixels: Uint8Array }, K: number, horizon: number, W: number, H: number): Uint8Array[] {
  const k = defaultScale(W, H);
  const gap = Math.max(2, k);
  const cellW = 3 * W * k + 2 * gap;
  const cellH = H * k;
  const out: Uint8Array[] = [];
  for (let t = 0; t < horizon; t++) {
    const i = K + t;
    const x0 = (i % 10) * (cellW + 2) + W * k + gap;
    const y0 = Math.floor(i / 10) * (cellH + 2);
    const f = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f[y * W + x] = png.pixels[(y0 + y * k) * png.width + x0 + x * k]!;
    out.push(f);
  }
  return out;
}

describe('the browser app in chromium', { skip }, () => {
  let tmp: string;
  let server: ReturnType<typeof startCli> | undefined;
  let url: string;
  let gpu: BrowserContext | undefined;
  let cli: Record<'medium' | 'small', Promise<string>>;
  let fixtures: Promise<void>;

  before(async () => {
    if (!chromiumPath) assert.fail('CI=true and no chromium: the browser tests must run in CI (.ci/run installs it)');
    tmp = mkdtempSync(join(tmpdir(), 'crevnet-web-'));
    mkdirSync(OUT, { recursive: true });
    // the CLI's reference output, bad-input files and the app build run side by side
    const reference = async (model: string, name: string): Promise<string> => {
      const out = join(tmp, `cli-${name}.png`);
      const r = await runCli(['predict', '--frames', SAMPLE, '--model', model, '--start', '10', '--compare', '--format', 'png', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      return out;
    };
    cli = { medium: reference('mmnist-medium', 'medium'), small: reference('mmnist-small', 'small') };
    for (const p of Object.values(cli)) p.catch(() => undefined);
    fixtures = (async () => {
      writeFileSync(join(tmp, 'notes.txt'), 'these are notes, not a video\n');
      writeFileSync(join(tmp, 'truncated.mp4'), readFileSync(SAMPLE).subarray(0, 1500));
      ffmpegRun(['-i', SAMPLE, '-frames:v', '5', '-c', 'copy', join(tmp, 'five.mp4')]);
      ffmpegRun(['-f', 'lavfi', '-i', 'testsrc2=size=3840x2160:rate=10', '-frames:v', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', join(tmp, 'uhd.mp4')]);
    })();
    fixtures.catch(() => undefined);
    const app = await buildWeb({ out: join(tmp, 'app') });
    server = startCli(['serve', '--port', '0', '--app-dir', app.out]);
    url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`crevnet serve printed no URL: ${server!.output()}`)), 90_000);
      server!.child.stdout!.on('data', () => {
        const m = /crevnet serve: (http:\S+)/.exec(server!.output());
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      void server!.done.then((r) => reject(new Error(`crevnet serve exited: ${r.stderr}`)));
    });
    // SwiftShader: WebGL without a GPU
    gpu = await launch(tmp, ['--enable-unsafe-swiftshader']);
  });

  after(async () => {
    await gpu?.close();
    server?.child.kill('SIGTERM');
    await server?.done;
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('(a) WebGL: the sample through the file input, 10 → 10 with mmnist-small, equals crevnet predict to 2/255; downloads; the page stays responsive', async (t) => {
    const page = await gpu!.newPage();
    await open(page, `${url}?backend=webgl&model=mmnist-small`);
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).__crevnet.backend), 'webgl', (await page.textContent('#backend-status')) ?? '');
    const loaded = await choose(page, SAMPLE);
    assert.equal(loaded.state, 'ready', loaded.message);
    assert.match((await page.textContent('#video-info')) ?? '', /64×64, 20 frames at 10 fps/);
    // a timer on the page's thread: its longest gap shows whether the rollout blocked the page
    await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      w.probe = { max: 0, last: performance.now() };
      setInterval(() => {
        const now = performance.now();
        w.probe.max = Math.max(w.probe.max, now - w.probe.last);
        w.probe.last = now;
      }, 50);
    });
    const r = await predict(page, { context: 10, horizon: 10, start: 10 }, 300_000);
    const gap = await page.evaluate(() => (globalThis as unknown as PageGlobals).probe.max);
    t.diagnostic(`WebGL (SwiftShader), mmnist-small, 10 → 10: ${r.predictSeconds.toFixed(2)} s in the page; longest pause of the page's timer ${gap.toFixed(0)} ms`);
    assert.equal(r.backend, 'webgl');
    assert.equal(r.tensorsAfter, r.tensorsBefore, 'no tensor left behind by the rollout');
    assert.ok(gap < Math.max(1500, (r.predictSeconds * 1000) / 4), `the page froze for ${gap.toFixed(0)} ms during a ${r.predictSeconds.toFixed(1)} s rollout`);

    const reference = decodePngGray(readFileSync(await cli.small));
    const expected = stripPredictions(reference, 10, 10, 64, 64);
    t.diagnostic(`WebGL vs crevnet predict: max |diff| ${Math.max(...r.frames.map((f, i) => maxDiff(f, expected[i]!)))}/255 over the 10 predicted frames`);
    r.frames.forEach((f, i) => assert.ok(maxDiff(f, expected[i]!) <= TOLERANCE, `predicted frame ${i}: max |diff| ${maxDiff(f, expected[i]!)}`));
    // the strip the page offers is the one the CLI writes
    const png = await download(page, '#download-png');
    assert.equal(png.name, 'moving-mnist-mmnist-small.png');
    const strip = decodePngGray(png.bytes);
    assert.deepEqual([strip.width, strip.height], [reference.width, reference.height]);
    assert.ok(maxDiff(strip.pixels, reference.pixels) <= TOLERANCE, `PNG strip: max |diff| ${maxDiff(strip.pixels, reference.pixels)}`);
    const gif = await download(page, '#download-gif');
    writeFileSync(join(tmp, 'page.gif'), gif.bytes);
    const frames = await decodeGray(join(tmp, 'page.gif'), { width: 776, height: 256, fit: 'stretch' });
    assert.equal(frames.length, 20, 'the GIF holds context and prediction');
    await screenshot(page, 'page-webgl.png');
    await page.close();
  });

  test('(a) wasm, after WebGL fails to initialise (no GPU process): the fallback is announced; the default model equals crevnet predict to 2/255', async (t) => {
    const nogpu = await launch(tmp, ['--disable-gpu', '--disable-software-rasterizer']);
    try {
      const page = await nogpu.newPage();
      await open(page, `${url}?backend=webgl`);
      const s = await state(page);
      assert.match(s.notice, /^WebGL failed to initialise \(.+\); using WebAssembly \(wasm\) instead\.$/);
      assert.match((await page.textContent('#backend-status')) ?? '', /WebAssembly \(wasm\) \(not available: WebGL: /);
      assert.equal((await choose(page, SAMPLE)).state, 'ready');
      const r = await predict(page, { context: 10, horizon: 10, start: 10 }, 120_000);
      t.diagnostic(`wasm, mmnist-medium, 10 → 10: ${r.predictSeconds.toFixed(2)} s in the page`);
      assert.equal(r.backend, 'wasm');
      assert.equal(r.tensorsAfter, r.tensorsBefore);
      const reference = decodePngGray(readFileSync(await cli.medium));
      const expected = stripPredictions(reference, 10, 10, 64, 64);
      t.diagnostic(`wasm vs crevnet predict: max |diff| ${Math.max(...r.frames.map((f, i) => maxDiff(f, expected[i]!)))}/255 over the 10 predicted frames`);
      r.frames.forEach((f, i) => assert.ok(maxDiff(f, expected[i]!) <= TOLERANCE, `predicted frame ${i}: max |diff| ${maxDiff(f, expected[i]!)}`));
      const strip = decodePngGray((await download(page, '#download-png')).bytes);
      assert.ok(maxDiff(strip.pixels, reference.pixels) <= TOLERANCE, `PNG strip: max |diff| ${maxDiff(strip.pixels, reference.pixels)}`);
      await screenshot(page, 'page-wasm.png');
    } finally {
      await nogpu.close();
    }
  });

  test('(b) bad input: not a video, undecodable, too few frames; a 4K video is decoded frame by frame at the model size', async () => {
    await fixtures;
    const page = await gpu!.newPage();
    await open(page, `${url}?backend=wasm`);
    let s = await choose(page, join(tmp, 'notes.txt'));
    assert.equal(s.state, 'error');
    assert.match(s.message, /^notes\.txt is not a video \(the browser cannot read it as one/);
    assert.equal(await page.isVisible('#message'), true);

    s = await choose(page, join(tmp, 'truncated.mp4'));
    assert.equal(s.state, 'error');
    assert.match(s.message, /^truncated\.mp4 (cannot be decoded by this browser|: the browser could not decode the frame|: the frame at)/);

    s = await choose(page, join(tmp, 'five.mp4'));
    assert.match(s.message, /^five\.mp4 has 5 frames; a context of 10 needs at least 10/);
    await page.click('#run');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.body.dataset.state === 'error');
    assert.match((await state(page)).message, /^five\.mp4 has 5 frames; a context of 10 needs at least 10/);

    // a 4K file: announced, and only the frames needed are decoded, straight to 64×64, fitted as the CLI fits
    s = await choose(page, join(tmp, 'uhd.mp4'));
    assert.equal(s.state, 'ready', s.message);
    assert.match(s.notice, /^Large video \(3840×2160, .*only the frames the prediction needs are decoded/);
    const r = await predict(page, { context: 4, horizon: 2, start: 4 }, 120_000);
    assert.equal(r.frames.length, 2);
    const cliFrames = await decodeGray(join(tmp, 'uhd.mp4'), { width: 64, height: 64, fit: 'crop', maxFrames: 4 });
    r.context.forEach((f, i) => assert.ok(maxDiff(f, cliFrames[i]!) <= 4, `4K context frame ${i}: max |diff| ${maxDiff(f, cliFrames[i]!)} against the CLI's decoding`));
    await screenshot(page, 'page-uhd.png');
    await page.close();
  });
});
