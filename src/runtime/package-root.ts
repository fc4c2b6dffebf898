/**
 * The package root: the directory with package.json, configs/, outputs/pretrained/ and
 * datasets/samples/. This file is src/runtime/package-root.ts (tsx) or dist/runtime/package-root.js
 * (built), two levels below it; in the single-file bundle (scripts/bundle.mjs defines CREVNET_BUNDLE)
 * everything sits beside the bundle's one JS file.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const CREVNET_BUNDLE: boolean | undefined;

export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return typeof CREVNET_BUNDLE !== 'undefined' && CREVNET_BUNDLE ? here : resolve(here, '..', '..');
}

let version: string | undefined;

/** package.json's version. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
