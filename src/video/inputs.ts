/**
 * Video inputs named on a command line: files, directories (their video files, by extension, not recursive) and
 * glob patterns, expanded to a list of files. Shared by `predict --frames` and the video dataset (`--data`).
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UserError } from '../runtime/errors.js';
import { VIDEO_EXTENSIONS } from './probe.js';

const VIDEO_EXT = new Set<string>(VIDEO_EXTENSIONS);

export function isVideoName(name: string): boolean {
  return VIDEO_EXT.has(extname(name).slice(1).toLowerCase());
}

/**
 * Expand files, directories and glob patterns into a list of files, in the order given (sorted within a directory
 * or pattern), without duplicates. UserError for a missing path, a directory without videos, or a pattern that
 * matches nothing. `option` names the flag in the message for an empty list.
 */
export async function expandInputs(specs: string[], option = '--frames'): Promise<string[]> {
  if (specs.length === 0) throw new UserError(`no input: give ${option} <video|directory|glob>...`);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    const key = resolve(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  };
  for (const spec of specs) {
    const st = await stat(spec).catch(() => undefined);
    if (st?.isDirectory()) {
      const names = (await readdir(spec, { withFileTypes: true }))
        .filter((d) => (d.isFile() || d.isSymbolicLink()) && isVideoName(d.name))
        .map((d) => d.name)
        .sort();
      if (names.length === 0) {
        throw new UserError(`directory ${spec} contains no videos (looked for ${VIDEO_EXTENSIONS.map((e) => `.${e}`).join(' ')})`);
      }
      names.forEach((n) => add(join(spec, n)));
    } else if (st) {
      add(spec);
    } else if (isDynamicPattern(spec)) {
      const matches = (await glob(spec, { onlyFiles: true, expandDirectories: false, absolute: true })).sort();
      if (matches.length === 0) throw new UserError(`no file matches ${spec}`);
      matches.forEach((m) => {
        const rel = relative(process.cwd(), m);
        add(rel && !rel.startsWith('..') ? rel : m);
      });
    } else {
      throw new UserError(`${spec}: no such file or directory`);
    }
  }
  return out;
}
