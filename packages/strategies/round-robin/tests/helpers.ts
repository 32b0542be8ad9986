import type { StrategyBackend } from '@xdp-lb/core';

/** A deterministic 32-bit PRNG (mulberry32): tests are reproducible. */
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

/** n backends 10.x.y.1:80 with ids 100, 101, ... and the given weights (default 1). */
export function backends(n: number, weight: (i: number) => number = () => 1): StrategyBackend[] {
  return Array.from({ length: n }, (_, i) => ({ id: 100 + i, key: `10.${(i >> 8) & 255}.${i & 255}.1:80`, weight: weight(i) }));
}

/** Slots (or picks) per backend id. */
export function counts(ids: Iterable<number>): Map<number, number> {
  const c = new Map<number, number>();
  for (const id of ids) c.set(id, (c.get(id) ?? 0) + 1);
  return c;
}
