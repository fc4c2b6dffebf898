/** Types of scripts/build-web.mjs for the tests. */
export interface BuildFile {
  path: string;
  bytes: number;
}
export interface BuildResult {
  out: string;
  /** bytes of all .js files (app, worker, chunks) */
  js: number;
  /** bytes of the .wasm files */
  wasm: number;
  /** bytes of everything else (html, css, licence texts, build-info.json) */
  other: number;
  files: BuildFile[];
  /** the source files esbuild bundled (paths relative to the repository) */
  inputs: string[];
}
export const DEFAULT_ENTRIES: Record<string, string>;
export function nodeImports(metafile: unknown): string[];
export function buildWeb(o?: { out?: string; entryPoints?: Record<string, string> }): Promise<BuildResult>;
