/**
 * Line charts as SVG: panels with axes, ticks, labels, legends, linear or log y. Pure string
 * building (no DOM); render to PNG with render.ts. Non-finite points break a line instead of
 * bending it to infinity; long series are decimated to a min/max envelope per pixel column.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  /** SVG stroke-dasharray, e.g. '6 4' */
  dash?: string;
  width?: number;
  opacity?: number;
  /** draw a dot on every point (sensible for short series) */
  markers?: boolean;
  /** false hides the series from the legend */
  legend?: boolean;
}

export interface Panel {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yScale?: 'linear' | 'log';
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** only integer x ticks (frame indices) */
  xIntegerTicks?: boolean;
  legend?: 'top-right' | 'bottom-right' | 'top-left' | 'bottom-left' | 'none';
  /** text shown in the middle when the panel has no finite data */
  emptyText?: string;
}

export interface FigureOptions {
  title?: string;
  subtitle?: string;
  width?: number;
  panelHeight?: number;
  columns?: number;
}

const FONT = "font-family=\"'DejaVu Sans', Arial, sans-serif\"";

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function r2(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** "Nice" step (1, 2, 2.5 or 5 × 10^k) for about `count` intervals over `range`. */
export function niceStep(range: number, count: number): number {
  if (!(range > 0) || !Number.isFinite(range)) return 1;
  const raw = range / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

/** Tick values covering [min, max] with a nice step. */
export function linearTicks(min: number, max: number, count = 5, integer = false): number[] {
  let step = niceStep(max - min, count);
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Ticks for a log axis: powers of ten, plus 2× and 5× when the range spans less than two decades. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mults = Math.log10(max / min) <= 2.2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) {
    for (const m of mults) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** Tick label: compact, no float noise (0.30000000000000004 → 0.3), k/M suffix for large round numbers. */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 && Number.isInteger(v / 1e5)) return `${+(v / 1e6).toPrecision(6)}M`;
  if (a >= 1e4 && Number.isInteger(v / 100)) return `${+(v / 1e3).toPrecision(6)}k`;
  if (a < 1e-3 || a >= 1e7) return v.toExponential(1).replace('e+', 'e');
  const decimals = step !== undefined && step > 0 ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 6;
  return String(+v.toFixed(Math.min(decimals + 1, 8)));
}

interface Domain {
  min: number;
  max: number;
}

function dataDomain(values: number[], log: boolean): Domain | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return null;
  if (log) {
    if (min === max) return { min: min / 2, max: max * 2 };
    return { min: min / 1.15, max: max * 1.15 };
  }
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return { min: min - pad, max: max + pad };
  }
  const pad = (max - min) * 0.05;
  return { min: min - pad, max: max + pad };
}

