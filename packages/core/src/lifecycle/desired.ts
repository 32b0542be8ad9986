import { resolveConfig } from '../config/resolve.js';
import type { LbConfig } from '../config/types.js';
import { type Allocation, type Capacity, serviceIdentity } from '../state/allocation.js';
import type { InstanceState } from '../state/store.js';
import type { Strategy } from '../strategy/strategy.js';
import { LbError } from './errors.js';
import type { Desired } from './reconcile.js';

/** The data plane's sizes (bpf/include/lb_abi.h defaults). */
export function capacity(): Capacity {
  return { maxServices: 512, maxBackends: 4096 };
}

/** What a saved state asked the maps to say (its config was validated when it was applied). */
export function desiredOf(state: InstanceState): Desired {
  return { config: resolveConfig(state.config, { source: 'saved state' }), allocation: state.allocation };
}

/** Builds every table once before the kernel is touched, so a builder's refusal changes nothing. */
export function validateTables(cfg: LbConfig, strategy: Strategy<any>, allocation: Allocation): void {
  for (const svc of cfg.services) {
    const alloc = allocation.services[serviceIdentity(svc)]!;
    const active = svc.backends.filter((b) => b.state === 'active').map((b) => ({ id: alloc.backends[b.key]!.id, key: b.key, weight: b.weight }));
    try {
      strategy.buildTable(active, svc.options);
    } catch (e) {
      throw new LbError(`service ${svc.name}: ${(e as Error).message}`, 'EINVAL');
    }
  }
}
