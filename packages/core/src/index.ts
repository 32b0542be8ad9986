// @xdp-lb/core: config, program lifecycle, hot updates and stats; the library behind the CLI.
export * from './config/address.js';
export * from './config/defaults.js';
export * from './config/errors.js';
export * from './config/load.js';
export * from './config/resolve.js';
export * from './config/schema.js';
export type * from './config/types.js';
export type * from './strategy/strategy.js';
export { StrategyContribution, StrategyRegistry } from './strategy/registry.js';
export { LoadBalancer } from './lifecycle/load-balancer.js';
export { LbError } from './lifecycle/errors.js';
export type { Mutation } from './lifecycle/mutations.js';
export type { DeployOptions, DeployResult } from './lifecycle/deploy.js';
export type { StatusView, CounterView } from './lifecycle/status.js';
export type { UndeployResult } from './lifecycle/undeploy.js';
export { coreModule, createLoadBalancer } from './di/module.js';
export * as Abi from './dataplane/abi.js';
export { instancePaths } from './state/paths.js';
