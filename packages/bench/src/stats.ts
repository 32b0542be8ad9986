/**
 * The statistics every figure of the benchmarks is made of: a set of rounds summarised by its
 * median and its spread (min/max and the quartiles), and the spread measures of a load
 * distribution (max/mean, coefficient of variation). Pure functions, no I/O.
 */
import { prng as seededDraws } from '@xdp-lb/core/strategy';

/** A summary of repeated measurements of one quantity. */
export interface Stat {
  /** The figure reported: the median of the samples. */
  median: number;
  min: number;
  max: number;
  /** 25th and 75th percentiles (linear interpolation between closest ranks). */
  p25: number;
  p75: number;
  mean: number;
  /** Number of samples (rounds). */
  n: number;
  /** The samples, in the order they were taken. */
  samples: number[];
}

function sortedCopy(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/**
 * The q-quantile (0 <= q <= 1) of `xs` by linear interpolation between closest ranks (the
 * "R-7" definition of spreadsheets and numpy's default). NaN for an empty list.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (xs.length === 0) return NaN;
  const s = sortedCopy(xs);
  return quantileSorted(s, q);
}

/** quantile() of an already ascending list. */
export function quantileSorted(s: ArrayLike<number>, q: number): number {
  if (s.length === 0) return NaN;
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = s[lo]!;
  const b = s[hi]!;
  return a + (b - a) * (h - lo);
}

/** The median: the middle value, or the mean of the two middle values. NaN for an empty list. */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** The p-th percentile (0..100). */
export function percentile(xs: readonly number[], p: number): number {
  return quantile(xs, p / 100);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Population standard deviation (the load of every backend is known, not sampled). */
export function stddev(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / xs.length);
}

/** Coefficient of variation: stddev / mean (0 for a perfectly even spread). */
export function cv(xs: readonly number[]): number {
  const m = mean(xs);
  return m === 0 ? NaN : stddev(xs) / m;
}

/** max / mean: how much more than its fair share the busiest one gets (1 = perfectly even). */
export function maxOverMean(xs: readonly number[]): number {
  const m = mean(xs);
  return m === 0 ? NaN : Math.max(...xs) / m;
}

/** Summarises samples: median, min/max, quartiles, mean. Throws on an empty list or a NaN. */
export function summarize(samples: readonly number[]): Stat {
  if (samples.length === 0) throw new RangeError('no samples to summarize');
  if (samples.some((x) => Number.isNaN(x))) throw new RangeError('a sample is NaN');
  const s = sortedCopy(samples);
  return {
    median: quantileSorted(s, 0.5),
    min: s[0]!,
    max: s[s.length - 1]!,
    p25: quantileSorted(s, 0.25),
    p75: quantileSorted(s, 0.75),
    mean: mean(s),
    n: s.length,
    samples: [...samples],
  };
}

/** A Stat scaled by a constant (unit changes: ns -> us, pps -> Mpps). */
export function scaleStat(s: Stat, k: number): Stat {
  const f = (x: number) => x * k;
  const [lo, hi] = k >= 0 ? [s.min, s.max] : [s.max, s.min];
  const [q1, q3] = k >= 0 ? [s.p25, s.p75] : [s.p75, s.p25];
  return { median: f(s.median), min: f(lo), max: f(hi), p25: f(q1), p75: f(q3), mean: f(s.mean), n: s.n, samples: s.samples.map(f) };
}

/** "12.3 (11.9-12.8)": the median and the min-max range, with `digits` decimals. */
export function formatStat(s: Stat, digits = 1): string {
  if (s.n === 1) return s.median.toFixed(digits);
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * A seeded generator of numbers in [0, 1): the strategy kit's draws (mulberry32) over 2^32, so the
 * synthetic flows are the same on every run.
 */
export function prng(seed: number): () => number {
  const draw = seededDraws(seed);
  return () => draw() / 4294967296;
}

/** Fisher-Yates shuffle with a seeded generator (a copy; the input is left alone). */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
