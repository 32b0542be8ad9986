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
  return Array.from({ length: n }, (_, i) => ({
    id: 100 + i,
    key: `10.${(i >> 8) & 255}.${i & 255}.1:80`,
    weight: weight(i),
  }));
}

/** Slots per backend id. */
export function counts(table: Uint32Array): Map<number, number> {
  const c = new Map<number, number>();
  for (const id of table) c.set(id, (c.get(id) ?? 0) + 1);
  return c;
}

/** Fraction of slots whose backend differs. */
export function changed(a: Uint32Array, b: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d / a.length;
}

/** Fisher-Yates with the test PRNG. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const r = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = r() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Index of the first slot where two tables differ, -1 if they are equal (cheaper than toEqual). */
export function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
