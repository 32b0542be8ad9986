/**
 * `lb bench` as a library call: runs the chosen benchmarks one after another (each in its own
 * namespaces, torn down even when it fails), then writes the results folder:
 *   <out>/<YYYY-MM-DD>-<name>/results.json   every measurement, every round (schema.ts)
 *                             report.md      summary, figures, tables, method
 *                             *.svg          the figures
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BENCHMARKS } from './benches/index.js';
import { aptHint, defaultResultsDir, missingTools, type Tool, workspaceRoot } from './env.js';
import { describeMachine, loadAverage, machineLine } from './machine.js';
import { type ProgressSink, silentProgress } from './progress.js';
import { renderReport, renderSummary } from './report.js';
import { type BenchmarkResult, type Results, RESULTS_SCHEMA_ID, ResultsSchema } from './schema.js';
import { renderSvg } from './svg.js';
import type { BenchContext, Benchmark } from './types.js';

export interface BenchOptions {
  /** Benchmarks to run, by name (default: all, in the standard order). */
  names?: readonly string[];
  /** Fewer rounds, shorter runs, fewer combinations: the whole suite in under 3 minutes. */
  quick?: boolean;
  /** Parent folder of the results folder (default `<workspace>/bench/results`). */
  outDir?: string;
  /** The results folder's name after the date (default `quick`, `full`, or the names run). */
  label?: string;
  /** The command line to record (default `lb bench` + the options). */
  command?: string;
  /** Progress bar and log lines (default: nothing). */
  progress?: ProgressSink;
  /** The `lb` entry script, to time `lb backend add` as a user runs it (control-plane). */
  cliMain?: string;
  /**
   * Rewrites the "latest results" section of this README (between its markers) from the run;
   * `true`: the workspace's bench/README.md.
   */
  updateReadme?: string | boolean;
}

export interface BenchRun {
  /** The results folder. */
  dir: string;
  results: Results;
  /** The table to print at the end. */
  summary: string;
}

