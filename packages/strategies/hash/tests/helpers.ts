// Helpers of the Maglev table tests. The ones every strategy's tests use (seeded draws, backend
// fixtures, tallies) are the strategy kit's: @xdp-lb/core/strategy.
import { prng } from '@xdp-lb/core/strategy';

/** Fraction of slots whose backend differs. */
export function changed(a: Uint32Array, b: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d / a.length;
}

/** Fisher-Yates with the kit's seeded draws. */
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
