import { fileURLToPath } from 'node:url';
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
  const lb = createLoadBalancer(BUILTIN_STRATEGIES);
  // The built-ins' program, prebuilt by `nx run cli:build-bpf` (scripts/build-program.mjs): ../obj
  // from dist/ (the binary) and from src/ (tests) alike.
  lb.strategies.prebuiltDirs.push(fileURLToPath(new URL('../obj', import.meta.url)));
  return lb;
}
