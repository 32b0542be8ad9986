// @xdp-lb/bench: the numbers behind `lb bench`. One call runs the benchmarks and writes the
// results folder (results.json, report.md, SVG figures); the pieces are exported for reuse.
export { runBench, selectBenchmarks, updateReadme, README_START, README_END, type BenchOptions, type BenchRun } from './run.js';
export { BENCHMARKS } from './benches/index.js';
export { ttyProgress, silentProgress, progressLine, type ProgressSink } from './progress.js';
export { ResultsSchema, RESULTS_SCHEMA_ID, type Results, type BenchmarkResult } from './schema.js';
export { renderReport, renderSummary, markdownTable, textTable } from './report.js';
export { renderSvg, niceTicks, fmtNum } from './svg.js';
export { summarize, median, quantile, percentile, mean, stddev, cv, maxOverMean, prng, type Stat } from './stats.js';
export { describeMachine, machineLine, type Machine } from './machine.js';
export { TOOLS, missingTools, aptHint, defaultResultsDir, type Tool } from './env.js';
export type { Benchmark, BenchContext, Section, ChartSpec, TableSpec, Headline } from './types.js';
