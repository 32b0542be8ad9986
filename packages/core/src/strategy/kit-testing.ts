// Test support of the strategy kit: what every strategy's tests (the three built-in ones, a
// third-party package's, the benchmarks driving the models) need to check a table builder or a
// reference model reproducibly: seeded 32-bit draws, backend fixtures, and the tally of choices.
import type { StrategyBackend } from './strategy.js';

/**
 * A seeded pseudo-random generator (mulberry32) of unsigned 32-bit integers, the width of the
 * data plane's draws and hashes (StrategyFlowInput.random): the same sequence for a seed on every
 * run. Divide by 2 ** 32 for numbers in [0, 1).
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `n` backends with ids 100, 101, ..., keys `10.x.y.1:80` and weights `weight(i)` (default 1). */
export function testBackends(n: number, weight: (i: number) => number = () => 1): StrategyBackend[] {
  return Array.from({ length: n }, (_, i) => ({ id: 100 + i, key: `10.${(i >> 8) & 255}.${i & 255}.1:80`, weight: weight(i) }));
}

/** How often each backend id occurs: the slots of a table, or the picks of a model over many flows. */
export function tally(ids: Iterable<number>): Map<number, number> {
  const c = new Map<number, number>();
  for (const id of ids) c.set(id, (c.get(id) ?? 0) + 1);
  return c;
}
