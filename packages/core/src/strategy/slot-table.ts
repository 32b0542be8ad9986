import { z } from 'zod';
import { slotCounts, sortBackends } from './kit-backends.js';
import type { StrategyBackend } from './strategy.js';

/** The generic slot table's options: a third-party fragment without a table builder of its own takes these. */
export const SlotTableOptionsSchema = z.strictObject({
  maxSlots: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(65536),
});

/**
 * The generic weighted slot table: each backend appears in proportion to its weight (see
 * slotCounts), grouped and ordered by backend key so that equal input gives an equal table.
 * Third-party fragments that bring no table builder of their own get this one.
 */
export function weightedSlotTable(backends: readonly StrategyBackend[], maxSlots = 65536): Uint32Array {
  const sorted = sortBackends(backends);
  const counts = slotCounts(
    sorted.map((b) => b.weight),
    maxSlots,
  );
  const out = new Uint32Array(counts.reduce((a, c) => a + c, 0));
  let i = 0;
  sorted.forEach((b, j) => out.fill(b.id, i, (i += counts[j]!)));
  return out;
}