/** Decimate to at most ~2 points per pixel column, keeping the min and max of each bucket. */
function decimate(xs: number[], ys: number[], maxPoints: number): [number[], number[]] {
  if (xs.length <= maxPoints) return [xs, ys];
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const per = xs.length / buckets;
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor(b * per);
    const e = Math.min(xs.length, Math.floor((b + 1) * per));
    let iMin = -1;
    let iMax = -1;
    for (let i = s; i < e; i++) {
      const y = ys[i]!;
      if (!Number.isFinite(y)) continue;
      if (iMin < 0 || y < ys[iMin]!) iMin = i;
      if (iMax < 0 || y > ys[iMax]!) iMax = i;
    }
    if (iMin < 0) {
      ox.push(xs[s]!);
      oy.push(NaN);
      continue;
    }
    for (const i of iMin <= iMax ? [iMin, iMax] : [iMax, iMin]) {
      ox.push(xs[i]!);
      oy.push(ys[i]!);
    }
  }
  return [ox, oy];
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number, id: string): string {
  const ml = 74;
  const mr = 16;
  const mt = p.title ? 28 : 12;
  const mb = 46;
  const pw = w - ml - mr;
  const ph = h - mt - mb;
  const left = x0 + ml;
  const top = y0 + mt;
  const log = p.yScale === 'log';
  const out: string[] = [];

  const allX: number[] = [];
  const allY: number[] = [];
  for (const s of p.series) {
    for (let i = 0; i < s.x.length; i++) {
      if (Number.isFinite(s.y[i]!) && (!log || s.y[i]! > 0)) {
        allX.push(s.x[i]!);
        allY.push(s.y[i]!);
      }
    }
  }
  const xd: Domain | null = p.xDomain ? { min: p.xDomain[0], max: p.xDomain[1] } : dataDomain(allX, false);
  const yd: Domain | null = p.yDomain ? { min: p.yDomain[0], max: p.yDomain[1] } : dataDomain(allY, log);
  if (xd && !p.xDomain && allX.length > 0) {
    // x: no padding beyond the data, except for a single point
    const mn = Math.min(...allX);
    const mx = Math.max(...allX);
    if (mn < mx) {
      xd.min = mn;
      xd.max = mx;
    }
  }

  if (p.title) {
    out.push(`<text x="${r2(left + pw / 2)}" y="${r2(y0 + 18)}" text-anchor="middle" font-size="14" font-weight="bold" ${FONT}>${escapeXml(p.title)}</text>`);
  }
  out.push(`<rect x="${r2(left)}" y="${r2(top)}" width="${r2(pw)}" height="${r2(ph)}" fill="#ffffff" stroke="#444" stroke-width="1"/>`);
  // axis labels
  out.push(`<text x="${r2(left + pw / 2)}" y="${r2(top + ph + 38)}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(p.xLabel)}</text>`);
  out.push(
    `<text transform="translate(${r2(x0 + 16)},${r2(top + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(p.yLabel)}</text>`,
  );

  if (!xd || !yd) {
    out.push(`<text x="${r2(left + pw / 2)}" y="${r2(top + ph / 2)}" text-anchor="middle" font-size="12" fill="#888" ${FONT}>${escapeXml(p.emptyText ?? 'no data')}</text>`);
    return out.join('\n');
  }
  const ly = (v: number) => (log ? Math.log10(v) : v);
  const yMinT = ly(yd.min);
  const yMaxT = ly(yd.max);
  const sx = (v: number) => left + ((v - xd.min) / (xd.max - xd.min || 1)) * pw;
  const sy = (v: number) => top + ph - ((ly(v) - yMinT) / (yMaxT - yMinT || 1)) * ph;

  // grid + ticks
  const xStep = niceStep(xd.max - xd.min, 6);
  const xt = linearTicks(xd.min, xd.max, 6, p.xIntegerTicks);
  for (const t of xt) {
    const px = sx(t);
    out.push(`<line x1="${r2(px)}" y1="${r2(top)}" x2="${r2(px)}" y2="${r2(top + ph)}" stroke="#e6e6e6" stroke-width="1"/>`);
    out.push(`<line x1="${r2(px)}" y1="${r2(top + ph)}" x2="${r2(px)}" y2="${r2(top + ph + 4)}" stroke="#444"/>`);
    out.push(`<text x="${r2(px)}" y="${r2(top + ph + 17)}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(formatTick(t, p.xIntegerTicks ? Math.max(1, xStep) : xStep))}</text>`);
  }
  const yStep = niceStep(yd.max - yd.min, 5);
  let yt = log ? logTicks(yd.min, yd.max) : linearTicks(yd.min, yd.max, 5);
  if (log && yt.length < 3) yt = linearTicks(yd.min, yd.max, 4).filter((t) => t > 0);
  for (const t of yt) {
    const py = sy(t);
    out.push(`<line x1="${r2(left)}" y1="${r2(py)}" x2="${r2(left + pw)}" y2="${r2(py)}" stroke="#e6e6e6" stroke-width="1"/>`);
    out.push(`<line x1="${r2(left - 4)}" y1="${r2(py)}" x2="${r2(left)}" y2="${r2(py)}" stroke="#444"/>`);
    out.push(`<text x="${r2(left - 7)}" y="${r2(py + 4)}" text-anchor="end" font-size="11" ${FONT}>${escapeXml(formatTick(t, log ? Math.min(t, niceStep(yd.max - yd.min, 4)) : yStep))}</text>`);
  }

  // series, clipped to the plot area
  out.push(`<clipPath id="${id}"><rect x="${r2(left)}" y="${r2(top)}" width="${r2(pw)}" height="${r2(ph)}"/></clipPath>`);
  out.push(`<g clip-path="url(#${id})">`);
  p.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
      xs.push(s.x[i]!);
      ys.push(s.y[i]!);
    }
    const [dx, dy] = decimate(xs, ys, Math.max(50, Math.floor(pw * 2)));
    let d = '';
    let pen = false;
    for (let i = 0; i < dx.length; i++) {
      const y = dy[i]!;
      if (!Number.isFinite(y) || (log && y <= 0)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${r2(sx(dx[i]!))},${r2(sy(y))}`;
      pen = true;
    }
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const op = s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : '';
    if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.8}"${dash}${op} stroke-linejoin="round"/>`);
    if (s.markers) {
      for (let i = 0; i < dx.length; i++) {
        const y = dy[i]!;
        if (!Number.isFinite(y) || (log && y <= 0)) continue;
        out.push(`<circle cx="${r2(sx(dx[i]!))}" cy="${r2(sy(y))}" r="2.8" fill="${color}"/>`);
      }
    }
  });
  out.push('</g>');

  // legend
  const entries = p.series.map((s, k) => ({ s, color: s.color ?? PALETTE[k % PALETTE.length]! })).filter((e) => e.s.legend !== false);
  const pos = p.legend ?? 'top-right';
  if (entries.length > 0 && pos !== 'none') {
    const lw = Math.min(pw - 10, 34 + Math.max(...entries.map((e) => e.s.name.length)) * 6.6);
    const lh = 8 + entries.length * 17;
    const lx = pos.endsWith('right') ? left + pw - lw - 6 : left + 6;
    const lyy = pos.startsWith('top') ? top + 6 : top + ph - lh - 6;
    out.push(`<rect x="${r2(lx)}" y="${r2(lyy)}" width="${r2(lw)}" height="${r2(lh)}" fill="#ffffff" fill-opacity="0.85" stroke="#bbb"/>`);
    entries.forEach((e, i) => {
      const yy = lyy + 13 + i * 17;
      const dash = e.s.dash ? ` stroke-dasharray="${e.s.dash}"` : '';
      out.push(`<line x1="${r2(lx + 6)}" y1="${r2(yy - 4)}" x2="${r2(lx + 26)}" y2="${r2(yy - 4)}" stroke="${e.color}" stroke-width="${Math.max(2, e.s.width ?? 1.8)}"${dash}/>`);
      out.push(`<text x="${r2(lx + 31)}" y="${r2(yy)}" font-size="11" ${FONT}>${escapeXml(e.s.name)}</text>`);
    });
  }
  return out.join('\n');
}

