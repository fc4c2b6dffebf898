/**
 * Where the ffmpeg and ffprobe binaries come from, in this order:
 * env FFMPEG_PATH / FFPROBE_PATH → ffmpeg-static (optional dependency) →
 * @ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe → `ffmpeg`/`ffprobe` on PATH.
 */
import { createRequire } from 'node:module';
import { accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { UserError } from './errors.js';

export interface BinaryLocation {
  path: string;
  source: string;
}

const require = createRequire(import.meta.url);

function executable(p: string | undefined | null): p is string {
  if (!p) return false;
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromPackage(spec: string, pick: (mod: unknown) => unknown): string | undefined {
  try {
    const name: string = spec; // a variable keeps tsc from resolving optional packages
    const p = pick(require(name));
    return typeof p === 'string' && executable(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}

const cache = new Map<string, BinaryLocation>();

function locate(tool: 'ffmpeg' | 'ffprobe'): BinaryLocation {
  const cached = cache.get(tool);
  if (cached) return cached;
  const envName = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const envValue = process.env[envName];
  let found: BinaryLocation | undefined;
  if (envValue) {
    if (!executable(envValue)) throw new UserError(`${envName}=${envValue} is not an executable file; fix or unset it`);
    found = { path: envValue, source: `env ${envName}` };
  }
  if (!found && tool === 'ffmpeg') {
    const p = fromPackage('ffmpeg-static', (m) => (m as { default?: unknown }).default ?? m);
    if (p) found = { path: p, source: 'ffmpeg-static' };
  }
  if (!found) {
    const spec = tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe';
    const p = fromPackage(spec, (m) => (m as { path?: unknown }).path);
    if (p) found = { path: p, source: spec };
  }
  if (!found) {
    const p = onPath(tool);
    if (p) found = { path: p, source: 'PATH' };
  }
  if (!found) {
    throw new UserError(
      `no ${tool} binary found; reinstall with npm install (it ships one), or set ${envName} or install ${tool} on PATH`,
    );
  }
  cache.set(tool, found);
  return found;
}

export function ffmpegBinary(): BinaryLocation {
  return locate('ffmpeg');
}

export function ffprobeBinary(): BinaryLocation {
  return locate('ffprobe');
}

/** First line of `<bin> -version`, e.g. "ffmpeg version 4.1.4-static ...". */
export function binaryVersion(path: string): string {
  try {
    const out = execFileSync(path, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    return out.split('\n')[0]?.trim() ?? 'unknown';
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}
