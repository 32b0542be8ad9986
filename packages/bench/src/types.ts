import type { Stat } from './stats.js';
import type { Machine } from './machine.js';
import type { Tool } from './env.js';

/** A table of a benchmark's results: rendered to Markdown in the report and aligned text on a terminal. */
export interface TableSpec {
  title: string;
  headers: string[];
  rows: (string | number)[][];
  /** Lines under the table (what a column means, how it was measured). */
  notes?: string[];
}

/** One bar: a median with its spread (whiskers from lo to hi). */
export interface Bar {
  label: string;
  value: number;
  lo?: number;
  hi?: number;
  /** Bars of one group share a colour and a legend entry. */
  group?: string;
  /** Text printed after the bar (default: the value). */
  text?: string;
}

export interface BarChart {
  kind: 'bar';
  /** File name inside the results folder, e.g. `per-packet.svg`. */
  file: string;
  title: string;
  /** What the whiskers and the figures are (printed under the chart), e.g. `median of 7 rounds; whiskers min–max`. */
  spread: string;
  /** Axis label, e.g. `ns per packet (median of 7 rounds; whiskers: min-max)`. */
  unit: string;
  bars: Bar[];
  /** Vertical reference lines (targets, a competitor's figure). */
  refs?: { value: number; label: string }[];
  /** Log scale for the value axis (values spanning orders of magnitude). */
  log?: boolean;
}

export interface HistogramChart {
  kind: 'histogram';
  file: string;
  title: string;
  spread: string;
  /** x axis label, e.g. `flows per backend / mean`. */
  xLabel: string;
  yLabel: string;
  /** Bin edges, ascending: bins.length = edges.length - 1. */
  edges: number[];
  series: { label: string; counts: number[] }[];
}

export interface LineChart {
  kind: 'line';
  file: string;
  title: string;
  spread: string;
  xLabel: string;
  yLabel: string;
  series: { label: string; points: [number, number][]; dashed?: boolean }[];
}

export type ChartSpec = BarChart | HistogramChart | LineChart;

/**
 * A headline figure: one line of the table printed at the end of `lb bench`, and of the summary
 * in the report. `target` is the goal; `better` says which way is good.
 */
export interface Headline {
  metric: string;
  value: number;
  unit: string;
  /** Spread, e.g. `min–max 38.2–41.0 over 7 rounds`. */
  spread?: string;
  target?: { value: number; better: 'lower' | 'higher'; text: string };
  /** value / reference (e.g. `0.82x the XDP_TX hairpin`). */
  ratio?: { value: number; of: string };
}

/** What a benchmark hands back: the report's section for it, and its raw data for the JSON. */
export interface Section {
  /** The findings, one sentence each (report and terminal). */
  summary: string[];
  /** How it was measured: method, rounds, what is and is not included (report). */
  method: string[];
  tables: TableSpec[];
  charts: ChartSpec[];
  headlines: Headline[];
  /** Everything measured, for results.json (samples included). */
  data: unknown;
  /** Problems that did not stop the benchmark (a sub-case skipped, a tool missing). */
  warnings?: string[];
}

export interface BenchContext {
  quick: boolean;
  machine: Machine;
  /** The exact command line of this run, e.g. `lb bench --quick`. */
  command: string;
  /** Reports progress inside the benchmark (0..1) and what it is doing. */
  progress(fraction: number, label: string): void;
  /** A line for the log (stderr), e.g. a sub-case skipped. */
  log(message: string): void;
  /** The directory results go to (benchmarks may write extra files, e.g. wrk output). */
  outDir: string;
  /** Path of the `lb` CLI entry (node script), to time `lb backend add` as a user runs it; optional. */
  cliMain?: string;
}

export interface Benchmark {
  /** Command-line name: `per-packet`, `spread`, ... */
  name: string;
  title: string;
  /** Rough duration in seconds (for the progress bar and the help text). */
  seconds: { quick: number; full: number };
  /** Programs it runs (wrk, nginx, ...): missing ones are reported with the apt-get line that installs them. */
  tools?: readonly Tool[];
  /** Why it cannot run here (missing privileges, objects, tools); null when it can. */
  unavailable(): string | null;
  run(ctx: BenchContext): Promise<Section>;
}

export type { Stat };
