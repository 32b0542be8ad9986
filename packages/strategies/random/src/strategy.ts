import type { Strategy } from '@xdp-lb/core/strategy';
import { fileURLToPath } from 'node:url';
import { pickRandom } from './model.js';
import { RandomOptionsSchema, type RandomOptions } from './options.js';
import { buildRandomTable } from './table.js';

/**
 * The random strategy: each new flow draws a backend at random (weighted by slots), once, and
 * conntrack keeps it there.
 */
export const random = {
  id: 'random',
  description: 'A random backend per new flow, weighted (drawn from the clock and the flow hash)',
  optionsSchema: RandomOptionsSchema,
  // ../obj from src/ (tests, typecheck) and from dist/ (the published bundle) alike.
  objectPath: fileURLToPath(new URL('../obj/lb_random.bpf.o', import.meta.url)),
  fragmentPath: fileURLToPath(new URL('../bpf/random.bpf.c', import.meta.url)),
  buildTable: (backends, options) => buildRandomTable(backends, options.maxSlots),
  serviceFlags: () => 0,
  model: (table, flow) => pickRandom(table, flow.random),
} satisfies Strategy<RandomOptions>;
