// @xdp-lb/core: the program lifecycle behind the CLI, usable as a library.
export * from './config/address.js';
export * from './config/defaults.js';
export * from './config/errors.js';
export * from './config/load.js';
export * from './config/resolve.js';
export * from './config/schema.js';
export type * from './config/types.js';
export type * from './strategy/strategy.js';
