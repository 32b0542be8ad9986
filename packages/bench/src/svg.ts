/**
 * A small SVG writer for the three kinds of figure the report needs: horizontal bars with
 * whiskers (ns/packet, req/s, Mpps), a histogram (per-backend load), and a line chart (flows
 * remapped vs backends removed). Plain strings, no dependency; every figure carries a footer
 * (machine, command, spread) so that it still says where it came from when it is copied alone.
 */
import type { BarChart, ChartSpec, HistogramChart, LineChart } from './types.js';

const W = 880;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const FOOT_LINE = 13;

/** XML-escapes text and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A number as an axis label: 1500000 -> 1.5M, 2500 -> 2.5k, 0.25 -> 0.25. */
export function fmtNum(x: number): string {
  const a = Math.abs(x);
  const trim = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (a >= 1e9) return `${trim((x / 1e9).toFixed(2))}G`;
  if (a >= 1e6) return `${trim((x / 1e6).toFixed(2))}M`;
  if (a >= 1e4) return `${trim((x / 1e3).toFixed(1))}k`;
  if (a >= 100 || x === 0) return trim(x.toFixed(0));
  if (a >= 1) return trim(x.toFixed(2));
  return trim(x.toPrecision(2));
}

/** Round tick positions covering [min, max], about `count` of them (steps of 1, 2, 2.5, 5 x 10^k). */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max === min) max = min + (min === 0 ? 1 : Math.abs(min) * 0.1);
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let t = start; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}" ${attrs}>${esc(s)}</text>`;
}

