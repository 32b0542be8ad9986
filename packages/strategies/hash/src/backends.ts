import type { StrategyBackend } from '@xdp-lb/core';

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
