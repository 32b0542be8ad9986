// @xdp-lb/core/strategy: what a strategy author needs, without the kernel-facing parts of core
// (importing it never loads the native addon, so table builders and models run anywhere).
export type * from './strategy.js';
export { slotCounts, sortBackends } from './kit-backends.js';
export { SlotTableOptionsSchema, weightedSlotTable } from './slot-table.js';
// The data plane's flow hash (bpf/include/lb_hash.h) and flow key (struct lb_flow), for every strategy's model.
export { FLOW_WORDS, SRC_WORDS, flowHash, fmix32, murmur3 } from './flow-hash.js';
export { flowKey, type FlowText } from './flow-key.js';
// Test support (seeded draws, backend fixtures, tallies) for any strategy's tests.
export { prng, tally, testBackends } from './kit-testing.js';