/** A figure of one or more panels (grid, `columns` wide) as a standalone SVG document. */
export function lineChartSvg(panels: Panel[], opts: FigureOptions = {}): string {
  const width = opts.width ?? 820;
  const panelHeight = opts.panelHeight ?? 300;
  const columns = Math.max(1, opts.columns ?? 1);
  const rows = Math.ceil(panels.length / columns);
  const head = (opts.title ? 30 : 0) + (opts.subtitle ? 18 : 0);
  const height = head + rows * panelHeight + 6;
  const pw = width / columns;
  const body: string[] = [];
  body.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  if (opts.title) body.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold" ${FONT}>${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) {
    body.push(`<text x="${width / 2}" y="${opts.title ? 42 : 14}" text-anchor="middle" font-size="11" fill="#555" ${FONT}>${escapeXml(opts.subtitle)}</text>`);
  }
  panels.forEach((p, i) => {
    const c = i % columns;
    const r = Math.floor(i / columns);
    body.push(panelSvg(p, c * pw, head + r * panelHeight, pw, panelHeight, `clip${i}`));
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${body.join('\n')}\n</svg>\n`;
}

/** Centred moving average over `window` points (ignoring non-finite values). */
export function movingAverage(y: ArrayLike<number>, window: number): number[] {
  const n = y.length;
  const half = Math.max(0, Math.floor(window / 2));
  const out: number[] = new Array(n);
  const pre = new Float64Array(n + 1);
  const cnt = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    const ok = Number.isFinite(v);
    pre[i + 1] = pre[i]! + (ok ? v : 0);
    cnt[i + 1] = cnt[i]! + (ok ? 1 : 0);
  }
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(n, i + half + 1);
    const c = cnt[b]! - cnt[a]!;
    out[i] = c > 0 ? (pre[b]! - pre[a]!) / c : NaN;
  }
  return out;
}
