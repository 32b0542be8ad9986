import type { LbConfig } from '../config/types.js';
import { defaultServiceName } from '../config/resolve.js';
import { checkVipCapacity, type VipCapacity } from '../config/vip-capacity.js';

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
  /**
   * Service ids removed from use, with when (ms since the epoch). Conntrack entries carry their
   * service's id (the counters they are charged to): until they have expired, a new service does
   * not take the id (unless every other id is in use), so none of an old flow's packets is ever
   * counted to a newcomer.
   */
  retired?: Record<string, number>;
}

export interface ServiceAllocation {
  id: number;
  /** By backend key ("addr:port"). */
  backends: Record<string, { id: number; gen: number }>;
}

export interface Capacity {
  maxServices: number;
  maxBackends: number;
  /** The VIP maps' sizes (prefix VIPs take a key per address); unchecked when absent. */
  vip?: VipCapacity;
}

export class CapacityError extends Error {}

export function serviceIdentity(s: Parameters<typeof defaultServiceName>[0]): string {
  return defaultServiceName(s);
}

/** How long a removed service's id rests: the longest a flow of it can stay tracked, and a minute. */
export function retireMs(cfg: LbConfig): number {
  return Math.max(cfg.limits.tcpTimeoutSec, cfg.limits.udpTimeoutSec, cfg.limits.tcpClosingTimeoutSec) * 1000 + 60_000;
}

/** Allocation for `cfg`, reusing every id of `prev` that still names the same thing. Pure (`now` given). */
export function allocate(prev: Allocation | undefined, cfg: LbConfig, cap: Capacity, now = Date.now()): Allocation {
  if (cap.vip) {
    const problems: string[] = [];
    checkVipCapacity(cfg.services, cfg.snat?.addresses.length ?? 0, cap.vip, (_path, message) => problems.push(message));
    if (problems.length > 0) throw new CapacityError(problems.join('; '));
  }
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
  // Ids retired by earlier updates rest too, until their flows can have expired.
  const retired: Record<string, number> = {};
  const hold = retireMs(cfg);
  for (const [id, at] of Object.entries(prev?.retired ?? {})) {
    if (now - at < hold) {
      retired[id] = at;
      usedSvc.add(Number(id));
    }
  }
  for (const [key, o] of Object.entries(old)) if (!services[key]) retired[o.id] = now;
  const nextFree = (used: Set<number>, max: number, what: string) => {
    for (let i = 0; i < max; i++) if (!used.has(i)) return (used.add(i), i);
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
      delete retired[id];
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
  return { nextGen, services, ...(Object.keys(retired).length ? { retired } : {}) };
}
