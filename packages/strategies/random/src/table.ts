import type { StrategyBackend } from '@xdp-lb/core/strategy';
import { slotCounts, sortBackends } from '@xdp-lb/core/strategy';
import { RANDOM_DEFAULTS } from './options.js';

/**
 * The random strategy's slot table: each backend's id repeated in proportion to its weight, backends
 * in key order (so the table never depends on input order). Equal weights: each id once. Uneven
 * weights: the weights over their common factor, scaled down to at most `maxSlots` slots with every
 * backend keeping at least one. No backends: an empty table.
 */
export function buildRandomTable(backends: readonly StrategyBackend[], maxSlots: number = RANDOM_DEFAULTS.maxSlots): Uint32Array {
  const sorted = sortBackends(backends);
  const counts = slotCounts(
    sorted.map((b) => b.weight),
    maxSlots,
  );
  const table = new Uint32Array(counts.reduce((s, c) => s + c, 0));
  let at = 0;
  sorted.forEach((b, i) => {
    table.fill(b.id, at, at + counts[i]!);
    at += counts[i]!;
  });
  return table;
}