function r(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

/** Approximate width of a label at 12 px (for layout only). */
function textWidth(s: string, px = 12): number {
  return s.length * px * 0.56;
}

function header(height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${r(height)}" viewBox="0 0 ${W} ${r(height)}" ${FONT} font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${r(height)}" fill="#ffffff"/>`,
    text(16, 24, title, 'font-size="15" font-weight="bold" fill="#222"'),
  ];
}

function footer(y: number, lines: readonly string[]): string[] {
  return lines.map((l, i) => text(16, y + i * FOOT_LINE, l, 'font-size="10" fill="#666"'));
}

function legend(x: number, y: number, labels: readonly string[], colors: readonly string[], dashed: readonly boolean[] = []): string[] {
  const out: string[] = [];
  let cx = x;
  labels.forEach((l, i) => {
    const c = colors[i % colors.length]!;
    out.push(
      dashed[i]
        ? `<line x1="${r(cx)}" y1="${r(y - 4)}" x2="${r(cx + 14)}" y2="${r(y - 4)}" stroke="${c}" stroke-width="2" stroke-dasharray="4 3"/>`
        : `<rect x="${r(cx)}" y="${r(y - 10)}" width="12" height="12" fill="${c}"/>`,
    );
    out.push(text(cx + 18, y, l, 'fill="#333"'));
    cx += 30 + textWidth(l);
  });
  return out;
}

function barChart(c: BarChart, foot: readonly string[]): string {
  const groups = [...new Set(c.bars.map((b) => b.group ?? ''))];
  const hasLegend = groups.length > 1 || (groups.length === 1 && groups[0] !== '');
  const color = (g: string | undefined) => PALETTE[Math.max(0, groups.indexOf(g ?? '')) % PALETTE.length]!;
  const labelW = Math.min(330, Math.max(60, ...c.bars.map((b) => textWidth(b.label)))) + 12;
  const left = 16 + labelW;
  const right = 120;
  const plotW = W - left - right;
  const top = 44 + (hasLegend ? 22 : 0) + (c.refs?.length ? 16 : 0);
  const row = 22;
  const plotH = Math.max(row, c.bars.length * row);
  const axisY = top + plotH + 6;
  const height = axisY + 40 + foot.length * FOOT_LINE + 10;

  const values = c.bars.flatMap((b) => [b.value, b.hi ?? b.value, b.lo ?? b.value]).concat((c.refs ?? []).map((x) => x.value));
  const positive = values.filter((v) => v > 0);
  const log = Boolean(c.log) && positive.length > 0;
  let x: (v: number) => number;
  let ticks: number[];
  if (log) {
    ticks = logTicks(Math.min(...positive), Math.max(...positive));
    const lo = Math.log10(ticks[0]!);
    const hi = Math.log10(ticks[ticks.length - 1]!);
    x = (v) => left + ((Math.log10(Math.max(v, ticks[0]!)) - lo) / (hi - lo || 1)) * plotW;
  } else {
    ticks = niceTicks(0, Math.max(0, ...values));
    const hi = ticks[ticks.length - 1]!;
    x = (v) => left + (Math.max(0, v) / (hi || 1)) * plotW;
  }

  const out = header(height, c.title);
  if (hasLegend)
    out.push(
      ...legend(
        left,
        62,
        groups.map((g) => g || 'other'),
        groups.map((g) => color(g)),
      ),
    );
  for (const t of ticks) {
    out.push(`<line x1="${r(x(t))}" y1="${r(top - 4)}" x2="${r(x(t))}" y2="${r(axisY)}" stroke="#e4e4e4"/>`);
    out.push(text(x(t), axisY + 14, fmtNum(t), 'text-anchor="middle" fill="#555" font-size="11"'));
  }
  out.push(`<line x1="${left}" y1="${r(axisY)}" x2="${r(left + plotW)}" y2="${r(axisY)}" stroke="#999"/>`);
  out.push(text(left + plotW / 2, axisY + 32, c.unit, 'text-anchor="middle" fill="#333"'));
  c.bars.forEach((b, i) => {
    const y = top + i * row;
    const x0 = log ? left : x(0);
    const x1 = x(b.value);
    out.push(text(left - 8, y + 14, b.label, 'text-anchor="end" fill="#222"'));
    out.push(
      `<rect x="${r(x0)}" y="${r(y + 3)}" width="${r(Math.max(1, x1 - x0))}" height="15" fill="${color(b.group)}"><title>${esc(`${b.label}: ${b.text ?? fmtNum(b.value)}`)}</title></rect>`,
    );
    let end = x1;
    if (b.lo !== undefined && b.hi !== undefined && b.hi > b.lo) {
      const [wl, wh] = [x(b.lo), x(b.hi)];
      const cy = y + 10.5;
      out.push(`<line x1="${r(wl)}" y1="${r(cy)}" x2="${r(wh)}" y2="${r(cy)}" stroke="#222" stroke-width="1.2"/>`);
      out.push(`<line x1="${r(wl)}" y1="${r(cy - 4)}" x2="${r(wl)}" y2="${r(cy + 4)}" stroke="#222" stroke-width="1.2"/>`);
      out.push(`<line x1="${r(wh)}" y1="${r(cy - 4)}" x2="${r(wh)}" y2="${r(cy + 4)}" stroke="#222" stroke-width="1.2"/>`);
      end = Math.max(end, wh);
    }
    out.push(text(end + 6, y + 14, b.text ?? fmtNum(b.value), 'fill="#222" font-size="11"'));
  });
  for (const ref of c.refs ?? []) {
    const rx = x(ref.value);
    out.push(
      `<line x1="${r(rx)}" y1="${r(top - 6)}" x2="${r(rx)}" y2="${r(axisY)}" stroke="#c0392b" stroke-width="1.2" stroke-dasharray="5 4"/>`,
    );
    out.push(text(rx, top - 9, ref.label, 'text-anchor="middle" fill="#c0392b" font-size="10"'));
  }
  out.push(...footer(axisY + 52, foot), '</svg>');
  return out.join('\n') + '\n';
}

function histogram(c: HistogramChart, foot: readonly string[]): string {
  const left = 70;
  const right = 24;
  const top = 66;
  const plotW = W - left - right;
  const plotH = 260;
  const axisY = top + plotH;
  const height = axisY + 48 + foot.length * FOOT_LINE + 10;
  const nb = c.edges.length - 1;
  const maxCount = Math.max(1, ...c.series.flatMap((s) => s.counts));
  const yt = niceTicks(0, maxCount, 5);
  const yHi = yt[yt.length - 1]!;
  const y = (v: number) => axisY - (v / yHi) * plotH;
  const binW = plotW / Math.max(1, nb);
  const barW = (binW * 0.85) / Math.max(1, c.series.length);

  const out = header(height, c.title);
  out.push(
    ...legend(
      left,
      50,
      c.series.map((s) => s.label),
      PALETTE,
    ),
  );
  for (const t of yt) {
    out.push(`<line x1="${left}" y1="${r(y(t))}" x2="${r(left + plotW)}" y2="${r(y(t))}" stroke="#e4e4e4"/>`);
    out.push(text(left - 6, y(t) + 4, fmtNum(t), 'text-anchor="end" fill="#555" font-size="11"'));
  }
  c.series.forEach((s, si) => {
    s.counts.forEach((n, b) => {
      if (n <= 0) return;
      const bx = left + b * binW + binW * 0.075 + si * barW;
      out.push(
        `<rect x="${r(bx)}" y="${r(y(n))}" width="${r(Math.max(0.8, barW))}" height="${r(axisY - y(n))}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${s.label}: ${n} in [${fmtNum(c.edges[b]!)}, ${fmtNum(c.edges[b + 1]!)})`)}</title></rect>`,
      );
    });
  });
  const every = Math.max(1, Math.ceil(nb / 12));
  c.edges.forEach((e, i) => {
    if (i % every !== 0 && i !== nb) return;
    const ex = left + i * binW;
    out.push(`<line x1="${r(ex)}" y1="${r(axisY)}" x2="${r(ex)}" y2="${r(axisY + 4)}" stroke="#999"/>`);
    out.push(text(ex, axisY + 16, fmtNum(e), 'text-anchor="middle" fill="#555" font-size="11"'));
  });
  out.push(`<line x1="${left}" y1="${r(axisY)}" x2="${r(left + plotW)}" y2="${r(axisY)}" stroke="#999"/>`);
  out.push(text(left + plotW / 2, axisY + 34, c.xLabel, 'text-anchor="middle" fill="#333"'));
  out.push(text(18, top + plotH / 2, c.yLabel, `text-anchor="middle" fill="#333" transform="rotate(-90 18 ${r(top + plotH / 2)})"`));
  out.push(...footer(axisY + 52, foot), '</svg>');
  return out.join('\n') + '\n';
}

