// The LoadBalancer these suites deploy: core's one composition root (createLoadBalancer) with the
// built-in strategies (@xdp-lb/builtins, their one registry), and testkit's plumbing bound to it. Core's own tests (packages/core/
// tests) cannot deploy: a program needs a strategy, the strategy packages depend on core, and core
// importing them would be an nx cycle. Hence this project of its own (see ../README.md).
import { createLoadBalancer, type LoadBalancer, type Strategy } from '@xdp-lb/core';
import { BUILTIN_STRATEGIES } from '@xdp-lb/builtins';
import { type AgentEnv, type E2e, useAgentEnv as useKitAgentEnv, useE2e as useKitE2e } from '@xdp-lb/testkit';

export * from '@xdp-lb/testkit';

/**
 * The strategies the suites deploy: the built-ins the CLI ships, from their registry (not from the
 * CLI: these tests are core's and must not select on CLI changes), so that the same program is
 * assembled and the cache of compiled programs (/var/cache/xdp-lb/strategies) serves both.
 */
export const STRATEGIES: readonly Strategy<any>[] = BUILTIN_STRATEGIES;

export const composeLb = (): LoadBalancer => createLoadBalancer(STRATEGIES);
export const useE2e = (): E2e => useKitE2e(composeLb);
export const useAgentEnv = (): AgentEnv => useKitAgentEnv(composeLb);
