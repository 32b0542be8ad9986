// The CI smoke test of `lb bench --quick`: a subset of the quick mode (under a minute here) runs for
// real and must produce a well-formed results folder. Speed is never asserted: the numbers of a CI
// machine mean nothing; that they exist, parse and say how they were made does.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelProblem } from '../src/env.js';
import { runBench } from '../src/run.js';
import { ResultsSchema } from '../src/schema.js';
import { checkXml } from './helpers/xml.js';

const SMOKE = ['per-packet', 'spread', 'control-plane', 'packet-rate'];
const COMMAND = `lb bench ${SMOKE.join(' ')} --quick`;
const kernel = kernelProblem();

/** packet-rate measured the LB for real: frames came back, none was lost, the generator's ceiling beside each rate. */
function expectRealRates(data: unknown): void {
  const { results } = data as {
    results: {
      key: string;
      kind: string;
      mpps: { median: number; n: number };
      genCeilingMpps: { median: number };
      frames: number;
      alive: number;
    }[];
  };
  const lb = results.filter((r) => r.kind === 'lb');
  expect(lb.map((r) => r.key)).toEqual(expect.arrayContaining(['lb-hash-dsr-one', 'lb-hash-dsr-new']));
  expect(results.map((r) => r.key)).toContain('hairpin');
  for (const r of results) {
    expect(r.mpps.n, r.key).toBeGreaterThan(0);
    expect(r.frames, r.key).toBeGreaterThan(1000);
    expect(r.mpps.median, r.key).toBeGreaterThan(0);
    expect(r.genCeilingMpps.median, r.key).toBeGreaterThan(0);
    expect(r.alive, `${r.key}: frames lost in the loop`).toBe(128);
  }
}

describe('lb bench --quick (smoke)', () => {
  it(`${COMMAND} writes results.json, report.md and SVG figures${kernel ? ` (kernel benchmarks skip: ${kernel})` : ''}`, async () => {
    const out = mkdtempSync(join(tmpdir(), 'xlbb-smoke-'));
    try {
      const r = await runBench({ names: SMOKE, quick: true, outDir: out, command: COMMAND });
      expect(r.dir.startsWith(out)).toBe(true);
      expect(r.dir).toMatch(/\/\d{4}-\d{2}-\d{2}-quick-per-packet-spread-control-plane-packet-rate$/);

      const parsed = ResultsSchema.parse(JSON.parse(readFileSync(join(r.dir, 'results.json'), 'utf8')));
      expect(parsed.command).toBe(COMMAND);
      expect(parsed.quick).toBe(true);
      expect(parsed.machine.cores).toBeGreaterThan(0);
      expect(parsed.benchmarks.map((b) => b.name)).toEqual(SMOKE);
      for (const b of parsed.benchmarks) {
        if (b.name === 'spread' || !kernel) expect(b.status, `${b.name}: ${b.reason ?? ''}`).toBe('ok');
        else expect(b.status).toBe('skipped');
        if (b.status !== 'ok') continue;
        expect(b.headlines.length, b.name).toBeGreaterThan(0);
        expect(b.tables.length, b.name).toBeGreaterThan(0);
        expect(b.method.length, b.name).toBeGreaterThan(0);
        for (const h of b.headlines) expect(Number.isFinite(h.value), h.metric).toBe(true);
        if (b.name === 'packet-rate') expectRealRates(b.data);
        expect(b.charts.length, b.name).toBeGreaterThan(0);
        for (const c of b.charts) {
          const svg = readFileSync(join(r.dir, c.file), 'utf8');
          const x = checkXml(svg);
          expect(x.root).toBe('svg');
          const text = x.texts.join('\n');
          expect(text).toContain(`command: ${COMMAND}`);
          expect(text).toMatch(/\d+ cores \(.*\), Linux /);
          expect(text).toMatch(/spread: /);
        }
      }
      const report = readFileSync(join(r.dir, 'report.md'), 'utf8');
      expect(report).toContain(`Command: \`${COMMAND}\``);
      for (const b of parsed.benchmarks) expect(report).toContain(`(\`${b.name}\`)`);
      for (const b of parsed.benchmarks) for (const c of b.charts) expect(report).toContain(`(${c.file})`);
      expect(r.summary).toContain(join(r.dir, 'report.md'));
      // Nothing of the run is left behind: its namespaces and its pin root are gone.
      const pins = existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf').filter((d) => d.startsWith(`xlb-bench-${process.pid}-`)) : [];
      expect(pins).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 170_000);
});
