import type { Strategy } from '@xdp-lb/core/strategy';
import { fileURLToPath } from 'node:url';
import { buildMaglevTable } from './maglev.js';
import { pickHash } from './model.js';
import { HashOptionsSchema, type HashOptions } from './options.js';

/** LB_SVC_F_HASH_SRC (bpf/include/lb_abi.h): hash the source address only. */
const LB_SVC_F_HASH_SRC = 1 << 0;
/** LB_SVC_F_HASH_DPORT: hash the destination port only. */
const LB_SVC_F_HASH_DPORT = 1 << 1;

/**
 * The hash strategy: Maglev consistent hashing of the flow (five-tuple or source address), so a
 * flow keeps its backend on every LB node and backend changes move about 1/N of the new flows.
 */
export const hash = {
  id: 'hash',
  description: 'Maglev consistent hashing of the five-tuple, the source address or the destination port',
  optionsSchema: HashOptionsSchema,
  // ../obj from src/ (tests, typecheck) and from dist/ (the published bundle) alike.
  objectPath: fileURLToPath(new URL('../obj/lb_hash.bpf.o', import.meta.url)),
  fragmentPath: fileURLToPath(new URL('../bpf/hash.bpf.c', import.meta.url)),
  buildTable: (backends, options) => buildMaglevTable(backends, options.tableSize),
  serviceFlags: (options) =>
    options.hashFields === 'source' ? LB_SVC_F_HASH_SRC : options.hashFields === 'destination-port' ? LB_SVC_F_HASH_DPORT : 0,
  model: (table, flow, options) => pickHash(table, flow.flowKey, flow.hashSeed, options.hashFields),
} satisfies Strategy<HashOptions>;
