import { describe, expect, it } from 'vitest';
import { esc, fmtNum, niceTicks, renderSvg } from '../src/svg.js';
import type { ChartSpec } from '../src/types.js';
import { checkXml } from './helpers/xml.js';

const foot = ['2 cores (Test CPU), Linux 6.18, Node v20', 'command: lb bench --quick', 'spread: median of 3 rounds; whiskers min–max'];

describe('SVG writer', () => {
  it('niceTicks covers the range with round steps', () => {
    expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1.2, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1, 1.2]);
    const t = niceTicks(0.85, 1.15, 6);
    expect(t[0]).toBeLessThanOrEqual(0.85);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(1.15);
    expect(niceTicks(5, 5).length).toBeGreaterThan(1);
  });

  it('fmtNum and esc', () => {
    expect(fmtNum(1_500_000)).toBe('1.5M');
    expect(fmtNum(25_000)).toBe('25k');
    expect(fmtNum(250)).toBe('250');
    expect(fmtNum(2.5)).toBe('2.5');
    expect(fmtNum(0.05)).toBe('0.05');
    expect(fmtNum(0)).toBe('0');
    expect(esc(`a<b & "c" 'd'>`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  });

  const charts: ChartSpec[] = [
    {
      kind: 'bar',
      file: 'bars.svg',
      title: 'ns per packet <by case> & "mode"',
      unit: 'ns per packet',
      spread: 'median of 3 rounds',
      bars: [
        { label: 'hash established', value: 38, lo: 37, hi: 41, group: 'hash' },
        { label: 'hash new flow', value: 104, lo: 100, hi: 120, group: 'hash' },
        { label: 'XDP_TX floor', value: 5, group: 'floor' },
      ],
      refs: [{ value: 40, label: 'target 40 ns' }],
    },
    {
      kind: 'bar',
      file: 'log.svg',
      title: 'log bars',
      unit: 'ms',
      spread: 's',
      log: true,
      bars: [
        { label: 'a', value: 0.5 },
        { label: 'b', value: 300, lo: 200, hi: 400 },
      ],
    },
    {
      kind: 'histogram',
      file: 'h.svg',
      title: 'load',
      xLabel: 'x',
      yLabel: 'backends',
      spread: 'exact',
      edges: [0.9, 0.95, 1, 1.05, 1.1],
      series: [
        { label: 'hash', counts: [1, 5, 6, 2] },
        { label: 'rr', counts: [0, 0, 14, 0] },
      ],
    },
    {
      kind: 'line',
      file: 'l.svg',
      title: 'remapped',
      xLabel: 'removed',
      yLabel: '%',
      spread: 'exact',
      series: [
        {
          label: 'hash',
          points: [
            [0, 0],
            [1, 1.5],
            [2, 3],
          ],
        },
        {
          label: 'ideal',
          points: [
            [0, 0],
            [2, 2],
          ],
          dashed: true,
        },
      ],
    },
  ];

  it.each(charts.map((c) => [c.kind, c] as const))('%s chart is well-formed SVG carrying the title, data and footer', (_k, c) => {
    const svg = renderSvg(c, foot);
    const x = checkXml(svg);
    expect(x.root).toBe('svg');
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    const text = x.texts.join('\n');
    for (const f of foot) expect(text).toContain(f.replace('&', '&amp;'));
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
    if (c.kind === 'bar') {
      expect(x.texts.some((t) => t.includes('&lt;by case&gt; &amp; &quot;mode&quot;')) || c.file !== 'bars.svg').toBe(true);
      expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThanOrEqual(c.bars.length + 1);
    }
    if (c.kind === 'line') expect(svg).toContain('stroke-dasharray');
  });

  it('copes with empty and degenerate data', () => {
    const empty = renderSvg({ kind: 'bar', file: 'e.svg', title: 'nothing', unit: 'x', spread: '', bars: [] });
    expect(checkXml(empty).root).toBe('svg');
    const zeros = renderSvg({
      kind: 'histogram',
      file: 'z.svg',
      title: 'z',
      xLabel: 'x',
      yLabel: 'y',
      spread: '',
      edges: [0, 1],
      series: [{ label: 's', counts: [0] }],
    });
    expect(checkXml(zeros).root).toBe('svg');
    expect(zeros).not.toContain('NaN');
  });

  it('the checker rejects what is not well-formed', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow();
    expect(() => checkXml('<svg a="1" a="2"/>')).toThrow();
    expect(() => checkXml('<svg>a & b</svg>')).toThrow();
    expect(() => checkXml('<svg x=1/>')).toThrow();
  });
});
