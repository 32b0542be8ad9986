import { z } from 'zod';
import { tableSizeProblem } from './maglev.js';

/** What the flow hash covers: the whole five-tuple, the source address only (client affinity), or
 * the destination port only (Katran's dport-only hashing: with an any-port VIP, one backend per port). */
export const HASH_FIELDS = ['five-tuple', 'source', 'destination-port'] as const;
export type HashFields = (typeof HASH_FIELDS)[number];

/** The hash strategy's defaults, in one place: the schema fills them in. */
export const HASH_DEFAULTS = {
  /** Maglev table size M: a prime, at least 100 x the active backends (65537 serves up to 655). */
  tableSize: 65537,
  hashFields: 'five-tuple',
} as const satisfies { tableSize: number; hashFields: HashFields };

/** Options of the hash strategy (per service). See packages/strategies/hash/README.md. */
export const HashOptionsSchema = z.strictObject(
  {
    tableSize: z
      .number()
      .int({ error: 'tableSize must be an integer' })
      .superRefine((value, ctx) => {
        const problem = tableSizeProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(HASH_DEFAULTS.tableSize),
    hashFields: z
      .enum(HASH_FIELDS, { error: () => `hashFields must be one of ${HASH_FIELDS.map((f) => `'${f}'`).join(', ')}` })
      .default(HASH_DEFAULTS.hashFields),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown hash option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: the hash strategy takes tableSize and hashFields (see @xdp-lb/strategy-hash README)`
        : undefined,
  },
);

/** Parsed hash options (defaults filled in). */
export type HashOptions = z.infer<typeof HashOptionsSchema>;
