/**
 * SVG → PNG through @resvg/resvg-js (a prebuilt Rust renderer shipped in npm platform packages).
 * Text uses DejaVu Sans from the `dejavu-fonts-ttf` package, so output is the same on every machine;
 * if that file is missing, system fonts are tried instead. If the renderer itself cannot load
 * (no prebuilt binary for this platform), callers still get the SVG and a one-line reason.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from './files.js';

const require = createRequire(import.meta.url);

export const FONT_FAMILY = 'DejaVu Sans';

interface ResvgModule {
  Resvg: new (
    svg: string | Uint8Array,
    opts?: { font?: { fontFiles?: string[]; loadSystemFonts?: boolean; defaultFontFamily?: string }; background?: string },
  ) => { render(): { asPng(): Uint8Array } };
}

let resvg: ResvgModule | null | undefined;
let resvgError = '';

function loadResvg(): ResvgModule | null {
  if (resvg !== undefined) return resvg;
  try {
    const name: string = '@resvg/resvg-js';
    resvg = require(name) as ResvgModule;
  } catch (err) {
    resvg = null;
    resvgError = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
  }
  return resvg;
}

/** Path of the bundled DejaVu Sans TTF, or undefined when the package is not installed. */
export function bundledFontPath(): string | undefined {
  try {
    const p = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Render an SVG document to PNG bytes. Throws if the renderer is unavailable. */
export function svgToPng(svg: string): Uint8Array {
  const mod = loadResvg();
  if (!mod) throw new Error(`PNG rendering unavailable (@resvg/resvg-js: ${resvgError})`);
  const font = bundledFontPath();
  const r = new mod.Resvg(svg, {
    font: font
      ? { fontFiles: [font], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY }
      : { loadSystemFonts: true, defaultFontFamily: FONT_FAMILY },
  });
  return r.render().asPng();
}

export interface RenderedFigure {
  svg: string;
  /** PNG path, or null when rendering was unavailable (see `warning`) */
  png: string | null;
  warning?: string;
}

/**
 * Write `<base>.svg` and `<base>.png` (both atomically). If PNG rendering fails, the SVG is still
 * written and the failure is returned as a warning instead of thrown.
 */
export async function writeFigure(base: string, svg: string): Promise<RenderedFigure> {
  const svgPath = `${base}.svg`;
  await writeFileAtomic(svgPath, svg);
  try {
    const png = svgToPng(svg);
    await writeFileAtomic(`${base}.png`, png);
    return { svg: svgPath, png: `${base}.png` };
  } catch (err) {
    return { svg: svgPath, png: null, warning: err instanceof Error ? err.message : String(err) };
  }
}
