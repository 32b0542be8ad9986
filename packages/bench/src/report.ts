/**
 * The two renderings of a run: report.md (everything: summary, figures, tables, method) and the
 * aligned table printed at the end of `lb bench` (the headlines, against the targets).
 */
import { machineLine } from './machine.js';
import type { BenchmarkResult, Results } from './schema.js';
import type { Headline, TableSpec } from './types.js';

/** A value with sensible digits: 38.2, 1,234, 0.0123. */
export function fmtValue(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 10_000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toPrecision(4);
  return v.toPrecision(3);
}

/** "0.86x of the target (better)" style: how a headline stands against its target. */
export function versusTarget(h: Headline): string {
  if (!h.target) return '';
  const t = h.target;
  const met = t.better === 'lower' ? h.value <= t.value : h.value >= t.value;
  if (t.value === 0) return met ? 'met' : 'NOT met';
  return `${(h.value / t.value).toFixed(2)}x the target: ${met ? 'met' : 'NOT met'}`;
}

function mdCell(x: string | number): string {
  return String(x).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const lines = [`| ${headers.map(mdCell).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(mdCell).join(' | ')} |`);
  return lines.join('\n');
}

/** Aligned plain-text table for a terminal. */
export function textTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function headlineRows(bs: readonly BenchmarkResult[]): string[][] {
  const rows: string[][] = [];
  for (const b of bs) {
    for (const h of b.headlines) {
      rows.push([
        b.name,
        h.metric,
        `${fmtValue(h.value)} ${h.unit}`,
        h.spread ?? '',
        h.ratio ? `${h.ratio.value.toFixed(2)}x ${h.ratio.of}` : '',
        h.target ? `${h.target.text}; ${versusTarget(h)}` : '',
      ]);
    }
  }
  return rows;
}

const HEADLINE_HEADERS = ['benchmark', 'metric', 'value', 'spread', 'ratio', 'target'];

function tableMd(t: TableSpec): string {
  const out = [`**${t.title}**`, '', markdownTable(t.headers, t.rows)];
  if (t.notes?.length) out.push('', ...t.notes.map((n) => `_${n}_`));
  return out.join('\n');
}

/** report.md of a run. */
export function renderReport(r: Results): string {
  const out: string[] = [];
  const when = r.startedAt.slice(0, 16).replace('T', ' ');
  out.push(`# xdp-lb benchmarks, ${when} UTC (${r.quick ? 'quick' : 'full'})`, '');
  out.push(`- Command: \`${r.command}\``);
  out.push(`- Machine: ${machineLine(r.machine)}; ${r.machine.memoryGiB} GiB; load ${r.machine.loadEnd?.toFixed(2) ?? '?'} at the end`);
  out.push(`- Run: ${r.startedAt} to ${r.finishedAt} (${Math.round(r.seconds)} s)`);
  out.push(`- Raw data: [results.json](results.json) (every sample of every round)`);
  for (const n of r.notes) out.push(`- Note: ${n}`);
  out.push('');
  const rows = headlineRows(r.benchmarks);
  if (rows.length) out.push('## Headlines', '', markdownTable(HEADLINE_HEADERS, rows), '');
  for (const b of r.benchmarks) {
    out.push(`## ${b.title} (\`${b.name}\`)`, '');
    out.push(`Reproduce: \`lb bench ${b.name}${r.quick ? ' --quick' : ''}\``, '');
    if (b.status !== 'ok') {
      out.push(`**${b.status}**: ${b.reason ?? ''}`, '');
      continue;
    }
    for (const s of b.summary) out.push(`- ${s}`);
    if (b.summary.length) out.push('');
    for (const c of b.charts) out.push(`![${c.title}](${c.file})`, '');
    for (const t of b.tables) out.push(tableMd(t), '');
    if (b.warnings.length) out.push('Warnings:', '', ...b.warnings.map((w) => `- ${w}`), '');
    out.push('<details><summary>How it was measured</summary>', '', ...b.method.map((m) => `- ${m}`), '', '</details>', '');
  }
  return out.join('\n');
}

/** What `lb bench` prints at the end: one line per headline, then where the results are. */
export function renderSummary(r: Results, dir: string): string {
  const out: string[] = [];
  const rows = headlineRows(r.benchmarks);
  if (rows.length)
    out.push(
      textTable(
        HEADLINE_HEADERS.filter((h) => h !== 'spread'),
        rows.map((x) => [x[0]!, x[1]!, x[2]!, x[4]!, x[5]!]),
      ),
    );
  for (const n of r.notes) out.push(`note: ${n}`);
  const other = r.benchmarks.filter((b) => b.status !== 'ok');
  for (const b of other) out.push(`${b.name}: ${b.status}: ${b.reason ?? ''}`);
  for (const b of r.benchmarks) for (const w of b.warnings) out.push(`${b.name}: warning: ${w}`);
  out.push(
    `results: ${dir}/report.md (${r.benchmarks.reduce((n, b) => n + b.charts.length, 0)} charts, results.json) in ${Math.round(r.seconds)} s`,
  );
  return out.join('\n');
}
