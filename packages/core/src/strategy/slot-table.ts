import type { StrategyBackend } from './strategy.js';

/**
 * The generic weighted slot table: each backend appears in proportion to its weight (weights
 * divided by their gcd, scaled down to at most `maxSlots` slots, every backend at least once),
 * ordered by backend key so equal input gives an equal table. Third-party fragments that bring no
 * table builder of their own get this one.
 */
export function weightedSlotTable(backends: readonly StrategyBackend[], maxSlots = 65536): Uint32Array {
  const sorted = [...backends].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (sorted.length === 0) return new Uint32Array(0);
  const g = sorted.reduce((acc, b) => gcd(acc, b.weight), 0);
  const total = sorted.reduce((acc, b) => acc + b.weight / g, 0);
  const scale = total > maxSlots ? maxSlots / total : 1;
  const counts = sorted.map((b) => Math.max(1, Math.floor((b.weight / g) * scale)));
  const out = new Uint32Array(counts.reduce((a, c) => a + c, 0));
  let i = 0;
  sorted.forEach((b, j) => {
    for (let k = 0; k < counts[j]!; k++) out[i++] = b.id;
  });
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
