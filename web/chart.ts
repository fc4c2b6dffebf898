/** A small SVG line chart of one per-frame series (SSIM or MSE against the ground truth). */

const NS = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(3);
}

/**
 * Values at x = first, first + 1, …; the y axis runs from `min` (default: the data's, or 0) to the data's
 * maximum. Each point carries a <title> with its value.
 */
export function lineChart(values: number[], o: { title: string; first: number; min?: number; max?: number; color: string }): SVGSVGElement {
  const W = 320;
  const H = 160;
  const m = { l: 44, r: 10, t: 22, b: 26 };
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': o.title }) as SVGSVGElement;
  svg.append(el('text', { x: m.l, y: 14, class: 'chart-title' }, o.title));
  const lo = o.min ?? Math.min(0, ...values);
  let hi = o.max ?? Math.max(...values);
  if (!(hi > lo)) hi = lo + 1;
  const x = (i: number): number => m.l + (values.length === 1 ? (W - m.l - m.r) / 2 : (i * (W - m.l - m.r)) / (values.length - 1));
  const y = (v: number): number => H - m.b - ((v - lo) * (H - m.t - m.b)) / (hi - lo);
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(el('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'chart-grid' }));
    svg.append(el('text', { x: m.l - 4, y: y(v) + 4, class: 'chart-tick', 'text-anchor': 'end' }, fmt(v)));
  }
  values.forEach((_, i) => {
    if (values.length <= 12 || i % Math.ceil(values.length / 10) === 0) {
      svg.append(el('text', { x: x(i), y: H - m.b + 14, class: 'chart-tick', 'text-anchor': 'middle' }, String(o.first + i)));
    }
  });
  svg.append(el('text', { x: (m.l + W - m.r) / 2, y: H - 2, class: 'chart-tick', 'text-anchor': 'middle' }, 'predicted frame'));
  svg.append(el('polyline', { points: values.map((v, i) => `${x(i)},${y(v)}`).join(' '), fill: 'none', stroke: o.color, 'stroke-width': 2 }));
  values.forEach((v, i) => {
    const c = el('circle', { cx: x(i), cy: y(v), r: 3, fill: o.color });
    c.append(el('title', {}, `frame ${o.first + i}: ${fmt(v)}`));
    svg.append(c);
  });
  return svg;
}
