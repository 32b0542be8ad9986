import { fileURLToPath } from 'node:url';
import { BUILTIN_STRATEGIES } from '@xdp-lb/builtins';
import { createLoadBalancer, type LoadBalancer } from '@xdp-lb/core';

/** The built-in strategies (@xdp-lb/builtins, their one registration), contributed to core's registry. */
export { BUILTIN_STRATEGIES };

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
