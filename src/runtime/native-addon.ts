/**
 * The native kernels' addon (native/, built by scripts/build-native.mjs at install when a C compiler and a
 * CBLAS are there). Absent in the browser bundle and the single-file bundle; its absence is a reason
 * for `crevnet info`, never an error, unless `--backend native` asked for it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeAddon } from './kernels/native.js';
import { packageRoot } from './package-root.js';

export type { NativeAddon } from './kernels/native.js';


let loaded: NativeAddon | undefined;

export function nativeAddonPath(): string {
  return join(packageRoot(), 'native', 'build', 'Release', 'crevnet_native.node');
}

/** The addon, loaded once; throws a one-line reason when it is not built or does not load. */
export function loadNativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new Error(
      'native kernels are not built (they need a C compiler and OpenBLAS: apt-get install libopenblas-dev pkg-config, then npm rebuild crevnet; in a clone: node scripts/build-native.mjs)',
    );
  }
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`native kernels did not load: ${msg}`);
  }
  return loaded;
}