/** Benchmarks in run order; unknown names are an error that lists the known ones. */
export function selectBenchmarks(names: readonly string[] = []): Benchmark[] {
  if (names.length === 0) return [...BENCHMARKS];
  const known = new Map(BENCHMARKS.map((b) => [b.name, b]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${[...known.keys()].join(', ')})`);
  return BENCHMARKS.filter((b) => names.includes(b.name));
}

function defaultCommand(o: BenchOptions): string {
  return [
    'lb bench',
    ...(o.names ?? []),
    ...(o.quick ? ['--quick'] : []),
    ...(o.outDir ? ['--out', o.outDir] : []),
    ...(o.updateReadme === true ? ['--update-readme'] : []),
  ].join(' ');
}

function freshDir(parent: string, base: string): string {
  let dir = join(parent, base);
  for (let i = 2; existsSync(dir); i++) dir = join(parent, `${base}-${i}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs while the LB's pins and state live in directories of this run only (XDP_LB_BPFFS,
 * XDP_LB_STATE_DIR, read by core at call time), so a benchmark never touches a real deployment's
 * instances; both are removed afterwards.
 */
async function isolated<T>(fn: () => Promise<T>): Promise<T> {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const saved = { bpffs: process.env['XDP_LB_BPFFS'], state: process.env['XDP_LB_STATE_DIR'] };
  const bpffs = `/sys/fs/bpf/xlb-bench-${id}`;
  const state = `/tmp/xlb-bench-state-${id}`;
  process.env['XDP_LB_BPFFS'] = bpffs;
  process.env['XDP_LB_STATE_DIR'] = state;
  try {
    return await fn();
  } finally {
    for (const [k, v] of [
      ['XDP_LB_BPFFS', saved.bpffs],
      ['XDP_LB_STATE_DIR', saved.state],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(bpffs, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const benches = selectBenchmarks(options.names);
  const quick = Boolean(options.quick);
  const progress = options.progress ?? silentProgress;
  const command = options.command ?? defaultCommand(options);
  const machine = describeMachine();
  const started = new Date();
  const date = started.toISOString().slice(0, 10);
  const label = options.label ?? (options.names?.length ? `${quick ? 'quick-' : ''}${options.names.join('-')}` : quick ? 'quick' : 'full');
  const dir = freshDir(resolve(options.outDir ?? defaultResultsDir()), `${date}-${label}`.replace(/[^A-Za-z0-9._-]/g, '_'));

  const tools = [...new Map(benches.flatMap((b) => b.tools ?? []).map((t) => [t.command, t] as [string, Tool])).values()];
  const missing = missingTools(tools);
  const notes: string[] = [];
  if (missing.length) {
    notes.push(`not installed: ${missing.map((t) => t.command).join(', ')} (the cases that need them are skipped): ${aptHint(missing)}`);
    progress.log(`lb bench: ${notes[0]}`);
  }
  let readme: string | undefined;
  if (options.updateReadme === true) {
    const ws = workspaceRoot();
    if (!ws) throw new Error('--update-readme: not inside the xdp-lb repository (no bench/README.md to update)');
    readme = join(ws, 'bench', 'README.md');
  } else if (typeof options.updateReadme === 'string') readme = options.updateReadme;

  const total = benches.reduce((s, b) => s + (quick ? b.seconds.quick : b.seconds.full), 0);
  let doneWeight = 0;
  const out: BenchmarkResult[] = [];
  await isolated(async () => {
    for (const b of benches) {
      const weight = quick ? b.seconds.quick : b.seconds.full;
      const t0 = Date.now();
      const base = {
        name: b.name,
        title: b.title,
        summary: [],
        method: [],
        tables: [],
        charts: [],
        headlines: [],
        warnings: [],
        data: null,
      };
      const why = b.unavailable();
      if (why) {
        progress.log(`${b.name}: skipped: ${why}`);
        out.push({ ...base, status: 'skipped', reason: why, seconds: 0 });
        doneWeight += weight;
        continue;
      }
      const ctx: BenchContext = {
        quick,
        machine,
        command,
        outDir: dir,
        ...(options.cliMain ? { cliMain: options.cliMain } : {}),
        progress: (f, l) => progress.update((doneWeight + Math.max(0, Math.min(1, f)) * weight) / total, `${b.name}: ${l}`),
        log: (m) => progress.log(`${b.name}: ${m}`),
      };
      ctx.progress(0, 'starting');
      try {
        const s = await b.run(ctx);
        // A figure that could not be computed (NaN: a case failed) is dropped, not written as null.
        const bad = s.headlines.filter((h) => !Number.isFinite(h.value) || (h.target && !Number.isFinite(h.target.value)));
        const headlines = s.headlines.filter((h) => !bad.includes(h));
        const warnings = [...(s.warnings ?? []), ...bad.map((h) => `no value for "${h.metric}"`)];
        const foot = (spread: string) => [machineLine(machine), `command: ${command}`, `spread: ${spread}`];
        for (const c of s.charts) writeFileSync(join(dir, c.file), renderSvg(c, foot(c.spread)));
        out.push({
          name: b.name,
          title: b.title,
          status: 'ok',
          seconds: (Date.now() - t0) / 1000,
          summary: s.summary,
          method: s.method,
          tables: s.tables,
          charts: s.charts.map((c) => ({ file: c.file, title: c.title, kind: c.kind })),
          headlines,
          warnings,
          data: s.data,
        });
        progress.log(`${b.name}: done in ${Math.round((Date.now() - t0) / 1000)} s`);
      } catch (e) {
        const err = e as Error;
        progress.log(`${b.name}: FAILED: ${err.message.split('\n')[0]}`);
        out.push({ ...base, status: 'failed', reason: err.stack ?? err.message, seconds: (Date.now() - t0) / 1000 });
      }
      doneWeight += weight;
    }
  });
  progress.done();

  const finished = new Date();
  machine.loadEnd = loadAverage();
  const results: Results = ResultsSchema.parse(
    JSON.parse(
      JSON.stringify(
        {
          schema: RESULTS_SCHEMA_ID,
          command,
          quick,
          names: benches.map((b) => b.name),
          startedAt: started.toISOString(),
          finishedAt: finished.toISOString(),
          seconds: (finished.getTime() - started.getTime()) / 1000,
          machine,
          notes,
          benchmarks: out,
        },
        (_k, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? null : v),
      ),
    ),
  );
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  writeFileSync(join(dir, 'report.md'), renderReport(results));
  if (readme) updateReadme(readme, dir, results);
  return { dir, results, summary: renderSummary(results, dir) };
}

export const README_START = '<!-- latest-results:start -->';
export const README_END = '<!-- latest-results:end -->';

/**
 * Replaces the README's section between the markers with this run's report (links made relative
 * to the README). A README without the markers gets the section appended.
 */
export function updateReadme(readme: string, dir: string, r: Results): void {
  const rel = dir.startsWith(resolve(readme, '..') + '/') ? dir.slice(resolve(readme, '..').length + 1) : dir;
  const body = renderReport(r)
    .replace(/^# .*$/m, `### Latest recorded run: \`${rel}\``)
    .replace(/^## /gm, '#### ')
    .replace(/\]\(([a-z0-9][a-z0-9._-]*\.(?:svg|json|md))\)/g, `](${rel}/$1)`);
  const section = `${README_START}\n${body}\n${README_END}`;
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const i = text.indexOf(README_START);
  const j = text.indexOf(README_END);
  const next = i >= 0 && j > i ? text.slice(0, i) + section + text.slice(j + README_END.length) : `${text}\n${section}\n`;
  writeFileSync(readme, next);
}
