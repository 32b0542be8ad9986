/**
 * The shape of results.json (zod): what a run wrote, checked before it is written and by the
 * smoke test. `data` is each benchmark's raw measurements (samples included) and is free-form.
 */
import { z } from 'zod';

export const RESULTS_SCHEMA_ID = 'xdp-lb-bench/1';

export const MachineSchema = z.object({
  cores: z.number().int().positive(),
  cpuModel: z.string(),
  kernel: z.string().min(1),
  node: z.string(),
  memoryGiB: z.number(),
  hostname: z.string(),
  loadStart: z.number(),
  loadEnd: z.number().optional(),
});

export const TableSchema = z.object({
  title: z.string(),
  headers: z.array(z.string()).min(1),
  rows: z.array(z.array(z.union([z.string(), z.number()]))),
  notes: z.array(z.string()).optional(),
});

export const HeadlineSchema = z.object({
  metric: z.string(),
  value: z.number(),
  unit: z.string(),
  spread: z.string().optional(),
  target: z.object({ value: z.number(), better: z.enum(['lower', 'higher']), text: z.string() }).optional(),
  ratio: z.object({ value: z.number(), of: z.string() }).optional(),
});

export const ChartRefSchema = z.object({
  file: z.string().regex(/^[a-z0-9][a-z0-9._-]*\.svg$/),
  title: z.string(),
  kind: z.enum(['bar', 'histogram', 'line']),
});

export const BenchmarkResultSchema = z.object({
  name: z.string(),
  title: z.string(),
  status: z.enum(['ok', 'skipped', 'failed']),
  /** Why it was skipped or how it failed. */
  reason: z.string().optional(),
  seconds: z.number().nonnegative(),
  summary: z.array(z.string()),
  method: z.array(z.string()),
  tables: z.array(TableSchema),
  charts: z.array(ChartRefSchema),
  headlines: z.array(HeadlineSchema),
  warnings: z.array(z.string()),
  data: z.unknown(),
});

export const ResultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA_ID),
  /** The command line as typed, e.g. `lb bench --quick`. */
  command: z.string().min(1),
  quick: z.boolean(),
  names: z.array(z.string()),
  startedAt: z.string().datetime(),
  finishedAt: z.string().datetime(),
  seconds: z.number().nonnegative(),
  machine: MachineSchema,
  /** Things about the run as a whole (tools missing, ...). */
  notes: z.array(z.string()),
  benchmarks: z.array(BenchmarkResultSchema),
});

export type Results = z.infer<typeof ResultsSchema>;
export type BenchmarkResult = z.infer<typeof BenchmarkResultSchema>;