function lineChart(c: LineChart, foot: readonly string[]): string {
  const left = 70;
  const right = 24;
  const top = 66;
  const plotW = W - left - right;
  const plotH = 280;
  const axisY = top + plotH;
  const height = axisY + 48 + foot.length * FOOT_LINE + 10;
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = c.series.flatMap((s) => s.points.map((p) => p[1]));
  const xt = niceTicks(Math.min(0, ...xs), Math.max(1, ...xs), 8);
  const yt = niceTicks(Math.min(0, ...ys), Math.max(0, ...ys), 6);
  const [x0, x1, y0, y1] = [xt[0]!, xt[xt.length - 1]!, yt[0]!, yt[yt.length - 1]!];
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const py = (v: number) => axisY - ((v - y0) / (y1 - y0 || 1)) * plotH;

  const out = header(height, c.title);
  out.push(
    ...legend(
      left,
      50,
      c.series.map((s) => s.label),
      PALETTE,
      c.series.map((s) => Boolean(s.dashed)),
    ),
  );
  for (const t of yt) {
    out.push(`<line x1="${left}" y1="${r(py(t))}" x2="${r(left + plotW)}" y2="${r(py(t))}" stroke="#e4e4e4"/>`);
    out.push(text(left - 6, py(t) + 4, fmtNum(t), 'text-anchor="end" fill="#555" font-size="11"'));
  }
  for (const t of xt) {
    out.push(`<line x1="${r(px(t))}" y1="${r(axisY)}" x2="${r(px(t))}" y2="${r(axisY + 4)}" stroke="#999"/>`);
    out.push(text(px(t), axisY + 16, fmtNum(t), 'text-anchor="middle" fill="#555" font-size="11"'));
  }
  out.push(`<line x1="${left}" y1="${r(axisY)}" x2="${r(left + plotW)}" y2="${r(axisY)}" stroke="#999"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${r(axisY)}" stroke="#999"/>`);
  c.series.forEach((s, i) => {
    const col = PALETTE[i % PALETTE.length]!;
    const pts = s.points.map(([a, b]) => `${r(px(a))},${r(py(b))}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${col}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (!s.dashed) {
      for (const [a, b] of s.points) {
        out.push(
          `<circle cx="${r(px(a))}" cy="${r(py(b))}" r="3" fill="${col}"><title>${esc(`${s.label}: ${fmtNum(a)} -> ${fmtNum(b)}`)}</title></circle>`,
        );
      }
    }
  });
  out.push(text(left + plotW / 2, axisY + 34, c.xLabel, 'text-anchor="middle" fill="#333"'));
  out.push(text(18, top + plotH / 2, c.yLabel, `text-anchor="middle" fill="#333" transform="rotate(-90 18 ${r(top + plotH / 2)})"`));
  out.push(...footer(axisY + 52, foot), '</svg>');
  return out.join('\n') + '\n';
}

/** The SVG document of a chart, with `foot` lines (machine, command, spread) under it. */
export function renderSvg(chart: ChartSpec, foot: readonly string[] = []): string {
  switch (chart.kind) {
    case 'bar':
      return barChart(chart, foot);
    case 'histogram':
      return histogram(chart, foot);
    case 'line':
      return lineChart(chart, foot);
  }
}
