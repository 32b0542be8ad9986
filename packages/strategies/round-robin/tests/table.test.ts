import { describe, expect, it } from 'vitest';
import { tally, testBackends } from '@xdp-lb/core/strategy';
import { buildRoundRobinTable } from '../src/index.js';

describe('buildRoundRobinTable', () => {
  it('is empty for no backends (the data plane drops: no backend)', () => {
    expect(buildRoundRobinTable([])).toEqual(new Uint32Array(0));
  });

  it('lists equal-weight backends once each, in key order', () => {
    expect([...buildRoundRobinTable(testBackends(4, () => 3))]).toEqual([100, 101, 102, 103]);
  });

  it('orders backends by key, not by input order or id', () => {
    const bs = [
      { id: 9, key: '10.0.0.3:80', weight: 1 },
      { id: 4, key: '10.0.0.1:80', weight: 5 },
      { id: 7, key: '10.0.0.2:80', weight: 1 },
    ];
    expect([...buildRoundRobinTable(bs)]).toEqual([4, 4, 7, 4, 9, 4, 4]);
    expect(buildRoundRobinTable([...bs].reverse())).toEqual(buildRoundRobinTable(bs));
  });

  it('divides weights by their common factor (a shorter table, same shares)', () => {
    const c = tally(buildRoundRobinTable(testBackends(3, (i) => [10, 20, 30][i]!)));
    expect([c.get(100), c.get(101), c.get(102)]).toEqual([1, 2, 3]);
  });

  it('scales weights past maxSlots, keeping every backend and the proportions', () => {
    const bs = testBackends(3, (i) => [1, 30_000, 90_001][i]!);
    const t = buildRoundRobinTable(bs, 1000);
    expect(t.length).toBe(1000);
    const c = tally(t);
    expect(c.get(100)).toBe(1);
    expect(Math.abs(c.get(101)! - 250)).toBeLessThanOrEqual(1);
    expect(Math.abs(c.get(102)! - 749)).toBeLessThanOrEqual(1);
  });

  it('refuses bad backends', () => {
    const [a, b] = testBackends(2);
    expect(() => buildRoundRobinTable([a!, { ...b!, id: a!.id }])).toThrow(/given to two backends/);
    expect(() => buildRoundRobinTable([a!, { ...b!, weight: 0 }])).toThrow(/weight must be a positive integer/);
  });
});
