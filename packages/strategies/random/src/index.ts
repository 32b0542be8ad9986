export { random } from './strategy.js';
export { RANDOM_MAX_SLOTS, RANDOM_DEFAULTS, RandomOptionsSchema, type RandomOptions } from './options.js';
export { buildRandomTable } from './table.js';
export { pickRandom, randomDraw } from './model.js';
