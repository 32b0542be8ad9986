import type { Strategy } from '@xdp-lb/core/strategy';
import { fileURLToPath } from 'node:url';
import { pickRoundRobin } from './model.js';
import { RoundRobinOptionsSchema, type RoundRobinOptions } from './options.js';
import { buildRoundRobinTable } from './table.js';

/**
 * The round-robin strategy: new flows walk a smooth weighted round-robin table with one counter per
 * service shared by all CPUs; conntrack keeps each flow where it started.
 */
export const roundRobin = {
  id: 'round-robin',
  description: 'Smooth weighted round-robin over new flows (one atomic counter per service)',
  optionsSchema: RoundRobinOptionsSchema,
  // ../obj from src/ (tests, typecheck) and from dist/ (the published bundle) alike.
  objectPath: fileURLToPath(new URL('../obj/lb_round-robin.bpf.o', import.meta.url)),
  fragmentPath: fileURLToPath(new URL('../bpf/round-robin.bpf.c', import.meta.url)),
  buildTable: (backends, options) => buildRoundRobinTable(backends, options.maxSlots),
  serviceFlags: () => 0,
  model: (table, flow) => pickRoundRobin(table, flow.counter),
} satisfies Strategy<RoundRobinOptions>;
