import type { LbConfig } from '../config/types.js';
import { defaultServiceName } from '../config/resolve.js';

/**
 * Ids the data plane knows services and backends by. Kept across updates and re-deploys so that
 * conntrack entries keep pointing at the same backend; a backend id given to a new backend gets a
 * new `gen`, so a flow tracked on the previous holder of the id is re-balanced, never misdelivered.
 */
export interface Allocation {
  /** Next generation number: monotonically increasing over the instance's life. */
  nextGen: number;
  /** By service identity ("vip:port/proto"). */
  services: Record<string, ServiceAllocation>;
}

export interface ServiceAllocation {
  id: number;
  /** By backend key ("addr:port"). */
  backends: Record<string, { id: number; gen: number }>;
}

export interface Capacity {
  maxServices: number;
  maxBackends: number;
}

export class CapacityError extends Error {}

export function serviceIdentity(s: Parameters<typeof defaultServiceName>[0]): string {
  return defaultServiceName(s);
}

/** Allocation for `cfg`, reusing every id of `prev` that still names the same thing. Pure. */
export function allocate(prev: Allocation | undefined, cfg: LbConfig, cap: Capacity): Allocation {
  const old = prev?.services ?? {};
  let nextGen = prev?.nextGen ?? 1;
  const services: Record<string, ServiceAllocation> = {};
  const usedSvc = new Set<number>();
  const usedBe = new Set<number>();
  // Pass 1: keep what survives, so that new things never take a surviving id.
  for (const s of cfg.services) {
    const key = serviceIdentity(s);
    const o = old[key];
    if (!o) continue;
    services[key] = { id: o.id, backends: {} };
    usedSvc.add(o.id);
    for (const b of s.backends) {
      const ob = o.backends[b.key];
      if (ob) {
        services[key]!.backends[b.key] = ob;
        usedBe.add(ob.id);
      }
    }
  }
  // Ids of removed things are not reused in the same update: the reconciler writes the new holder
  // of an id before it removes the old one (additions first, removals last), so a shared id would
  // have its new table cleared, or its new backend zeroed, by the removal (a blackhole that
  // nothing reported). A later update may reuse them: by then nothing of their old life runs (the
  // old service's entry is gone; a backend's gen bump re-balances flows tracked on the old one).
  for (const o of Object.values(old)) {
    usedSvc.add(o.id);
    for (const b of Object.values(o.backends)) usedBe.add(b.id);
  }
  const nextFree = (used: Set<number>, max: number, what: string) => {
    for (let i = 0; i < max; i++) if (!used.has(i)) return used.add(i), i;
    throw new CapacityError(`too many ${what}: the data plane holds at most ${max}`);
  };
  const liveSvc = () => new Set(Object.values(services).map((x) => x.id));
  // Pass 2: give new things free ids.
  for (const s of cfg.services) {
    const key = serviceIdentity(s);
    if (!services[key]) {
      let id: number;
      try {
        id = nextFree(usedSvc, cap.maxServices, 'services');
      } catch {
        // Out of never-used ids: an id freed by this update (the reconciler then removes the old
        // service before it fills the id again: reconcile.ts).
        id = nextFree(liveSvc(), cap.maxServices, 'services');
        usedSvc.add(id);
      }
      services[key] = { id, backends: {} };
    }
    for (const b of s.backends) {
      if (services[key]!.backends[b.key]) continue;
      let id: number;
      try {
        id = nextFree(usedBe, cap.maxBackends, 'backends');
      } catch {
        // Out of never-used ids: fall back to ids freed by this update (their gen changes).
        const live = new Set(Object.values(services).flatMap((x) => Object.values(x.backends).map((y) => y.id)));
        id = nextFree(live, cap.maxBackends, 'backends');
      }
      services[key]!.backends[b.key] = { id, gen: nextGen++ };
    }
  }
  return { nextGen, services };
}
