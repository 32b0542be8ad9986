export { roundRobin } from './strategy.js';
export { ROUND_ROBIN_MAX_SLOTS, ROUND_ROBIN_DEFAULTS, RoundRobinOptionsSchema, type RoundRobinOptions } from './options.js';
export { buildRoundRobinTable, smoothWeightedSequence } from './table.js';
export { pickRoundRobin } from './model.js';
