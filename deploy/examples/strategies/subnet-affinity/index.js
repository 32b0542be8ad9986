// An example third-party strategy as a package (bpf/README.md "Writing a strategy"): the BPF
// fragment (bpf/subnet-affinity.bpf.c) and its TypeScript half in plain JavaScript, so that it
// needs no build. A service names it by the package (`strategy: xdp-lb-strategy-subnet-affinity`
// once installed) or by this folder's path; xdp-lb assembles the fragment with the built-ins into
// one program, and each service picks its own strategy.
import { fileURLToPath } from 'node:url';
import { flowHash, SlotTableOptionsSchema, SRC_WORDS, weightedSlotTable } from '@xdp-lb/core/strategy';

// The generic slot table's options (maxSlots), as core's table builder takes them.
const OptionsSchema = SlotTableOptionsSchema;

/**
 * The model of select_backend(): lb_hash_words over the client's address with its host part zeroed
 * (IPv4-mapped: the /24, bytes 12-14 kept; IPv6: the /64, bytes 0-7 kept), then slot h % n.
 */
export function pickSubnet(table, flowKey, seed) {
  if (table.length === 0) return undefined;
  const src = Uint8Array.from(flowKey.subarray(0, 16));
  const v4 = src[10] === 0xff && src[11] === 0xff && src.subarray(0, 10).every((b) => b === 0);
  if (v4) src[15] = 0;
  else src.fill(0, 8);
  return table[flowHash(src, seed, SRC_WORDS) % table.length];
}

/** @type {import('@xdp-lb/core/strategy').Strategy<{ maxSlots: number }>} */
export const strategy = {
  id: 'subnet-affinity',
  description: 'every client of one IPv4 /24 (IPv6 /64) to the same backend (an example third-party strategy)',
  optionsSchema: OptionsSchema,
  // The fragment compiled alone is not shipped: xdp-lb assembles fragmentPath with the others.
  objectPath: '',
  fragmentPath: fileURLToPath(new URL('./bpf/subnet-affinity.bpf.c', import.meta.url)),
  buildTable: (backends, options) => weightedSlotTable(backends, options.maxSlots),
  serviceFlags: () => 0,
  model: (table, flow) => pickSubnet(table, flow.flowKey, flow.hashSeed),
};
