#!/usr/bin/env node
// Build the optional native kernels (native/, the `native` backend) with node-gyp against a CBLAS:
// OpenBLAS found by pkg-config on Linux (Debian/Ubuntu: apt-get install libopenblas-dev pkg-config),
// Accelerate on macOS. It runs as the package's install script and never fails the install: without a
// compiler or a BLAS it says so in one line and crevnet uses the wasm backend.
//
//   node scripts/build-native.mjs [--quiet]      CREVNET_NATIVE=0 skips the build
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native');
const quiet = process.argv.includes('--quiet');
const say = (msg) => console.log(`crevnet: ${msg}`);
// how to build again later: as a dependency, or in a clone of the repository
const AGAIN = 'npm rebuild crevnet (in a clone: node scripts/build-native.mjs)';
const skip = (why) => {
  say(`native kernels not built (${why}); crevnet will use the wasm backend`);
  process.exit(0);
};

if (process.env.CREVNET_NATIVE === '0') skip('CREVNET_NATIVE=0');
if (!existsSync(join(dir, 'binding.gyp'))) skip('native/ is missing');
if (process.platform !== 'darwin') {
  const pc = spawnSync('pkg-config', ['--exists', 'openblas'], { stdio: 'ignore' });
  if (pc.error) skip(`pkg-config is not installed; on Debian/Ubuntu: apt-get install pkg-config libopenblas-dev, then ${AGAIN}`);
  if (pc.status !== 0) skip(`OpenBLAS not found by pkg-config; on Debian/Ubuntu: apt-get install libopenblas-dev, then ${AGAIN}`);
}

// npm gives its own node-gyp to install scripts; outside npm, use the copy bundled with npm
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const candidates = [join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package
  }
  return candidates.find((p) => existsSync(p));
}

const gyp = nodeGyp();
if (!gyp) skip('node-gyp not found (it comes with npm)');
// Node's own headers; node-gyp would otherwise download them from nodejs.org, which an install must not do
const nodedir = [process.env.npm_config_nodedir, process.config.variables.node_prefix, resolve(dirname(process.execPath), '..')].find(
  (d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')),
);
if (!nodedir) skip("Node's C headers (include/node/node_api.h) are not installed beside node");
const logDir = join(dir, 'build');
const started = Date.now();
const run = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', dir, `--nodedir=${nodedir}`], { encoding: 'utf8', env: process.env });
if (run.status !== 0) {
  const out = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, 'build-error.log');
  writeFileSync(log, out);
  const first = out.split('\n').find((l) => /error/i.test(l))?.trim() ?? `node-gyp exited with ${run.status}`;
  rmSync(join(logDir, 'Release'), { recursive: true, force: true });
  skip(`${first.slice(0, 160)}; full log: ${log}`);
}
if (!quiet) say(`native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s (native/build/Release/crevnet_native.node)`);
