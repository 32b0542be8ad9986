import { z } from 'zod';

/** The largest maxSlots: slot[0] (the count) and the slots fill an inner map of LB_TABLE_MAX_SLOTS (1 << 24) entries. */
export const RANDOM_MAX_SLOTS = (1 << 24) - 1;

/** The random strategy's defaults, in one place: the schema fills them in. */
export const RANDOM_DEFAULTS = {
  /**
   * Cap on the slot table. Weights become slot counts (divided by their common factor); weights that
   * sum to more are scaled down to this many slots, every backend keeping at least one.
   */
  maxSlots: 65536,
} as const satisfies { maxSlots: number };

/** Options of the random strategy (per service). See packages/strategies/random/README.md. */
export const RandomOptionsSchema = z.strictObject(
  {
    maxSlots: z
      .number()
      .int({ error: 'maxSlots must be an integer' })
      .min(1, { error: 'maxSlots must be at least 1' })
      .max(RANDOM_MAX_SLOTS, { error: `maxSlots must be at most ${RANDOM_MAX_SLOTS} (a slot table holds 2^24 entries with its count)` })
      .default(RANDOM_DEFAULTS.maxSlots),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown random option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: the random strategy takes maxSlots (see @xdp-lb/strategy-random README)`
        : undefined,
  },
);

/** Parsed random options (defaults filled in). */
export type RandomOptions = z.infer<typeof RandomOptionsSchema>;
