import { createLoadBalancer, type LoadBalancer, type Strategy } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';

/** The built-in strategies, contributed to core's registry. */
export const BUILTIN_STRATEGIES: readonly Strategy<any>[] = [hash, roundRobin, random];

/**
 * The CLI's load balancer: core's one composition root (createLoadBalancer) with the built-in
 * strategies. (The CLI had a copy of that root; a second container setup could only drift.)
 */
export function composeLoadBalancer(): LoadBalancer {
  return createLoadBalancer(BUILTIN_STRATEGIES);
}
