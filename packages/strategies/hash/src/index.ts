export { hash } from './strategy.js';
export { HASH_DEFAULTS, HASH_FIELDS, HashOptionsSchema, type HashFields, type HashOptions } from './options.js';
export {
  MAGLEV_MAX_TABLE_SIZE,
  MAGLEV_OFFSET_SEED,
  MAGLEV_SKIP_SEED,
  MAGLEV_SLOTS_PER_BACKEND,
  buildMaglevTable,
  isPrime,
  nextPrime,
} from './maglev.js';
export { pickHash } from './model.js';
// The data plane's flow hash lives in core's strategy kit (one home for every strategy); kept here for users of this package.
export { FLOW_WORDS, SRC_WORDS, flowHash, fmix32, murmur3 } from '@xdp-lb/core/strategy';
