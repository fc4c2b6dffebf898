/** CSV writing (RFC 4180 quoting) for per-frame tables. */

export type CsvCell = string | number | boolean | null | undefined;

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: one header row, then rows; `\n` line ends and a trailing newline. */
export function toCsv(header: string[], rows: CsvCell[][]): string {
  for (const r of rows) {
    if (r.length !== header.length) throw new RangeError(`CSV row has ${r.length} cells, header has ${header.length}`);
  }
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}
