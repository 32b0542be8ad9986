import { describe, expect, it } from 'vitest';
import { cv, maxOverMean, mean, median, percentile, prng, quantile, scaleStat, shuffled, stddev, summarize } from '../src/stats.js';

describe('stats', () => {
  it('median: middle value, or the mean of the two middle values; order does not matter', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it('quantiles interpolate between closest ranks (R-7)', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(10);
    expect(percentile(xs, 25)).toBeCloseTo(3.25, 10);
    expect(percentile(xs, 75)).toBeCloseTo(7.75, 10);
    expect(percentile(xs, 90)).toBeCloseTo(9.1, 10);
    expect(() => quantile(xs, 1.5)).toThrow(RangeError);
  });

  it('summarize keeps the samples in order and reports median, quartiles and range', () => {
    const s = summarize([10, 30, 20, 50, 40]);
    expect(s).toEqual({ median: 30, min: 10, max: 50, p25: 20, p75: 40, mean: 30, n: 5, samples: [10, 30, 20, 50, 40] });
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, NaN])).toThrow(RangeError);
  });

  it('scaleStat changes units and keeps min <= max for negative factors', () => {
    const s = scaleStat(summarize([1, 2, 3]), -2);
    expect(s.min).toBe(-6);
    expect(s.max).toBe(-2);
    expect(s.median).toBe(-4);
  });

  it('spread measures: population stddev, CV, max/mean', () => {
    expect(mean([2, 4, 6])).toBe(4);
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(cv([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(0.4, 12);
    expect(cv([5, 5, 5])).toBe(0);
    expect(maxOverMean([1, 1, 1, 5])).toBe(2.5);
  });

  it('prng is seeded and uniform enough; shuffle is a permutation', () => {
    const a = prng(42);
    const b = prng(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 1);
    const p = shuffled([1, 2, 3, 4, 5, 6], prng(1));
    expect([...p].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
