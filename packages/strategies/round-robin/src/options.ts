import { z } from 'zod';

/**
 * The largest maxSlots. Building the smooth sequence costs (distinct weights) x (slots) steps, at
 * most sqrt(2 x slots) x slots: about 60 ms at the default 65536 in the worst case, 0.5 s here.
 */
export const ROUND_ROBIN_MAX_SLOTS = 1 << 18;

/** The round-robin strategy's defaults, in one place: the schema fills them in. */
export const ROUND_ROBIN_DEFAULTS = {
  /**
   * Cap on the slot table. Weights become slot counts (divided by their common factor); weights that
   * sum to more are scaled down to this many slots, every backend keeping at least one.
   */
  maxSlots: 65536,
} as const satisfies { maxSlots: number };

/** Options of the round-robin strategy (per service). See packages/strategies/round-robin/README.md. */
export const RoundRobinOptionsSchema = z.strictObject(
  {
    maxSlots: z
      .number()
      .int({ error: 'maxSlots must be an integer' })
      .min(1, { error: 'maxSlots must be at least 1' })
      .max(ROUND_ROBIN_MAX_SLOTS, {
        error: `maxSlots must be at most ${ROUND_ROBIN_MAX_SLOTS} (the smooth sequence costs distinct weights x slots to build)`,
      })
      .default(ROUND_ROBIN_DEFAULTS.maxSlots),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown round-robin option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: the round-robin strategy takes maxSlots (see @xdp-lb/strategy-round-robin README)`
        : undefined,
  },
);

/** Parsed random options (defaults filled in). */
export type RoundRobinOptions = z.infer<typeof RoundRobinOptionsSchema>;
