// The LoadBalancer these suites deploy: core's one composition root (createLoadBalancer) with the
// three strategy packages, and testkit's plumbing bound to it. Core's own tests (packages/core/
// tests) cannot deploy: a program needs a strategy, the strategy packages depend on core, and core
// importing them would be an nx cycle. Hence this project of its own (see ../README.md).
import { createLoadBalancer, type LoadBalancer, type Strategy } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';
import { type AgentEnv, type E2e, useAgentEnv as useKitAgentEnv, useE2e as useKitE2e } from '@xdp-lb/testkit';

export * from '@xdp-lb/testkit';

/**
 * The strategies the suites deploy: the CLI's built-ins, so that the same program is assembled
 * (and the cache of compiled programs, /var/cache/xdp-lb/strategies, serves both after the first
 * compile). Not imported from the CLI: these tests are core's and must not select on CLI changes.
 */
export const STRATEGIES: readonly Strategy<any>[] = [hash, roundRobin, random];

export const composeLb = (): LoadBalancer => createLoadBalancer(STRATEGIES);
export const useE2e = (): E2e => useKitE2e(composeLb);
export const useAgentEnv = (): AgentEnv => useKitAgentEnv(composeLb);
