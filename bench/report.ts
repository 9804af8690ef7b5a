import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Hand-written SVG: throughput in/out per second over time, and a latency histogram with percentiles. */
export function chartSvg(
  series: { t: number; inPerSec: number; outPerSec: number }[],
  latencies: number[],
  pct: { p50: number; p95: number; p99: number },
  title: string,
): string {
  const W = 900,
    H = 320,
    M = { l: 70, r: 20, t: 40, b: 45 };
  const pw = W - M.l - M.r,
    ph = H - M.t - M.b;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * 2 + 20}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  // Panel 1: throughput.
  const tMax = Math.max(1, ...series.map((s) => s.t));
  const yMax = Math.max(1, ...series.map((s) => Math.max(s.inPerSec, s.outPerSec))) * 1.1;
  const x = (t: number) => M.l + (t / tMax) * pw;
  const y = (v: number) => M.t + ph - (v / yMax) * ph;
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}: throughput per second</text>`);
  parts.push(axes(M, pw, ph, 0));
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    parts.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${M.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
    const tv = (tMax / 5) * i;
    parts.push(`<text x="${x(tv)}" y="${M.t + ph + 16}" text-anchor="middle">${tv.toFixed(0)}s</text>`);
  }
  const line = (key: 'inPerSec' | 'outPerSec', color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${series.map((s) => `${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ')}"/>`;
  parts.push(line('inPerSec', '#1f77b4'), line('outPerSec', '#ff7f0e'));
  parts.push(`<text x="${M.l + 10}" y="${M.t + 14}" fill="#1f77b4">inputs consumed/s (committed offsets)</text>`);
  parts.push(`<text x="${M.l + 10}" y="${M.t + 30}" fill="#ff7f0e">output events published/s</text>`);
  parts.push(`<text x="${M.l + pw / 2}" y="${H - 8}" text-anchor="middle">time since first produce</text>`);
  // Panel 2: latency histogram.
  const oy = H + 20;
  parts.push(`<text x="${W / 2}" y="${oy + 20}" text-anchor="middle" font-size="14">end-to-end latency at fixed load (n=${latencies.length})</text>`);
  parts.push(axes(M, pw, ph, oy));
  if (latencies.length > 0) {
    const lMax = Math.max(pct.p99 * 1.5, 1);
    const bins = 50;
    const counts = new Array<number>(bins).fill(0);
    let over = 0;
    for (const l of latencies) {
      const b = Math.floor((l / lMax) * bins);
      if (b >= bins) over++;
      else counts[Math.max(0, b)]++;
    }
    const cMax = Math.max(1, ...counts);
    const bw = pw / bins;
    counts.forEach((c, i) => {
      const h = (c / cMax) * ph;
      parts.push(`<rect x="${(M.l + i * bw).toFixed(1)}" y="${(oy + M.t + ph - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#2ca02c"/>`);
    });
    for (let i = 0; i <= 5; i++) {
      const v = (lMax / 5) * i;
      parts.push(`<text x="${M.l + (v / lMax) * pw}" y="${oy + M.t + ph + 16}" text-anchor="middle">${v.toFixed(0)} ms</text>`);
    }
    parts.push(`<text x="${M.l - 6}" y="${oy + M.t + 4}" text-anchor="end">${cMax}</text>`);
    for (const [name, v, color] of [
      ['p50', pct.p50, '#555'],
      ['p95', pct.p95, '#d62728'],
      ['p99', pct.p99, '#9467bd'],
    ] as const) {
      const px = M.l + (v / lMax) * pw;
      parts.push(`<line x1="${px}" x2="${px}" y1="${oy + M.t}" y2="${oy + M.t + ph}" stroke="${color}" stroke-dasharray="4 3"/>`);
      parts.push(`<text x="${px + 3}" y="${oy + M.t + 12 + (name === 'p95' ? 14 : name === 'p99' ? 28 : 0)}" fill="${color}">${name} ${v.toFixed(0)} ms</text>`);
    }
    if (over) parts.push(`<text x="${M.l + pw}" y="${oy + M.t + 12}" text-anchor="end">${over} above ${lMax.toFixed(0)} ms not shown</text>`);
  } else {
    parts.push(`<text x="${W / 2}" y="${oy + H / 2}" text-anchor="middle">no latency samples</text>`);
  }
  parts.push(`<text x="${M.l + pw / 2}" y="${oy + H - 8}" text-anchor="middle">produce → output arrival (ms)</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** Hand-written SVG: one horizontal bar per label, with an optional reference line (a ceiling). */
export function barChartSvg(title: string, bars: { label: string; value: number; note?: string }[], reference?: number): string {
  const W = 900,
    rowH = 24,
    M = { l: 300, r: 140, t: 40, b: 30 };
  const H = M.t + M.b + rowH * bars.length;
  const max = Math.max(1, reference ?? 0, ...bars.map((b) => b.value)) * 1.05;
  const x = (v: number) => M.l + (v / max) * (W - M.l - M.r);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  bars.forEach((b, i) => {
    const y = M.t + i * rowH;
    parts.push(`<text x="${M.l - 6}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${M.l}" y="${y + 4}" width="${Math.max(0, x(b.value) - M.l).toFixed(1)}" height="${rowH - 8}" fill="#1f77b4"/>`);
    parts.push(`<text x="${(x(b.value) + 4).toFixed(1)}" y="${y + 16}">${Math.round(b.value)}${b.note ? `  ${esc(b.note)}` : ''}</text>`);
  });
  if (reference !== undefined) {
    parts.push(`<line x1="${x(reference)}" x2="${x(reference)}" y1="${M.t}" y2="${H - M.b}" stroke="#d62728" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x(reference)}" y="${H - 10}" text-anchor="middle" fill="#d62728">${Math.round(reference)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function axes(M: { l: number; t: number }, pw: number, ph: number, oy: number): string {
  return `<line x1="${M.l}" y1="${oy + M.t}" x2="${M.l}" y2="${oy + M.t + ph}" stroke="black"/><line x1="${M.l}" y1="${oy + M.t + ph}" x2="${M.l + pw}" y2="${oy + M.t + ph}" stroke="black"/>`;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  pct: number;
}

/** Top self-time functions of the newest .cpuprofile in `dir`. */
export function summariseCpuProfile(dir: string, top = 15): { file: string; totalMs: number; top: SelfTime[] } | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const file = join(dir, files.sort().at(-1)!);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const agg = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const fn = cf.functionName || '(anonymous)';
    const url = cf.url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
    const where = url ? `${url.replace(/^.*node_modules\//, 'node_modules/')}:${cf.lineNumber + 1}` : '';
    const key = `${fn}|${where}`;
    const e = agg.get(key) ?? { fn, where, us: 0 };
    e.us += us;
    agg.set(key, e);
    totalUs += us;
  }
  const list = [...agg.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    file,
    totalMs: totalUs / 1000,
    top: list.map((e) => ({ fn: e.fn, where: e.where, ms: Math.round(e.us / 1000), pct: Math.round((e.us / totalUs) * 1000) / 10 })),
  };
}

export function table(rows: [string, string, string?][]): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}${c ? `  ${c}` : ''}`).join('\n');
}

/** A table of any width: the first row is the header, numbers (and n/a) right-aligned. */
export function grid(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const numeric = (v: string) => /^[\d,.\s/%×-]+$|^n\/a$/.test(v);
  const line = (r: string[]) =>
    r
      .map((v, c) => (c > 0 && numeric(v) ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
