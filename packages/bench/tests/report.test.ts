import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownTable, renderReport, renderSummary, textTable, versusTarget } from '../src/report.js';
import { README_END, README_START, selectBenchmarks, updateReadme } from '../src/run.js';
import { type Results, RESULTS_SCHEMA_ID, ResultsSchema } from '../src/schema.js';

const results: Results = {
  schema: RESULTS_SCHEMA_ID,
  command: 'lb bench per-packet --quick',
  quick: true,
  names: ['per-packet'],
  startedAt: '2026-01-02T03:04:05.000Z',
  finishedAt: '2026-01-02T03:05:05.000Z',
  seconds: 60,
  machine: {
    cores: 2,
    cpuModel: 'Test CPU',
    kernel: '6.18.0',
    node: 'v20.19.0',
    memoryGiB: 8,
    hostname: 'h',
    loadStart: 0.1,
    loadEnd: 0.2,
  },
  notes: ['not installed: haproxy (the cases that need them are skipped): apt-get install haproxy'],
  benchmarks: [
    {
      name: 'per-packet',
      title: 'Per-packet cost',
      status: 'ok',
      seconds: 10,
      summary: ['hash established 38 ns'],
      method: ['repeat 1,000,000'],
      tables: [{ title: 'ns per packet', headers: ['case', 'ns'], rows: [['established | dsr', 38]] }],
      charts: [{ file: 'per-packet.svg', title: 'Per packet', kind: 'bar' }],
      headlines: [
        { metric: 'hash, established', value: 38, unit: 'ns', spread: '37–41', target: { value: 40, better: 'lower', text: '≤ 40 ns' } },
        {
          metric: 'forwarded',
          value: 8.1,
          unit: 'Mpps',
          ratio: { value: 0.81, of: 'the hairpin' },
          target: { value: 7, better: 'higher', text: '≥ 7' },
        },
      ],
      warnings: [],
      data: { anything: [1, 2, 3] },
    },
    {
      name: 'e2e',
      title: 'End to end',
      status: 'skipped',
      reason: 'missing wrk: apt-get install wrk',
      seconds: 0,
      summary: [],
      method: [],
      tables: [],
      charts: [],
      headlines: [],
      warnings: [],
      data: null,
    },
  ],
};

describe('report', () => {
  it('the schema accepts a run and rejects a broken one', () => {
    expect(ResultsSchema.parse(results)).toEqual(results);
    expect(() => ResultsSchema.parse({ ...results, schema: 'other' })).toThrow();
    expect(() =>
      ResultsSchema.parse({
        ...results,
        benchmarks: [{ ...results.benchmarks[0], charts: [{ file: '../x.svg', title: 't', kind: 'bar' }] }],
      }),
    ).toThrow();
  });

  it('report.md names the command, the machine, each benchmark, its figures and how to reproduce it', () => {
    const md = renderReport(results);
    expect(md).toContain('Command: `lb bench per-packet --quick`');
    expect(md).toContain('2 cores (Test CPU), Linux 6.18.0');
    expect(md).toContain('![Per packet](per-packet.svg)');
    expect(md).toContain('Reproduce: `lb bench per-packet --quick`');
    expect(md).toContain('established \\| dsr');
    expect(md).toContain('**skipped**: missing wrk: apt-get install wrk');
    expect(md).toContain('apt-get install haproxy');
    expect(md).toMatch(/\| per-packet \| hash, established \| 38 ns \|/);
  });

  it('the terminal summary has one line per headline and says where the results are', () => {
    const s = renderSummary(results, '/tmp/r');
    expect(s).toContain('hash, established');
    expect(s).toContain('0.81x the hairpin');
    expect(s).toContain('e2e: skipped: missing wrk');
    expect(s).toContain('/tmp/r/report.md');
  });

  it('targets: lower/higher is better, met or not', () => {
    expect(versusTarget(results.benchmarks[0]!.headlines[0]!)).toBe('0.95x the target: met');
    expect(versusTarget({ metric: 'm', value: 3, unit: '', target: { value: 0, better: 'lower', text: '0' } })).toBe('NOT met');
    expect(versusTarget({ metric: 'm', value: 6, unit: '', target: { value: 7, better: 'higher', text: '' } })).toContain('NOT met');
  });

  it('tables align and escape', () => {
    expect(markdownTable(['a', 'b'], [['x|y', 1]])).toBe('| a | b |\n|---|---|\n| x\\|y | 1 |');
    expect(textTable(['a', 'bb'], [['ccc', 'd']])).toBe('a    bb\nccc  d');
  });

  it('updateReadme replaces only the section between the markers, with links into the run folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xlbb-readme-'));
    try {
      const readme = join(dir, 'README.md');
      writeFileSync(readme, `# Bench\n\nintro\n\n${README_START}\nold\n${README_END}\n\ntail\n`);
      updateReadme(readme, join(dir, 'results', '2026-01-02-quick'), results);
      const text = readFileSync(readme, 'utf8');
      expect(text).toContain('intro');
      expect(text).toContain('tail');
      expect(text).not.toContain('\nold\n');
      expect(text).toContain('](results/2026-01-02-quick/per-packet.svg)');
      expect(text.indexOf(README_START)).toBeLessThan(text.indexOf(README_END));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown benchmark names are refused with the list of known ones', () => {
    expect(() => selectBenchmarks(['per-packet', 'nope'])).toThrow(/unknown benchmark\(s\): nope \(known: per-packet, spread/);
    expect(selectBenchmarks([]).map((b) => b.name)).toEqual([
      'per-packet',
      'spread',
      'disruption',
      'control-plane',
      'e2e',
      'packet-rate',
      'flow-sync',
    ]);
  });
});

describe('progress line', () => {
  it('draws a bar, the percentage, the elapsed time and the label, cut to the width', async () => {
    const { progressLine } = await import('../src/progress.js');
    expect(progressLine(0.5, 'per-packet: hash', 75, 100)).toBe('[############............]  50% 1:15 per-packet: hash');
    expect(progressLine(2, 'x', 0, 100)).toContain('100%');
    const cut = progressLine(0.1, 'a very long label '.repeat(10), 5, 60);
    expect(cut.length).toBeLessThanOrEqual(60);
    expect(cut.endsWith('…')).toBe(true);
  });
});
