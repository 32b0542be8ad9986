import type { StrategyBackend } from './strategy.js';

/**
 * Checks the backends a table is built from and returns them ordered by key (UTF-16 code unit
 * order, locale independent), so a table never depends on the order of the input.
 */
export function sortBackends(backends: readonly StrategyBackend[]): StrategyBackend[] {
  const keys = new Set<string>();
  const ids = new Set<number>();
  for (const b of backends) {
    if (typeof b.key !== 'string' || b.key === '') throw new TypeError(`backend ${b.id}: key must be a non-empty string`);
    if (!Number.isInteger(b.id) || b.id < 0 || b.id > 0xffffffff) {
      throw new RangeError(`backend ${b.key}: id must be an integer in 0..4294967295, got ${b.id}`);
    }
    if (!Number.isSafeInteger(b.weight) || b.weight <= 0) {
      throw new RangeError(`backend ${b.key}: weight must be a positive integer, got ${b.weight}`);
    }
    if (keys.has(b.key)) throw new RangeError(`backend ${b.key} is listed twice`);
    if (ids.has(b.id)) throw new RangeError(`backend id ${b.id} is given to two backends`);
    keys.add(b.key);
    ids.add(b.id);
  }
  return [...backends].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Slots per backend (same order as `weights`) so that shares follow the weights: the weights over
 * their greatest common divisor when they sum to at most `maxSlots`; otherwise scaled to `maxSlots`
 * slots by largest remainders, every backend keeping at least one slot (so a backend's share is off
 * its weight's by at most one slot in `maxSlots`, or is one slot when its weight asks for less).
 */
export function slotCounts(weights: readonly number[], maxSlots: number): number[] {
  const n = weights.length;
  if (n === 0) return [];
  if (n > maxSlots) throw new RangeError(`${n} backends need at least ${n} slots; the table holds at most ${maxSlots}`);
  const g = weights.reduce(gcd);
  const reduced = weights.map((w) => w / g);
  const total = reduced.reduce((s, w) => s + w, 0);
  if (total <= maxSlots) return reduced;

  const quota = reduced.map((w) => (w * maxSlots) / total);
  const counts = quota.map((q) => Math.max(1, Math.floor(q)));
  let sum = counts.reduce((s, c) => s + c, 0);
  // Hand out what is left by largest remainder (ties: key order), or take back the slots that the
  // one-slot minimum pushed over the cap from the backends most above their quota.
  const order = quota.map((_, i) => i);
  if (sum < maxSlots) {
    order.sort((a, b) => quota[b]! - counts[b]! - (quota[a]! - counts[a]!) || a - b);
    for (let k = 0; sum < maxSlots; k = (k + 1) % n, sum++) counts[order[k]!]!++;
  }
  while (sum > maxSlots) {
    let worst = -1;
    for (let i = 0; i < n; i++) {
      if (counts[i]! > 1 && (worst < 0 || counts[i]! - quota[i]! > counts[worst]! - quota[worst]!)) worst = i;
    }
    counts[worst]!--;
    sum--;
  }
  const h = counts.reduce(gcd);
  return counts.map((c) => c / h);
}
