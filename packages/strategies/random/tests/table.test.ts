import { describe, expect, it } from 'vitest';
import { slotCounts, tally, testBackends } from '@xdp-lb/core/strategy';
import { buildRandomTable } from '../src/index.js';

describe('buildRandomTable', () => {
  it('is empty for no backends (the data plane drops: no backend)', () => {
    expect(buildRandomTable([])).toEqual(new Uint32Array(0));
  });

  it('lists each backend once for equal weights, in key order', () => {
    const bs = testBackends(3, () => 7);
    expect([...buildRandomTable(bs)]).toEqual([100, 101, 102]);
  });

  it('is deterministic and independent of input order', () => {
    const bs = testBackends(20, (i) => 1 + (i % 4));
    const t = buildRandomTable(bs);
    expect(buildRandomTable([...bs].reverse())).toEqual(t);
    expect(buildRandomTable([...bs.slice(7), ...bs.slice(0, 7)])).toEqual(t);
  });

  it('gives uneven weights slots in exact proportion when they fit', () => {
    const bs = testBackends(3, (i) => [2, 4, 6][i]!);
    const c = tally(buildRandomTable(bs));
    expect([c.get(100), c.get(101), c.get(102)]).toEqual([1, 2, 3]);
  });

  it('scales weights that sum past maxSlots, keeping every backend at least once', () => {
    const bs = testBackends(4, (i) => [1, 1000, 50_000, 100_001][i]!);
    const t = buildRandomTable(bs, 1000);
    expect(t.length).toBe(1000);
    const c = tally(t);
    expect(c.get(100)).toBe(1); // its quota is 0.0066 slots: the minimum keeps it in
    const total = 1 + 1000 + 50_000 + 100_001;
    for (const b of bs.slice(1)) expect(Math.abs(c.get(b.id)! - (1000 * b.weight) / total)).toBeLessThanOrEqual(1);
  });

  it('caps at 65536 slots by default', () => {
    const c = tally(buildRandomTable(testBackends(2, (i) => [1, 100_000][i]!)));
    expect([c.get(100), c.get(101)]).toEqual([1, 65535]);
    // Scaled counts lose their common factor again: 65536:65537 is 1:1 to within one slot in 65536.
    expect(buildRandomTable(testBackends(2, (i) => [65536, 65537][i]!)).length).toBe(2);
  });

  it('refuses bad backends', () => {
    const [a, b] = testBackends(2);
    expect(() => buildRandomTable([a!, { ...b!, key: a!.key }])).toThrow(/listed twice/);
    expect(() => buildRandomTable([a!, { ...b!, weight: -1 }])).toThrow(/weight must be a positive integer/);
    expect(() => buildRandomTable(testBackends(5), 4)).toThrow(/5 backends need at least 5 slots/);
  });
});

describe('slotCounts', () => {
  it('divides by the common factor', () => {
    expect(slotCounts([3, 6, 9], 100)).toEqual([1, 2, 3]);
    expect(slotCounts([5], 100)).toEqual([1]);
  });

  it('scales to exactly maxSlots by largest remainder', () => {
    const c = slotCounts([333, 333, 334], 100);
    expect(c.reduce((s, x) => s + x, 0)).toBe(100);
    expect(c).toEqual([33, 33, 34]);
  });

  it('keeps every backend at one slot at least and still sums to maxSlots', () => {
    const c = slotCounts([1, 1, 1, 10_000], 10);
    expect(c).toEqual([1, 1, 1, 7]);
  });

  it('never strays more than one slot from the exact share (or below one slot)', () => {
    const weights = Array.from({ length: 500 }, (_, i) => 1 + ((i * 7919) % 997));
    const total = weights.reduce((s, w) => s + w, 0);
    const c = slotCounts(weights, 4096);
    expect(c.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(4096);
    const scale = c.reduce((s, x) => s + x, 0) / total;
    c.forEach((x, i) => expect(Math.abs(x - weights[i]! * scale)).toBeLessThan(1 + 1e-9));
  });
});
