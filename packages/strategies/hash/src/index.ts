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
export { FLOW_WORDS, SRC_WORDS, flowHash, fmix32, murmur3 } from './flow-hash.js';
